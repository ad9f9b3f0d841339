import { extractChoice } from '../extractChoice';
import type { ScoreReference } from '../scorer';

/** mc_accuracy: 1 when the one letter extracted (see extractChoice) is the ground-truth letter. */
export function mcAccuracy(predict: string, { ground_truth, choices }: ScoreReference): number {
  const chosen = extractChoice(predict, choices);
  return chosen.kind === 'letter' && chosen.letter === ground_truth.trim().toUpperCase() ? 1 : 0;
}
