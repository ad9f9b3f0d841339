/**
 * What a custom evaluation image writes and is given, checked without running it: every refusal of
 * parseCustomMetrics (each one ending with what was expected, since the image's author reads it in
 * the run's error) and the choice of the primary metric; and checkScoringConfig's customImage rules.
 */
import { describe, expect, it } from 'vitest';
import { EXPECTED_METRICS, MAX_CUSTOM_METRICS, parseCustomMetrics } from '../../scoring/customImageMetrics';
import { checkScoringConfig } from '../../scoring/judge/checkScoringConfig';
import { MAX_CUSTOM_PARAMETERS_BYTES, type ScoringConfig } from '../../contracts/scoringConfig';

const entries = (count: number) => Array.from({ length: count }, (_, i) => ({ name: `m${i}`, value: i / 100 }));

describe('parseCustomMetrics refusals', () => {
  it.each<[string, unknown, string]>([
    ['text', 'accuracy 0.85', 'metrics.json is text, not an object'],
    ['a number', 0.85, 'metrics.json is a number, not an object'],
    ['null', null, 'metrics.json is null, not an object'],
    ['a list', [{ name: 'accuracy', value: 0.85 }], 'metrics.json is a list, not an object'],
    ['an object without "metrics"', { accuracy: 0.85 }, 'metrics.json has no "metrics"'],
    ['"metrics" as an object', { metrics: { accuracy: 0.85 } }, 'metrics.json has "metrics" as an object'],
    ['"metrics" as text', { metrics: 'accuracy' }, 'metrics.json has "metrics" as text'],
    ['"metrics" as null', { metrics: null }, 'metrics.json has "metrics" as null'],
    ['an empty list', { metrics: [] }, 'metrics.json lists no metrics'],
    ['65 entries', { metrics: entries(MAX_CUSTOM_METRICS + 1) }, 'metrics.json lists 65 metrics'],
    ['an entry that is a number', { metrics: [{ name: 'a', value: 1 }, 2] }, 'metrics[1] is a number, not an object'],
    ['an entry that is a list', { metrics: [['a', 1]] }, 'metrics[0] is a list, not an object'],
    ['an entry that is null', { metrics: [null] }, 'metrics[0] is null, not an object'],
    ['a name missing', { metrics: [{ value: 1 }] }, 'metrics[0].name is missing'],
    ['a name that is a number', { metrics: [{ name: 7, value: 1 }] }, 'metrics[0].name is a number'],
    ['an empty name', { metrics: [{ name: '', value: 1 }] }, 'metrics[0].name is 0 characters long'],
    [
      'a name of 65 characters',
      { metrics: [{ name: 'n'.repeat(65), value: 1 }] },
      'metrics[0].name is 65 characters long',
    ],
    [
      'a name listed twice',
      {
        metrics: [
          { name: 'accuracy', value: 1 },
          { name: 'f1', value: 0.5 },
          { name: 'accuracy', value: 0 },
        ],
      },
      'metrics[2].name "accuracy" is listed twice',
    ],
    [
      'a value as text',
      { metrics: [{ name: 'accuracy', value: '0.85' }] },
      'metrics[0].value (accuracy) is text, not a finite number',
    ],
    [
      'a value that is infinite',
      {
        metrics: [
          { name: 'a', value: 1 },
          { name: 'loss', value: Infinity },
        ],
      },
      'metrics[1].value (loss) is Infinity, not a finite number',
    ],
    [
      'a value that is NaN',
      { metrics: [{ name: 'loss', value: NaN }] },
      'metrics[0].value (loss) is NaN, not a finite number',
    ],
    [
      'a value missing',
      { metrics: [{ name: 'accuracy' }] },
      'metrics[0].value (accuracy) is missing, not a finite number',
    ],
    [
      'a value that is null',
      { metrics: [{ name: 'accuracy', value: null }] },
      'metrics[0].value (accuracy) is null, not a finite number',
    ],
  ])('refuses %s, saying what was expected', (_what, value, problem) => {
    expect(parseCustomMetrics(value)).toEqual({ ok: false, problem: `${problem}; ${EXPECTED_METRICS}` });
  });

  it('counts a name in characters, as the schema counts primaryMetric: 64 emoji are a name, 65 are not', () => {
    const name = '📈'.repeat(64);
    expect(parseCustomMetrics({ metrics: [{ name, value: 1 }] }, name)).toMatchObject({ ok: true });
    expect(parseCustomMetrics({ metrics: [{ name: `${name}📈`, value: 1 }] })).toEqual({
      ok: false,
      problem: `metrics[0].name is 65 characters long; ${EXPECTED_METRICS}`,
    });
  });

  it('refuses a named primary metric the file does not list, listing the names it has', () => {
    const parsed = parseCustomMetrics(
      {
        metrics: [
          { name: 'accuracy', value: 0.85 },
          { name: 'f1_score', value: 0.78 },
        ],
      },
      'exact_match',
    );
    expect(parsed).toEqual({
      ok: false,
      problem:
        'metrics.json has no entry named "exact_match", the evaluation\'s primaryMetric (it lists accuracy, f1_score)',
    });
  });
});

describe('parseCustomMetrics accepts', () => {
  const file = {
    metrics: [
      { name: 'accuracy', value: 0.85 },
      { name: 'f1_score', value: 0.78 },
      { name: 'items', value: 20 },
    ],
  };

  it('every entry in order, the first as the primary metric when none is named', () => {
    expect(parseCustomMetrics(file)).toEqual({
      ok: true,
      metrics: file.metrics,
      primary: { name: 'accuracy', value: 0.85 },
    });
  });

  it('the named primary metric wherever it is listed', () => {
    expect(parseCustomMetrics(file, 'f1_score')).toEqual({
      ok: true,
      metrics: file.metrics,
      primary: { name: 'f1_score', value: 0.78 },
    });
  });

  it('64 entries, names of 64 characters, negative and zero values, and keys beside name and value (dropped)', () => {
    const many = entries(MAX_CUSTOM_METRICS);
    expect(parseCustomMetrics({ metrics: many })).toMatchObject({ ok: true, metrics: many, primary: many[0] });
    const long = 'n'.repeat(64);
    expect(
      parseCustomMetrics({
        metrics: [
          { name: long, value: -1.5, unit: 'nats' },
          { name: 'zero', value: 0 },
        ],
        notes: 'ignored',
      }),
    ).toEqual({
      ok: true,
      metrics: [
        { name: long, value: -1.5 },
        { name: 'zero', value: 0 },
      ],
      primary: { name: long, value: -1.5 },
    });
  });
});

describe("checkScoringConfig's customImage rules", () => {
  const datasets = ['arith-basic', 'word-reverse'];
  const image = { imageId: '00000000-0000-4000-8000-000000000001' };
  const check = (config: ScoringConfig) => checkScoringConfig(config, datasets);

  it('accepts a custom image alone, with fine env names and parameters up to 16 KiB', () => {
    const filler = 'x'.repeat(MAX_CUSTOM_PARAMETERS_BYTES - JSON.stringify({ text: '' }).length);
    expect(JSON.stringify({ text: filler }).length).toBe(MAX_CUSTOM_PARAMETERS_BYTES);
    expect(
      check({
        customImage: {
          ...image,
          env: { LOG_LEVEL: 'debug', _PRIVATE: '1', MODEL_2: 'x', EVALUATOR: 'mine', PROCTORED: 'yes' },
          parameters: { text: filler },
        },
        limits: { maxJudgingConcurrency: 2 },
      }),
    ).toEqual([]);
  });

  it('refuses default or datasets beside it, naming each field', () => {
    const message =
      'cannot be set with customImage: the custom image evaluates every dataset itself and reports its own metrics';
    expect(check({ customImage: image, default: { metric: 'exact_match' } })).toEqual([{ field: 'default', message }]);
    expect(check({ customImage: image, datasets: { 'arith-basic': { metric: 'f1' } } })).toEqual([
      { field: 'datasets', message },
    ]);
    expect(check({ customImage: image, default: { metric: 'exact_match' }, datasets: {} }).map((e) => e.field)).toEqual(
      ['default', 'datasets'],
    );
  });

  it('refuses env names that are not capital letters, digits and _, or that the platform reserves', () => {
    const shape = 'must be named with capital letters, digits and _, not starting with a digit';
    const reserved = 'must not start with EVAL_ or PROCTOR_: the platform sets those variables';
    expect(
      check({
        customImage: {
          ...image,
          env: { log_level: 'x', '2FAST': 'x', 'WITH-DASH': 'x', EVAL_X: 'x', PROCTOR_X: 'x', FINE_NAME: 'x' },
        },
      }),
    ).toEqual([
      { field: 'customImage.env.log_level', message: shape },
      { field: 'customImage.env.2FAST', message: shape },
      { field: 'customImage.env.WITH-DASH', message: shape },
      { field: 'customImage.env.EVAL_X', message: reserved },
      { field: 'customImage.env.PROCTOR_X', message: reserved },
    ]);
  });

  it('names an env key through the key path the caller gives (the API quotes keys that are not plain names)', () => {
    const quoted = (parent: string, key: string) => `${parent}[${JSON.stringify(key)}]`;
    expect(checkScoringConfig({ customImage: { ...image, env: { 'a.b': 'x' } } }, datasets, quoted)).toEqual([
      { field: 'customImage.env["a.b"]', message: expect.stringMatching(/^must be named with capital letters/) },
    ]);
  });

  it('refuses parameters over 16 KiB as JSON, saying their size', () => {
    const filler = 'x'.repeat(MAX_CUSTOM_PARAMETERS_BYTES - JSON.stringify({ text: '' }).length + 1);
    expect(check({ customImage: { ...image, parameters: { text: filler } } })).toEqual([
      { field: 'customImage.parameters', message: 'must be at most 16 KiB as JSON (is 16,385 bytes)' },
    ]);
    // Bytes, not characters: 6,000 three-byte characters are 18,000 bytes and then some.
    expect(check({ customImage: { ...image, parameters: { text: '€'.repeat(6000) } } })).toEqual([
      { field: 'customImage.parameters', message: 'must be at most 16 KiB as JSON (is 18,011 bytes)' },
    ]);
  });
});
