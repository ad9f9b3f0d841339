/**
 * pass@k: the estimator against reference values, and scoring a problem's completions in the real
 * code sandbox.
 *
 * The reference values were computed once with Python 3.11's exact integer arithmetic,
 *   from math import comb; from fractions import Fraction
 *   1 - Fraction(comb(n - c, k), comb(n, k))
 * and are written here as that fraction where it is short, else as the float Python printed.
 * The last rows have C(n, k) beyond a double's range (float(comb(2000, 500)) overflows), which the
 * textbook formula cannot evaluate in floating point.
 */
import type Dockerode from 'dockerode';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_ROLE } from '../../docker/codeSandboxSpec';
import { ensureCodeSandboxImage } from '../../docker/codeSandboxImage';
import { LABEL_ROLE } from '../../docker/containerSpec';
import { connectDocker } from '../../docker/engine';
import { extractProgram } from '../../scoring/extractProgram';
import { scoreCodeProblem } from '../../activities/codeScoring/scoreCodeProblem';
import { meanPassAtK, passAtK, passAtKs } from '../../scoring/metrics/passAtK';
import { requireEnv } from '../support/env';

const REFERENCE: Array<[n: number, c: number, k: number, value: number]> = [
  [1, 0, 1, 0],
  [1, 1, 1, 1],
  [10, 0, 1, 0],
  [10, 1, 1, 1 / 10],
  [10, 3, 1, 3 / 10],
  [10, 2, 2, 17 / 45],
  [10, 3, 5, 11 / 12],
  [10, 3, 8, 1],
  [10, 8, 3, 1],
  [10, 7, 4, 1],
  [5, 2, 4, 1],
  [20, 5, 10, 1271 / 1292],
  [100, 1, 1, 1 / 100],
  [100, 1, 10, 1 / 10],
  [100, 37, 10, 0.992616797214249],
  [200, 3, 100, 349 / 398],
  [200, 1, 200, 1],
  [1000, 1, 1, 1 / 1000],
  [1000, 10, 100, 0.653072285207994],
  [2000, 20, 500, 0.9969283805091874],
  [2000, 1, 1000, 1 / 2],
  [5000, 2, 2500, 7499 / 9998],
];

describe('passAtK', () => {
  it.each(REFERENCE)('n=%i c=%i k=%i is %d', (n, c, k, value) => {
    expect(passAtK(n, c, k)).toBeCloseTo(value, 12);
  });

  it('is c/n at k = 1 and grows with k', () => {
    for (let n = 1; n <= 30; n++) {
      for (let c = 0; c <= n; c++) {
        expect(passAtK(n, c, 1)).toBeCloseTo(c / n, 12);
        for (let k = 2; k <= n; k++) expect(passAtK(n, c, k)).toBeGreaterThanOrEqual(passAtK(n, c, k - 1) - 1e-12);
      }
    }
  });

  it('refuses counts that make no sense', () => {
    expect(() => passAtK(0, 0, 1)).toThrow(RangeError);
    expect(() => passAtK(5, 6, 1)).toThrow(/0 ≤ c ≤ n/);
    expect(() => passAtK(5, 1, 6)).toThrow(/1 ≤ k ≤ n/);
    expect(() => passAtK(5, 1, 0)).toThrow(RangeError);
    expect(() => passAtK(5, 1.5, 1)).toThrow(RangeError);
  });

  it('reports only the ks a problem has completions for, and averages problems alike', () => {
    expect(passAtKs(4, 1, [1, 2, 10])).toEqual({ 1: 0.25, 2: 0.5 });
    // Problem a: n=10 c=3 → pass@1 0.3, pass@5 11/12. Problem b: n=10 c=0 → 0, 0.
    const mean = meanPassAtK(
      [
        { n: 10, c: 3 },
        { n: 10, c: 0 },
      ],
      [1, 5],
    );
    expect(mean[1]).toBeCloseTo(0.15, 12);
    expect(mean[5]).toBeCloseTo(11 / 24, 12);
    expect(
      meanPassAtK(
        [
          { n: 10, c: 3 },
          { n: 2, c: 1 },
        ],
        [1, 5],
      ),
    ).toEqual({ 1: (0.3 + 0.5) / 2 });
    expect(() => meanPassAtK([], [0])).toThrow(RangeError);
  });
});

describe('extractProgram', () => {
  it('takes the fenced block that defines the entry point, else a python block, else the first', () => {
    const answer =
      'Here you go:\n```python\ndef add(a, b):\n    return a + b\n```\nUsage:\n```python\nprint(add(1, 2))\n```\n';
    expect(extractProgram(answer, 'add')).toBe('def add(a, b):\n    return a + b\n');
    expect(extractProgram('```text\nnot code\n```\n```py\nx = 1\n```', 'missing')).toBe('x = 1\n');
    expect(extractProgram('```\nx = 2\n```')).toBe('x = 2\n');
  });

  it('takes the rest of an unclosed block, and a bare answer whole', () => {
    expect(extractProgram('```python\r\ndef f():\r\n    return 1', 'f')).toBe('def f():\n    return 1\n');
    expect(extractProgram('def f():\n    return 1', 'f')).toBe('def f():\n    return 1\n');
  });
});

describe('scoreCodeProblem in the sandbox', () => {
  let docker: Dockerode;

  beforeAll(async () => {
    docker = connectDocker(requireEnv('DOCKER_HOST'));
    await ensureCodeSandboxImage(docker);
  });

  afterEach(async () => {
    const left = await docker.listContainers({ all: true, filters: { label: [`${LABEL_ROLE}=${SANDBOX_ROLE}`] } });
    expect(left).toEqual([]);
  });

  it('counts the passing completions and gives pass@k from them', async () => {
    const problem = { id: 'p-1', entryPoint: 'double', tests: 'assert double(2) == 4\nassert double(-3) == -6\n' };
    const completions = [
      '```python\ndef double(x):\n    return 2 * x\n```',
      'def double(x):\n    return x + x\n',
      '```python\ndef double(x):\n    return x * x\n```',
      'I cannot help with that.',
      '```python\ndef double(x):\n    while True:\n        pass\n```',
    ];
    const r = await scoreCodeProblem(docker, problem, completions, {
      ks: [1, 2, 5, 10],
      concurrency: 2,
      limits: { timeoutMs: 2_000 },
    });
    expect(r.n).toBe(5);
    expect(r.c).toBe(2);
    expect(r.completions.map((x) => x.sandbox.verdict)).toEqual([
      'passed',
      'passed',
      'tests_failed',
      'program_error',
      'timed_out',
    ]);
    expect(r.completions[0]!.program).toBe('def double(x):\n    return 2 * x\n');
    // 2 of 5 pass: pass@1 = 2/5; pass@2 = 1 − C(3,2)/C(5,2) = 1 − 3/10; pass@5 = 1; k = 10 > n left out.
    expect(r.passAtK[1]).toBeCloseTo(0.4, 12);
    expect(r.passAtK[2]).toBeCloseTo(0.7, 12);
    expect(r.passAtK[5]).toBe(1);
    expect(Object.keys(r.passAtK)).toEqual(['1', '2', '5']);
  });
});
