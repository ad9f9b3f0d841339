/**
 * pass@k for code generation: the chance that at least one of k completions, drawn without
 * replacement from the n generated for a problem, passes the problem's hidden tests. With c of n
 * passing, the unbiased estimator is
 *
 *   pass@k = 1 − C(n−c, k) / C(n, k)
 *
 * computed as 1 − ∏_{i=n−c+1}^{n} (1 − k/i): the binomials overflow a double from n ≈ 1030, the
 * product never does, and each factor lies in [0, 1]. When fewer than k completions fail
 * (n − c < k) every draw holds a pass and the value is exactly 1.
 *
 * scoreCodeProblem runs each completion in the code sandbox (docker/codeSandbox.ts) with bounded
 * parallelism and gives c and pass@k for the requested ks; meanPassAtK averages over problems,
 * which is how a dataset's pass@k is reported.
 */
import type Dockerode from 'dockerode';
import { runInSandbox, type SandboxLimits, type SandboxResult } from '../../docker/codeSandbox';
import { extractProgram } from '../extractProgram';

export function passAtK(n: number, c: number, k: number): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`pass@k needs n ≥ 1 completions, got ${n}`);
  if (!Number.isInteger(c) || c < 0 || c > n) throw new RangeError(`pass@k needs 0 ≤ c ≤ n (n = ${n}), got c = ${c}`);
  if (!Number.isInteger(k) || k < 1 || k > n) throw new RangeError(`pass@k needs 1 ≤ k ≤ n (n = ${n}), got k = ${k}`);
  if (n - c < k) return 1;
  let allFail = 1;
  for (let i = n - c + 1; i <= n; i++) allFail *= 1 - k / i;
  return 1 - allFail;
}

export interface CodeProblem {
  id: string;
  /** The name the program must define; the tests call it. */
  entryPoint: string;
  /** Hidden test code: assertions run after the program, in its namespace. */
  tests: string;
}

export interface CompletionResult {
  /** The program taken from the completion (extractProgram.ts) and run. */
  program: string;
  sandbox: SandboxResult;
}

export interface ProblemPassAtK {
  problemId: string;
  n: number;
  c: number;
  /** Keyed by k; ks larger than n are left out (pass@k is not defined there). */
  passAtK: Record<number, number>;
  completions: CompletionResult[];
}

export interface ScoreCodeOptions {
  ks: number[];
  /** Sandboxes running at once; each takes one CPU at most by default. */
  concurrency?: number;
  limits?: Partial<SandboxLimits>;
  imageRef?: string;
  runId?: string;
  hostId?: string;
  signal?: AbortSignal;
}

export async function scoreCodeProblem(
  docker: Dockerode,
  problem: CodeProblem,
  completions: string[],
  o: ScoreCodeOptions,
): Promise<ProblemPassAtK> {
  checkKs(o.ks);
  const programs = completions.map((completion) => extractProgram(completion, problem.entryPoint));
  const sandboxes = await mapBounded(programs, o.concurrency ?? 2, (program) =>
    runInSandbox(
      docker,
      { program, tests: problem.tests, entryPoint: problem.entryPoint },
      {
        limits: o.limits,
        imageRef: o.imageRef,
        runId: o.runId,
        hostId: o.hostId,
        signal: o.signal,
      },
    ),
  );
  const n = completions.length;
  const c = sandboxes.filter((s) => s.passed).length;
  return {
    problemId: problem.id,
    n,
    c,
    passAtK: passAtKs(n, c, o.ks),
    completions: programs.map((program, i) => ({ program, sandbox: sandboxes[i]! })),
  };
}

/** pass@k for each k ≤ n. */
export function passAtKs(n: number, c: number, ks: number[]): Record<number, number> {
  checkKs(ks);
  const out: Record<number, number> = {};
  if (n === 0) return out;
  for (const k of ks) if (k <= n) out[k] = passAtK(n, c, k);
  return out;
}

/**
 * A dataset's pass@k: the mean over problems of each problem's pass@k. A k is reported only when
 * every problem has at least k completions, so all problems weigh alike in it.
 */
export function meanPassAtK(problems: Array<{ n: number; c: number }>, ks: number[]): Record<number, number> {
  checkKs(ks);
  const out: Record<number, number> = {};
  if (problems.length === 0) return out;
  for (const k of ks) {
    if (problems.some((p) => p.n < k)) continue;
    out[k] = problems.reduce((sum, p) => sum + passAtK(p.n, p.c, k), 0) / problems.length;
  }
  return out;
}

function checkKs(ks: number[]): void {
  if (ks.length === 0) throw new RangeError('pass@k needs at least one k');
  for (const k of ks) if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be a positive integer, got ${k}`);
}

/** Like Promise.all over `items.map(fn)`, with at most `limit` calls pending at once; order kept. */
async function mapBounded<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  if (!Number.isInteger(limit) || limit < 1)
    throw new RangeError(`concurrency must be a positive integer, got ${limit}`);
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
