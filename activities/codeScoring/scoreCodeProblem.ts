/**
 * One code problem scored: each completion's program (scoring/extractProgram.ts) runs in the code
 * sandbox (docker/codeSandbox.ts) with bounded parallelism, and the passes give c and pass@k for
 * the requested ks (scoring/metrics/passAtK.ts holds the estimator).
 */
import type Dockerode from 'dockerode';
import { runInSandbox, type SandboxLimits, type SandboxResult } from '../../docker/codeSandbox';
import { extractProgram } from '../../scoring/extractProgram';
import { withProgramPrefix } from '../../scoring/programPrefix';
import { checkKs, passAtKs } from '../../scoring/metrics/passAtK';

export interface CodeProblem {
  id: string;
  /** The name the program must define; the tests call it. */
  entryPoint: string;
  /** Hidden test code: assertions run after the program, in its namespace. */
  tests: string;
  /** Code run before the answer's program (metadata.program_prefix, scoring/programPrefix.ts). */
  prefix?: string | null;
}

export interface CompletionResult {
  /** The program taken from the completion (extractProgram.ts), after the problem's prefix if any, as it ran. */
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
  const programs = completions.map((completion) =>
    withProgramPrefix(extractProgram(completion, problem.entryPoint), problem.prefix),
  );
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
