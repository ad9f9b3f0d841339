/**
 * pass_at_k as a metric of the registry: datasets registered with it must name the function their
 * tests call and carry the tests; it has no text scorer; the completions asked and ks reported come
 * from the dataset's scoring entry (default n = 1, pass@1); the built-in code dataset is registered
 * and the reference model answers its prompts with the reference solutions (or, told to be wrong,
 * with a function that fails them).
 */
import { describe, expect, it } from 'vitest';
import { DatasetFormatError, parseDatasetJsonl } from '../../datasets/jsonlParser';
import { scoreSample } from '../../scoring/metrics';
import { findBuiltinDataset } from '../../datasets/builtinCatalog';
import {
  CODE_PYTHON_BASIC_ID,
  CODE_PYTHON_BASIC_PROBLEMS,
  generateCodePythonBasic,
} from '../../datasets/builtin/codePythonBasic';
import { answerPrompt } from '../../stack/referenceModel/solver';
import { extractProgram } from '../../scoring/extractProgram';
import { codeSamplingFor } from '../../scoring/codeSampling';
import type { RunConfig } from '../../contracts/run';
import { codeScoringTimeoutMs } from '../../temporal.config';

const line = (o: object) => `${JSON.stringify(o)}\n`;
const parse = (o: object) => parseDatasetJsonl(line(o), { metric: 'pass_at_k' });

function refusal(o: object): DatasetFormatError {
  try {
    parse(o);
  } catch (error) {
    if (error instanceof DatasetFormatError) return error;
    throw error;
  }
  throw new Error('accepted');
}

describe('pass_at_k datasets at registration', () => {
  it('accepts an item with an entry point and its tests', () => {
    expect(
      parse({
        id: 'p1',
        prompt: 'Write add(a, b).',
        ground_truth: 'assert add(1, 2) == 3\n',
        metadata: { entry_point: 'add' },
      }),
    ).toHaveLength(1);
  });

  it('refuses an item without a usable entry point, naming the field', () => {
    for (const metadata of [
      undefined,
      {},
      { entry_point: 'not valid' },
      { entry_point: '1add' },
      { entry_point: 7 },
      { entry_point: 'add;x' },
    ]) {
      const error = refusal({
        id: 'p1',
        prompt: 'Write add.',
        ground_truth: 'assert add(1, 2) == 3',
        ...(metadata ? { metadata } : {}),
      });
      expect(error.field, JSON.stringify(metadata)).toBe('metadata.entry_point');
      expect(error.message).toContain('pass_at_k');
    }
  });

  it('takes a string program_prefix (code run before the answer) and refuses any other kind, naming the field', () => {
    const item = (metadata: Record<string, unknown>) => ({
      id: 'p1',
      prompt: 'Complete add.',
      ground_truth: 'assert add(1, 2) == 3',
      metadata: { entry_point: 'add', ...metadata },
    });
    expect(
      parseDatasetJsonl(line(item({ program_prefix: 'def add(a, b):\n    """Sum."""\n' })), { metric: 'pass_at_k' }),
    ).toHaveLength(1);
    for (const prefix of [7, null, ['def add(a, b):'], { code: 'x' }]) {
      const error = refusal(item({ program_prefix: prefix }));
      expect(error.field, JSON.stringify(prefix)).toBe('metadata.program_prefix');
      expect(error.message).toContain('must be a string');
    }
  });

  it('refuses an item without tests', () => {
    expect(
      refusal({ id: 'p1', prompt: 'Write add.', ground_truth: '  \n', metadata: { entry_point: 'add' } }).field,
    ).toBe('ground_truth');
  });

  it('takes the built-in code dataset as it is generated', () => {
    const builtin = findBuiltinDataset(CODE_PYTHON_BASIC_ID)!;
    expect(builtin).toMatchObject({ metric: 'pass_at_k', size: CODE_PYTHON_BASIC_PROBLEMS.length });
    const jsonl = generateCodePythonBasic().map(line).join('');
    expect(parseDatasetJsonl(jsonl, { metric: 'pass_at_k' })).toHaveLength(CODE_PYTHON_BASIC_PROBLEMS.length);
  });
});

describe('pass_at_k scoring', () => {
  it('has no text scorer: asking for one is an error, not a 0', () => {
    expect(() =>
      scoreSample('pass_at_k', 'def add(a, b): return a + b', { ground_truth: 'assert add(1, 2) == 3' }),
    ).toThrow(/sandbox/);
  });

  it('asks one completion and reports pass@1 unless the scoring entry says more', () => {
    const config = (options?: object) =>
      ({
        datasets: [],
        scoring: options ? { limits: {}, datasets: { code: { metric: 'pass_at_k', options } } } : undefined,
      }) as unknown as RunConfig;
    expect(codeSamplingFor(config(), 'code')).toEqual({ n: 1, ks: [1] });
    expect(codeSamplingFor(config({ n: 10, ks: [5, 1, 10, 20] }), 'code')).toEqual({ n: 10, ks: [1, 5, 10] });
    expect(codeSamplingFor(config({ n: 0 }), 'code')).toEqual({ n: 1, ks: [1] });
  });

  it('gives a scoring batch time for every completion at the sandbox limit, plus margin', () => {
    expect(codeScoringTimeoutMs(100, 1)).toBe((100 * 11_000) / 2 + 600_000);
    expect(codeScoringTimeoutMs(100, 5)).toBeGreaterThan(codeScoringTimeoutMs(100, 1));
  });
});

describe('the reference model on code prompts', () => {
  it('answers every built-in problem with its reference solution in a python fence', () => {
    for (const [i, item] of generateCodePythonBasic().entries()) {
      const problem = CODE_PYTHON_BASIC_PROBLEMS[i]!;
      const answer = answerPrompt(item.prompt, { correct: true, verbose: false, pick: 0.3 });
      expect(answer.startsWith('```python\n'), item.id).toBe(true);
      expect(extractProgram(answer, problem.entryPoint).trim(), item.id).toBe(problem.solution.trim());
      const verbose = answerPrompt(item.prompt, { correct: true, verbose: true, pick: 0.3 });
      expect(extractProgram(verbose, problem.entryPoint).trim(), item.id).toBe(problem.solution.trim());
    }
  });

  it('answers wrongly, when told to, with a function of the same name that returns None', () => {
    const item = generateCodePythonBasic()[0]!;
    const answer = answerPrompt(item.prompt, { correct: false, verbose: false, pick: 0.3 });
    expect(extractProgram(answer, CODE_PYTHON_BASIC_PROBLEMS[0]!.entryPoint)).toContain(
      `def ${CODE_PYTHON_BASIC_PROBLEMS[0]!.signature}:`,
    );
    expect(answer).toContain('return None');
  });
});
