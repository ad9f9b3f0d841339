import { describe, expect, it } from 'vitest';
import { scoreSample } from '../../scoring/metrics';
import { Value } from '@sinclair/typebox/value';
import {
  METRICS,
  RegisterDatasetBody,
  TEXT_METRICS,
  type MetricName,
  type TextMetricName,
} from '../../contracts/dataset';
import { MetricOptions } from '../../contracts/metricOptions';

interface Case {
  predict: string;
  truth: string;
  score: 0 | 1;
  choices?: string[];
}

function table(metric: MetricName, cases: Case[]) {
  it.each(cases.map((c) => [JSON.stringify(c.predict), JSON.stringify(c.truth), c.score, c] as const))(
    '%s vs %s → %i',
    (_p, _t, _s, c) => {
      expect(scoreSample(metric, c.predict, { ground_truth: c.truth, choices: c.choices })).toBe(c.score);
    },
  );
}

describe('exact_match', () => {
  table('exact_match', [
    { predict: '42', truth: '42', score: 1 },
    { predict: '  42 \n', truth: '42', score: 1 },
    { predict: '42.', truth: '42', score: 1 },
    { predict: '"olleh"', truth: 'olleh', score: 1 },
    { predict: '“olleh”.', truth: 'olleh', score: 1 },
    { predict: '**olleh**', truth: 'olleh', score: 1 },
    { predict: '`olleh`', truth: 'olleh', score: 1 },
    { predict: 'OLLEH', truth: 'olleh', score: 1 },
    { predict: 'New   York\tCity', truth: 'new york city', score: 1 },
    { predict: 'ｏｌｌｅｈ', truth: 'olleh', score: 1 }, // full-width letters, NFKC
    { predict: '４２', truth: '42', score: 1 },
    { predict: 'Paris', truth: '"Paris."', score: 1 }, // the ground truth is normalised the same way
    { predict: 'Working it out: 12 + 7 = 19.\nAnswer: 19', truth: '19', score: 1 },
    { predict: 'Let me think.\n\n19', truth: '19', score: 1 },
    { predict: 'The answer is 19.', truth: '19', score: 1 },
    { predict: 'the answer is: -388', truth: '-388', score: 1 },
    { predict: '**Answer:** olleh', truth: 'olleh', score: 1 },
    { predict: 'Final answer: olleh\n', truth: 'olleh', score: 1 },
    { predict: 'Answer:\n\nolleh', truth: 'olleh', score: 1 },
    { predict: '答案是 19', truth: '19', score: 1 },
    { predict: 'Answer: 19\nI hope this helps.', truth: '19', score: 1 },
    // wrong answers and near misses
    { predict: '43', truth: '42', score: 0 },
    { predict: '420', truth: '42', score: 0 },
    { predict: '4 2', truth: '42', score: 0 },
    { predict: 'olleh!', truth: 'olleh', score: 0 },
    { predict: '-19', truth: '19', score: 0 },
    { predict: '19 is the answer, or maybe 20', truth: '19', score: 0 },
    { predict: 'The answer is 19. Or 20.', truth: '19', score: 0 },
    { predict: '', truth: '19', score: 0 },
    { predict: 'I computed 19 but the answer is 20', truth: '19', score: 0 },
    { predict: 'hello', truth: 'olleh', score: 0 },
  ]);
});

describe('mc_accuracy', () => {
  const choices = ['17', '19', '20', '21'];
  const cases: Case[] = [
    { predict: 'B', truth: 'B', score: 1 },
    { predict: 'B.', truth: 'B', score: 1 },
    { predict: '(B)', truth: 'B', score: 1 },
    { predict: '[B]', truth: 'B', score: 1 },
    { predict: 'b', truth: 'B', score: 1 },
    { predict: '**B**', truth: 'B', score: 1 },
    { predict: 'Answer: B', truth: 'B', score: 1 },
    { predict: 'Answer: (B)', truth: 'B', score: 1 },
    { predict: '**Answer:** B', truth: 'B', score: 1 },
    { predict: 'The answer is B', truth: 'B', score: 1 },
    { predict: 'The answer is B because 12 + 7 = 19.', truth: 'B', score: 1 },
    { predict: 'The correct option is (B) 19.', truth: 'B', score: 1 },
    { predict: 'Option B', truth: 'B', score: 1 },
    { predict: 'B. 19', truth: 'B', score: 1 },
    { predict: 'B) 19', truth: 'B', score: 1 },
    { predict: '19', truth: 'B', score: 1 }, // the text of choice B
    { predict: 'The answer is 19.', truth: 'B', score: 1 },
    { predict: '12 + 7 = 19, which is option B.\nAnswer: B', truth: 'B', score: 1 },
    { predict: 'B\nBecause 12 + 7 = 19.', truth: 'B', score: 1 },
    { predict: 'Answer: B\nThe answer is B.', truth: 'B', score: 1 },
    { predict: 'A is wrong (17), C is wrong (20).\nAnswer: B', truth: 'B', score: 1 },
    { predict: 'Answer: I think it is B', truth: 'B', score: 0 }, // not a statement we trust: no letter at its start
    // wrong, ambiguous or no answer
    { predict: 'C', truth: 'B', score: 0 },
    { predict: 'Answer: C', truth: 'B', score: 0 },
    { predict: '20', truth: 'B', score: 0 },
    { predict: 'B or C', truth: 'B', score: 0 },
    { predict: 'Answer: B or C', truth: 'B', score: 0 },
    { predict: 'The answer is B/C', truth: 'B', score: 0 },
    { predict: 'Answer: B, C', truth: 'B', score: 0 },
    { predict: 'Answer: (B) and (C)', truth: 'B', score: 0 },
    { predict: 'Answer: B\nAnswer: C', truth: 'B', score: 0 },
    { predict: 'B\nC', truth: 'B', score: 0 },
    { predict: 'A. 17\nB. 19\nC. 20\nD. 21', truth: 'B', score: 0 }, // echoed the options, chose none
    { predict: 'Answer: E', truth: 'B', score: 0 }, // out of range
    { predict: 'I do not know.', truth: 'B', score: 0 },
    { predict: '', truth: 'B', score: 0 },
    { predict: 'A bit of both', truth: 'A', score: 0 },
  ];
  table(
    'mc_accuracy',
    cases.map((c) => ({ ...c, choices })),
  );

  it('a letter beyond the options is no answer, but the same letter with more options is', () => {
    expect(scoreSample('mc_accuracy', 'E', { ground_truth: 'E', choices })).toBe(0);
    expect(scoreSample('mc_accuracy', 'E', { ground_truth: 'E', choices: [...choices, '22'] })).toBe(1);
  });

  it('a choice text shared by two options does not decide', () => {
    expect(scoreSample('mc_accuracy', 'same', { ground_truth: 'A', choices: ['same', 'same', 'other'] })).toBe(0);
    expect(scoreSample('mc_accuracy', 'other', { ground_truth: 'C', choices: ['same', 'same', 'other'] })).toBe(1);
  });
});

describe('numeric_match', () => {
  table('numeric_match', [
    { predict: '2500', truth: '2500', score: 1 },
    { predict: '2,500', truth: '2500', score: 1 },
    { predict: '2500.0', truth: '2500', score: 1 },
    { predict: '2.5e3', truth: '2500', score: 1 },
    { predict: '1e3', truth: '1000', score: 1 },
    { predict: '2.5', truth: '2.50', score: 1 },
    { predict: '0.25 liters', truth: '0.25', score: 1 },
    { predict: '-3', truth: '-3', score: 1 },
    { predict: '−3', truth: '-3', score: 1 }, // U+2212 minus
    { predict: 'The result is -388.', truth: '-388', score: 1 },
    { predict: '1,234,567', truth: '1234567', score: 1 },
    { predict: '$1,234.50', truth: '1234.5', score: 1 },
    { predict: '.5', truth: '0.5', score: 1 },
    { predict: '３０００', truth: '3000', score: 1 },
    { predict: 'Converting 2.5 kilometers to meters gives 2500 meters.\nAnswer: 2500', truth: '2500', score: 1 },
    { predict: '2.5 km = 2500 m', truth: '2500', score: 1 },
    { predict: 'The answer is 42. (Check: 6 * 7)', truth: '42', score: 1 }, // the stated answer, not the last number
    { predict: '0.1 + 0.2 = 0.30000000000000004', truth: '0.3', score: 1 }, // within 1e-6 relative
    { predict: '1000000.5', truth: '1000000', score: 1 }, // 5e-7 relative
    { predict: '0.0000000001', truth: '0', score: 1 }, // 1e-10, within the absolute 1e-9
    // wrong
    { predict: '1000002', truth: '1000000', score: 0 }, // 2e-6 relative
    { predict: '0.00001', truth: '0', score: 0 },
    { predict: '2499', truth: '2500', score: 0 },
    { predict: '25000', truth: '2500', score: 0 },
    { predict: '3', truth: '-3', score: 0 },
    { predict: 'steps 3-5', truth: '-5', score: 0 }, // a hyphen between numbers is not a minus
    { predict: 'steps 3-5', truth: '5', score: 1 },
    { predict: 'no number here', truth: '1', score: 0 },
    { predict: '', truth: '0', score: 0 },
    { predict: '1,23', truth: '123', score: 0 }, // not a thousands group
    { predict: '42', truth: 'forty-two', score: 0 }, // a non-numeric ground truth never matches
  ]);
});

describe('scoreSample', () => {
  it('has a scorer for every text metric the contracts name, each scoring its own ground truth 1', () => {
    for (const metric of TEXT_METRICS) {
      const reference = metric === 'mc_accuracy' ? { ground_truth: 'A', choices: ['x', 'y'] } : { ground_truth: '7' };
      expect(scoreSample(metric, reference.ground_truth, reference)).toBe(1);
    }
  });

  it('is reachable from dataset registration: the body schema takes every metric name and lists them when refusing another', () => {
    const body = { id: 'my-set', name: 'Mine', domain: 'nlp', task: 'qa', jsonl: '{}' };
    for (const metric of METRICS) expect(Value.Check(RegisterDatasetBody, { ...body, metric }), metric).toBe(true);
    const refusal = [...Value.Errors(RegisterDatasetBody, { ...body, metric: 'rouge' })].find(
      (e) => e.path === '/metric',
    );
    expect(refusal?.schema.description).toBe(
      'one of exact_match, mc_accuracy, numeric_match, f1, rouge_l, bleu, pass_at_k, vqa_accuracy, retrieval_recall, t2i_check, safety, top1_accuracy, recall_at_1, mean_iou',
    );
  });

  it('does not score pass@k one text at a time: it is scored in the code sandbox', () => {
    expect(() => scoreSample('pass_at_k', 'def f(): pass', { ground_truth: 'assert f() is None' })).toThrow(/sandbox/);
  });

  it('refuses a metric it does not know instead of scoring 0', () => {
    expect(() => scoreSample('judge_score' as MetricName, 'a', { ground_truth: 'a' })).toThrow(/judge_score/);
  });

  it('gives a perfect output 1 and an unrelated one 0 under every metric', () => {
    const text = { ground_truth: 'Twelve blue whales', right: 'twelve blue whales', wrong: 'seven red herrings' };
    const cases: Record<TextMetricName, { ground_truth: string; right: string; wrong: string; choices?: string[] }> = {
      exact_match: text,
      mc_accuracy: { ground_truth: 'B', choices: ['red', 'blue'], right: 'B', wrong: 'A' },
      numeric_match: { ground_truth: '1234', right: '1,234', wrong: '1235' },
      f1: text,
      rouge_l: text,
      bleu: { ...text, right: 'Twelve blue whales' }, // bleu alone keeps case
    };
    for (const metric of TEXT_METRICS) {
      const { right, wrong, ...reference } = cases[metric];
      expect(scoreSample(metric, right, reference), metric).toBe(1);
      expect(scoreSample(metric, wrong, reference), metric).toBe(0);
    }
  });
});

describe('numeric_match tolerances from metric options', () => {
  const score = (predict: string, truth: string, options?: MetricOptions) =>
    scoreSample('numeric_match', predict, { ground_truth: truth }, options);

  it('uses an absolute tolerance for rounded answers', () => {
    expect(score('3.14159', '3.14')).toBe(0);
    expect(score('3.14159', '3.14', { absoluteTolerance: 0.01 })).toBe(1);
    expect(score('3.151', '3.14', { absoluteTolerance: 0.01 })).toBe(0);
    expect(score('-0.004', '0', { absoluteTolerance: 0.005 })).toBe(1);
  });

  it('uses a relative tolerance against the larger magnitude, as math.isclose does', () => {
    expect(score('105', '100', { relativeTolerance: 0.05 })).toBe(1); // 5 ≤ 0.05 × 105
    expect(score('95', '100', { relativeTolerance: 0.05 })).toBe(1); // 5 ≤ 0.05 × 100
    expect(score('94', '100', { relativeTolerance: 0.05 })).toBe(0);
    expect(score('106', '100', { relativeTolerance: 0.05 })).toBe(0); // 6 > 0.05 × 106
  });

  it('takes the looser of the two, and exact equality when both are 0', () => {
    expect(score('0.5', '0', { absoluteTolerance: 1, relativeTolerance: 0 })).toBe(1);
    expect(score('0.30000000000000004', '0.3', { absoluteTolerance: 0, relativeTolerance: 0 })).toBe(0);
    expect(score('0.3', '0.3', { absoluteTolerance: 0, relativeTolerance: 0 })).toBe(1);
  });

  it('keeps the defaults when no options are given, and other metrics ignore them', () => {
    expect(score('1000000.5', '1000000', {})).toBe(1);
    expect(scoreSample('exact_match', '3.14159', { ground_truth: '3.14' }, { absoluteTolerance: 1 })).toBe(0);
  });

  it('refuses a negative tolerance instead of matching nothing', () => {
    expect(() => score('1', '1', { absoluteTolerance: -1 })).toThrow(RangeError);
  });

  it('has a schema that registration can check options against', () => {
    expect(Value.Check(MetricOptions, { absoluteTolerance: 0.01, relativeTolerance: 0.001 })).toBe(true);
    expect(Value.Check(MetricOptions, {})).toBe(true);
    expect(Value.Check(MetricOptions, { absoluteTolerance: -0.01 })).toBe(false);
    expect(Value.Check(MetricOptions, { relativeTolerance: 2 })).toBe(false);
    expect(Value.Check(MetricOptions, { tolerance: 0.1 })).toBe(false);
  });
});
