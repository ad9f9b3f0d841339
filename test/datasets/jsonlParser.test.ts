import { describe, expect, it } from 'vitest';
import { DatasetFormatError, parseDatasetJsonl } from '../../datasets/jsonlParser';
import type { MetricName } from '../../contracts/dataset';

const line = (o: unknown) => JSON.stringify(o);

function formatError(text: string, metric: MetricName, maxItems?: number): DatasetFormatError {
  try {
    parseDatasetJsonl(text, { metric, maxItems });
  } catch (error) {
    expect(error).toBeInstanceOf(DatasetFormatError);
    return error as DatasetFormatError;
  }
  throw new Error('expected a DatasetFormatError, but the dataset was accepted');
}

describe('parseDatasetJsonl', () => {
  it('reads items in order, skipping blank lines, accepting CRLF and a UTF-8 BOM', () => {
    const text =
      '\uFEFF' +
      [
        line({ id: 'a', prompt: 'p1', ground_truth: 'x' }),
        '',
        '   ',
        line({ id: 'b', prompt: 'p2', ground_truth: 'y', metadata: { level: 2 } }),
        '',
      ].join('\r\n');
    expect(parseDatasetJsonl(text, { metric: 'exact_match' })).toEqual([
      { id: 'a', prompt: 'p1', ground_truth: 'x' },
      { id: 'b', prompt: 'p2', ground_truth: 'y', metadata: { level: 2 } },
    ]);
  });

  it('accepts multiple choice and numeric items that fit their metric', () => {
    expect(
      parseDatasetJsonl(line({ id: 'q', prompt: 'p', ground_truth: 'C', choices: ['1', '2', '3'] }), {
        metric: 'mc_accuracy',
      }),
    ).toHaveLength(1);
    const numeric = ['-3', '1,234', '3.50', '1e3', ' 42 ']
      .map((g, i) => line({ id: `n${i}`, prompt: 'p', ground_truth: g }))
      .join('\n');
    expect(parseDatasetJsonl(numeric, { metric: 'numeric_match' })).toHaveLength(5);
  });

  it.each<[string, string, MetricName, number, string, RegExp]>([
    [
      'invalid JSON',
      `${line({ id: 'a', prompt: 'p', ground_truth: 'x' })}\n{"id": "b",`,
      'exact_match',
      2,
      'jsonl',
      /^line 2: not valid JSON/,
    ],
    ['not an object', '[1, 2]', 'exact_match', 1, 'jsonl', /^line 1: must be a JSON object/],
    [
      'a missing field',
      `\n\n${line({ id: 'a', prompt: 'p' })}`,
      'exact_match',
      3,
      'ground_truth',
      /^line 3: ground_truth is required$/,
    ],
    [
      'an unknown field',
      line({ id: 'a', prompt: 'p', ground_truth: 'x', answer: 'x' }),
      'exact_match',
      1,
      'answer',
      /^line 1: answer is not allowed/,
    ],
    [
      'a wrong type',
      line({ id: 'a', prompt: 'p', ground_truth: 7 }),
      'exact_match',
      1,
      'ground_truth',
      /^line 1: ground_truth must be a string/,
    ],
    [
      'an empty prompt',
      line({ id: 'a', prompt: '', ground_truth: 'x' }),
      'exact_match',
      1,
      'prompt',
      /^line 1: prompt must be a non-empty string/,
    ],
    [
      'a non-string choice',
      line({ id: 'a', prompt: 'p', ground_truth: 'A', choices: ['x', 2] }),
      'mc_accuracy',
      1,
      'choices[1]',
      /^line 1: choices\[1\] must be a string/,
    ],
    [
      'one choice',
      line({ id: 'a', prompt: 'p', ground_truth: 'A', choices: ['x'] }),
      'mc_accuracy',
      1,
      'choices',
      /^line 1: choices must be 2–26 strings/,
    ],
    [
      'metadata that is not an object',
      line({ id: 'a', prompt: 'p', ground_truth: 'x', metadata: [1] }),
      'exact_match',
      1,
      'metadata',
      /^line 1: metadata must be a JSON object/,
    ],
    [
      'a duplicate id',
      [
        line({ id: 'a', prompt: 'p', ground_truth: 'x' }),
        line({ id: 'b', prompt: 'p', ground_truth: 'x' }),
        line({ id: 'a', prompt: 'q', ground_truth: 'y' }),
      ].join('\n'),
      'exact_match',
      3,
      'id',
      /^line 3: id "a" is already used on line 1/,
    ],
    [
      'mc without choices',
      line({ id: 'a', prompt: 'p', ground_truth: 'A' }),
      'mc_accuracy',
      1,
      'choices',
      /^line 1: choices is required for metric mc_accuracy$/,
    ],
    [
      'mc letter out of range',
      line({ id: 'a', prompt: 'p', ground_truth: 'D', choices: ['x', 'y', 'z'] }),
      'mc_accuracy',
      1,
      'ground_truth',
      /^line 1: ground_truth must be a letter from A to C for metric mc_accuracy/,
    ],
    [
      'mc answer given as text',
      line({ id: 'a', prompt: 'p', ground_truth: 'x', choices: ['x', 'y'] }),
      'mc_accuracy',
      1,
      'ground_truth',
      /^line 1: ground_truth must be a letter from A to B/,
    ],
    [
      'a non-numeric ground truth',
      [1, 2, 3, 4, 5, 6].map((i) => line({ id: `i${i}`, prompt: 'p', ground_truth: String(i) })).join('\n') +
        '\n' +
        line({ id: 'i7', prompt: 'p', ground_truth: 'seven' }),
      'numeric_match',
      7,
      'ground_truth',
      /^line 7: ground_truth must be a number for metric numeric_match$/,
    ],
    [
      'an empty exact-match answer',
      line({ id: 'a', prompt: 'p', ground_truth: '  ' }),
      'exact_match',
      1,
      'ground_truth',
      /^line 1: ground_truth must not be empty for metric exact_match$/,
    ],
  ])('refuses %s, naming the line and field', (_what, text, metric, lineNo, field, message) => {
    const error = formatError(text, metric);
    expect(error.line).toBe(lineNo);
    expect(error.field).toBe(field);
    expect(error.message).toMatch(message);
  });

  it('refuses an empty dataset', () => {
    for (const text of ['', '\n\n', '\uFEFF', ' \r\n ']) {
      const error = formatError(text, 'exact_match');
      expect(error.field).toBe('jsonl');
      expect(error.message).toMatch(/no items/);
    }
  });

  it('refuses more than maxItems items, at the first line too many', () => {
    const text = [0, 1, 2, 3].map((i) => line({ id: `i${i}`, prompt: 'p', ground_truth: 'x' })).join('\n');
    expect(parseDatasetJsonl(text, { metric: 'exact_match', maxItems: 4 })).toHaveLength(4);
    const error = formatError(text, 'exact_match', 3);
    expect(error.line).toBe(4);
    expect(error.message).toBe('line 4: the dataset has more than 3 items');
  });

  it('allows 100,000 items by default and no more', () => {
    const many = Array.from({ length: 100_001 }, (_, i) => `{"id":"i${i}","prompt":"p","ground_truth":"x"}`);
    expect(parseDatasetJsonl(many.slice(0, 100_000).join('\n'), { metric: 'exact_match' })).toHaveLength(100_000);
    expect(formatError(many.join('\n'), 'exact_match').line).toBe(100_001);
  });
});
