/**
 * The robustness pass's dataset: every item asked again with its prompt perturbed (perturb.ts),
 * and nothing else changed: same id (the two passes pair up by it), same ground truth and choices.
 * What was done is kept in metadata.perturbation, so reports and retries can show and check it.
 */
import type { DatasetItem } from '../../contracts/dataset';
import { perturbPrompt, type PerturbationKind } from './perturb';

export interface PerturbItemsOptions {
  runSeed: number;
  kind: PerturbationKind;
  rate?: number;
}

export function perturbItems(items: readonly DatasetItem[], o: PerturbItemsOptions): DatasetItem[] {
  return items.map((item) => {
    const p = perturbPrompt(item.prompt, { runSeed: o.runSeed, itemId: item.id, kind: o.kind, rate: o.rate });
    return {
      ...item,
      prompt: p.text,
      metadata: { ...item.metadata, perturbation: { kind: p.kind, edits: p.edits, eligible: p.eligible } },
    };
  });
}
