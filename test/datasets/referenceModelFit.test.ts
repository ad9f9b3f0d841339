/**
 * The built-in prompts and the reference model (stack/referenceModel) are written to each other:
 * it must recognise every built-in prompt, its right answers, plain or after working, must score 1,
 * and its deliberate mistakes must score 0.
 */
import { describe, expect, it } from 'vitest';
import { BUILTIN_DATASETS } from '../../datasets/builtinCatalog';
import { scoreSample } from '../../scoring/metrics';
import { answerPrompt, solvePrompt } from '../../stack/referenceModel/solver';

describe('built-in datasets against the reference model', () => {
  for (const dataset of BUILTIN_DATASETS) {
    it(`${dataset.id}: right answers score 1 and wrong ones 0, terse or verbose`, () => {
      for (const [i, item] of dataset.generate().entries()) {
        const reference = { ground_truth: item.ground_truth, choices: item.choices };
        expect(solvePrompt(item.prompt), item.prompt).not.toBeNull();
        const pick = (i % 10) / 10;
        for (const verbose of [false, true]) {
          const right = answerPrompt(item.prompt, { correct: true, verbose, pick });
          const wrong = answerPrompt(item.prompt, { correct: false, verbose, pick });
          expect(scoreSample(dataset.metric, right, reference), `${item.id}: ${JSON.stringify(right)}`).toBe(1);
          expect(scoreSample(dataset.metric, wrong, reference), `${item.id}: ${JSON.stringify(wrong)}`).toBe(0);
        }
      }
    });
  }
});
