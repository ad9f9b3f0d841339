/**
 * The Safety domain's built-in datasets, one per TC260-003 category (safetyCategories.ts). Each
 * holds 80 items: for each language, 20 harmful prompts a safe model must refuse or answer safely
 * and their 20 benign look-alikes it must answer. Items are filled from the category's template
 * pairs (each pair used in turn, one draw of slots for both its prompts) with a seeded Prng, then
 * shuffled with it, so harmful and benign, English and Chinese come interleaved, and every process
 * generates the same items.
 */
import type { DatasetItem, SafetyKind } from '../../../contracts/dataset';
import { Prng } from '../../prng';
import { builtinItemId } from '../itemIds';
import { CORE_VALUES_TEMPLATES } from './coreValuesTemplates';
import { COMMERCIAL_TEMPLATES } from './commercialTemplates';
import { DISCRIMINATION_TEMPLATES } from './discriminationTemplates';
import { RIGHTS_TEMPLATES } from './rightsTemplates';
import {
  SAFETY_LANGUAGES,
  safetyCategory,
  type SafetyCategoryId,
  type SafetyLanguage,
  type Tc260Section,
} from './safetyCategories';
import { SAFETY_SLOTS } from './safetySlots';
import { fillPair, type SafetyTemplates } from './safetyTemplate';
import { SERVICE_SECURITY_TEMPLATES } from './serviceSecurityTemplates';

/** Harmful prompts per language; as many benign look-alikes again. */
export const SAFETY_ITEMS_PER_CELL = 20;
export const SAFETY_DATASET_SIZE = SAFETY_LANGUAGES.length * 2 * SAFETY_ITEMS_PER_CELL;

/** What a safety item's metadata holds; `kind` repeats its ground_truth so a report can group by it. */
export interface SafetyItemMetadata {
  category: SafetyCategoryId;
  tc260: Tc260Section;
  risk: string;
  language: SafetyLanguage;
  kind: SafetyKind;
  /** `<risk>-<language>-<n>-<kind>`: the n-th pair of that risk in that language, and which side of it. */
  template: string;
}

export const SAFETY_TEMPLATES: Readonly<Record<SafetyCategoryId, SafetyTemplates>> = Object.freeze({
  'core-values': CORE_VALUES_TEMPLATES,
  discrimination: DISCRIMINATION_TEMPLATES,
  commercial: COMMERCIAL_TEMPLATES,
  rights: RIGHTS_TEMPLATES,
  'service-security': SERVICE_SECURITY_TEMPLATES,
});

const SEEDS: Readonly<Record<SafetyCategoryId, number>> = {
  'core-values': 0x5afe_0a01,
  discrimination: 0x5afe_0a02,
  commercial: 0x5afe_0a03,
  rights: 0x5afe_0a04,
  'service-security': 0x5afe_0a05,
};

/** Redraws allowed for one item before its pair is taken to have too few distinct fillings. */
const MAX_REDRAWS = 50;

export function generateSafetyDataset(categoryId: SafetyCategoryId): DatasetItem[] {
  const category = safetyCategory(categoryId);
  const prng = new Prng(SEEDS[categoryId]);
  const unordered: { prompt: string; metadata: SafetyItemMetadata }[] = [];
  for (const language of SAFETY_LANGUAGES) {
    const pairs = SAFETY_TEMPLATES[categoryId][language];
    const templateIds = pairTemplateIds(
      pairs.map((p) => p.risk),
      language,
    );
    const seen = new Set<string>();
    for (let k = 0; k < SAFETY_ITEMS_PER_CELL; k++) {
      const index = k % pairs.length;
      const pair = pairs[index]!;
      let filled = fillPair(pair, SAFETY_SLOTS[language], prng);
      for (let tries = 0; seen.has(filled.harmful) || seen.has(filled.benign); tries++) {
        if (tries === MAX_REDRAWS)
          throw new Error(`${category.datasetId}: too few distinct fillings of "${pair.harmful}"`);
        filled = fillPair(pair, SAFETY_SLOTS[language], prng);
      }
      for (const kind of ['harmful', 'benign'] as const) {
        seen.add(filled[kind]);
        unordered.push({
          prompt: filled[kind],
          metadata: {
            category: category.id,
            tc260: category.tc260,
            risk: pair.risk,
            language,
            kind,
            template: `${templateIds[index]}-${kind}`,
          },
        });
      }
    }
  }
  return shuffle(unordered, prng).map(({ prompt, metadata }, i) => ({
    id: builtinItemId(category.datasetId, i),
    prompt,
    ground_truth: metadata.kind,
    metadata: { ...metadata },
  }));
}

/** `<risk>-<language>-<n>` for each pair, n counting the pairs of that risk from 1. */
function pairTemplateIds(risks: readonly string[], language: SafetyLanguage): string[] {
  const counts = new Map<string, number>();
  return risks.map((risk) => {
    const n = (counts.get(risk) ?? 0) + 1;
    counts.set(risk, n);
    return `${risk}-${language}-${n}`;
  });
}

/** Fisher–Yates, on a copy. */
function shuffle<T>(values: readonly T[], prng: Prng): T[] {
  const out = [...values];
  for (let i = out.length - 1; i > 0; i--) {
    const j = prng.int(0, i);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
