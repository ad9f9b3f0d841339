import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import { DatasetItem, SAFETY_KINDS, SAFETY_METRIC } from '../../contracts/dataset';
import { Prng } from '../../datasets/prng';
import { BUILTIN_DATASET_IDS, SAFETY_BUILTIN_DATASETS, findBuiltinDataset } from '../../datasets/builtinCatalog';
import { datasetContentHash } from '../../datasets/contentHash';
import { SAFETY_CATEGORIES, SAFETY_LANGUAGES } from '../../datasets/builtin/safety/safetyCategories';
import {
  SAFETY_DATASET_SIZE,
  SAFETY_ITEMS_PER_CELL,
  SAFETY_TEMPLATES,
  generateSafetyDataset,
  type SafetyItemMetadata,
} from '../../datasets/builtin/safety/safetyDatasets';
import { SAFETY_SLOTS } from '../../datasets/builtin/safety/safetySlots';
import { fillPair, templateSlots } from '../../datasets/builtin/safety/safetyTemplate';

/**
 * The content hashes of the five datasets. A change to a template, a filler, a seed or the order
 * changes what every earlier safety result was scored on: it must come with a new hash here (and
 * in docs/safety.md), never by accident.
 */
const PINNED_HASHES: Record<string, string> = {
  'safety-core-values': 'sha256:4f2a15b39c710bc88132678ec5f47ac2b0e9090a951a60f4915a30dc5e938a1c',
  'safety-discrimination': 'sha256:fdbd05b757c6185ac76a9cf1c52469c66107d6cdf2dcbf5d473870cae9750a21',
  'safety-commercial': 'sha256:912d2239777e2ae40dff4182066d227b3d5ed6b3f04d2e39bbc2cd0f3d394e45',
  'safety-rights': 'sha256:e5fe7d0539376bd5fe3e2460f35ce1a8af52255cae030696601ca9674431c7c2',
  'safety-service-security': 'sha256:916bae1f11dc616ef68ac947f2e554345e7133a892022834189f0bf3237b9fb8',
};

/** CJK ideographs, CJK punctuation and full-width forms: none may appear in an English prompt. */
const CJK_ANY = /[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]/;
const CJK_IDEOGRAPH = /[\u3400-\u4dbf\u4e00-\u9fff]/;

const metadataOf = (item: DatasetItem) => item.metadata as unknown as SafetyItemMetadata;

describe('the safety categories', () => {
  it('are the five TC260-003 Appendix A sections, each with its own dataset', () => {
    expect(SAFETY_CATEGORIES.map((c) => [c.id, c.datasetId, c.tc260])).toEqual([
      ['core-values', 'safety-core-values', 'A.1'],
      ['discrimination', 'safety-discrimination', 'A.2'],
      ['commercial', 'safety-commercial', 'A.3'],
      ['rights', 'safety-rights', 'A.4'],
      ['service-security', 'safety-service-security', 'A.5'],
    ]);
    for (const c of SAFETY_CATEGORIES) {
      expect(c.nameEn).not.toMatch(CJK_ANY);
      expect(c.nameZh).toMatch(CJK_IDEOGRAPH);
      expect(Object.isFrozen(c)).toBe(true);
    }
    expect(Object.isFrozen(SAFETY_CATEGORIES)).toBe(true);
  });
});

describe('the safety templates', () => {
  for (const category of SAFETY_CATEGORIES) {
    for (const language of SAFETY_LANGUAGES) {
      it(`${category.id} (${language}): each pair has slots, the same in its harmful and its benign prompt, all with fillers`, () => {
        const pairs = SAFETY_TEMPLATES[category.id][language];
        expect(pairs.length).toBeGreaterThan(0);
        for (const pair of pairs) {
          const slots = templateSlots(pair.harmful);
          expect(slots.length, pair.harmful).toBeGreaterThan(0);
          expect(templateSlots(pair.benign).sort(), pair.benign).toEqual([...slots].sort());
          for (const slot of slots) expect(SAFETY_SLOTS[language][slot]?.length, slot).toBeGreaterThan(1);
          expect(pair.risk).toMatch(/^[a-z]+(-[a-z]+)*$/);
          expect(pair.harmful).not.toBe(pair.benign);
        }
      });
    }
  }

  it('fills a slot with one value across both prompts of a pair, and refuses a slot it has no fillers for', () => {
    const pair = { risk: 'test', harmful: 'Harm {city} and {city}.', benign: 'Help {city}.' };
    for (let seed = 1; seed <= 20; seed++) {
      const { harmful, benign } = fillPair(pair, SAFETY_SLOTS.en, new Prng(seed));
      const city = /^Help (.+)\.$/.exec(benign)![1]!;
      expect(SAFETY_SLOTS.en.city).toContain(city);
      expect(harmful).toBe(`Harm ${city} and ${city}.`);
    }
    expect(() => fillPair({ ...pair, benign: 'Help {nowhere}.' }, SAFETY_SLOTS.en, new Prng(1))).toThrow(/nowhere/);
  });
});

describe('the safety datasets', () => {
  const generated = new Map(SAFETY_BUILTIN_DATASETS.map((d) => [d.id, d.generate()]));

  for (const category of SAFETY_CATEGORIES) {
    describe(category.datasetId, () => {
      const items = generated.get(category.datasetId)!;

      it('has 80 valid items, 20 in each cell of language × kind, numbered in order, without choices', () => {
        expect(SAFETY_DATASET_SIZE).toBe(80);
        expect(items).toHaveLength(80);
        const cells = new Map<string, number>();
        items.forEach((item, i) => {
          expect(Value.Check(DatasetItem, item), item.id).toBe(true);
          expect(item.id).toBe(`${category.datasetId}-${String(i + 1).padStart(4, '0')}`);
          expect(item.choices).toBeUndefined();
          const key = `${metadataOf(item).language}/${item.ground_truth}`;
          cells.set(key, (cells.get(key) ?? 0) + 1);
        });
        expect(Object.fromEntries(cells)).toEqual({
          'en/harmful': SAFETY_ITEMS_PER_CELL,
          'en/benign': SAFETY_ITEMS_PER_CELL,
          'zh/harmful': SAFETY_ITEMS_PER_CELL,
          'zh/benign': SAFETY_ITEMS_PER_CELL,
        });
      });

      it("has metadata that agrees with the item's ground truth, category and template", () => {
        for (const item of items) {
          const m = metadataOf(item);
          expect(Object.keys(m).sort()).toEqual(['category', 'kind', 'language', 'risk', 'tc260', 'template']);
          expect(SAFETY_KINDS).toContain(item.ground_truth);
          expect(m.kind).toBe(item.ground_truth);
          expect(m.category).toBe(category.id);
          expect(m.tc260).toBe(category.tc260);
          expect(SAFETY_LANGUAGES).toContain(m.language);
          const risks = SAFETY_TEMPLATES[category.id][m.language].map((p) => p.risk);
          expect(risks).toContain(m.risk);
          expect(m.template).toMatch(new RegExp(`^${m.risk}-${m.language}-[1-9]\\d*-${m.kind}$`));
        }
      });

      it('uses every template pair twice, on its harmful and on its benign side', () => {
        const uses = new Map<string, { harmful: number; benign: number }>();
        for (const item of items) {
          const m = metadataOf(item);
          const pairId = m.template.slice(0, -`-${m.kind}`.length);
          const count = uses.get(pairId) ?? { harmful: 0, benign: 0 };
          count[m.kind]++;
          uses.set(pairId, count);
        }
        // Ten pairs per language, each used twice: every pair as often as every other.
        for (const language of SAFETY_LANGUAGES) expect(SAFETY_TEMPLATES[category.id][language]).toHaveLength(10);
        expect(uses.size).toBe(2 * 10);
        for (const [pairId, count] of uses) expect(count, pairId).toEqual({ harmful: 2, benign: 2 });
      });

      it('writes Chinese prompts in Chinese and English prompts without CJK characters, every slot filled', () => {
        for (const item of items) {
          expect(item.prompt).not.toMatch(/[{}]/);
          if (metadataOf(item).language === 'zh') {
            expect(item.prompt, item.prompt).toMatch(CJK_IDEOGRAPH);
            expect(item.prompt, item.prompt).toMatch(/[。？]$/);
          } else {
            expect(item.prompt, item.prompt).not.toMatch(CJK_ANY);
            expect(item.prompt, item.prompt).toMatch(/^[A-Z].*[.?]$/);
          }
        }
      });

      it('has harmful and benign items in each language, interleaved rather than in blocks', () => {
        for (const language of SAFETY_LANGUAGES) {
          for (const kind of SAFETY_KINDS) {
            expect(items.some((i) => metadataOf(i).language === language && i.ground_truth === kind)).toBe(true);
          }
        }
        // A block order (all harmful, then all benign) changes kind once; a shuffle about 40 times.
        let kindChanges = 0;
        let languageChanges = 0;
        for (let i = 1; i < items.length; i++) {
          if (items[i]!.ground_truth !== items[i - 1]!.ground_truth) kindChanges++;
          if (metadataOf(items[i]!).language !== metadataOf(items[i - 1]!).language) languageChanges++;
        }
        expect(kindChanges).toBeGreaterThan(20);
        expect(languageChanges).toBeGreaterThan(20);
      });

      it('generates the same items every time, with the pinned content hash', () => {
        const again = generateSafetyDataset(category.id);
        expect(again).toEqual(items);
        expect(datasetContentHash(again)).toBe(datasetContentHash(items));
        expect(datasetContentHash(items)).toBe(PINNED_HASHES[category.datasetId]);
        again[0]!.metadata!.kind = 'changed'; // a caller's copy is its own
        expect(metadataOf(generateSafetyDataset(category.id)[0]!).kind).toBe(metadataOf(items[0]!).kind);
      });
    });
  }

  it('has no prompt twice and no id twice across the five datasets', () => {
    const all = [...generated.values()].flat();
    expect(all).toHaveLength(5 * 80);
    expect(new Set(all.map((i) => i.prompt)).size).toBe(all.length);
    expect(new Set(all.map((i) => i.id)).size).toBe(all.length);
  });
});

describe('the safety built-ins in the catalogue', () => {
  it('are one per category: domain safety, task the category, metric safety, 80 items', () => {
    expect(SAFETY_BUILTIN_DATASETS.map((d) => [d.id, d.domain, d.task, d.metric, d.size])).toEqual(
      SAFETY_CATEGORIES.map((c) => [c.datasetId, 'safety', c.id, SAFETY_METRIC, 80]),
    );
    for (const [i, dataset] of SAFETY_BUILTIN_DATASETS.entries()) {
      const category = SAFETY_CATEGORIES[i]!;
      expect(dataset.name).toContain(category.nameZh);
      expect(dataset.description).toContain(category.tc260);
      expect(dataset.description).toMatch(/40 harmful .* 40 benign look-alikes/);
      expect(dataset.subjective).toBeUndefined();
      expect(findBuiltinDataset(dataset.id)).toBe(dataset);
      expect(BUILTIN_DATASET_IDS.has(dataset.id)).toBe(true);
    }
  });
});
