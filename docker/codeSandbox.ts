/**
 * Running a model-written program with its tests in a throw-away container (codeSandboxSpec.ts
 * says what the container may do; docs/code-sandbox.md why). The wall-clock limit is kept from
 * outside: the host kills the container, whatever the program does with its signals. The output is
 * read live and only its tail kept; a program that floods it is killed. The container is removed
 * on every path out of here: pass, fail, timeout, kill, and errors of the engine itself.
 *
 * The verdict comes from the runner's last line, which carries a random token of this run: a
 * program that leaves early with exit code 0 (sys.exit(0), os._exit(0)) has not passed.
 */
import { randomBytes } from 'node:crypto';
import type Dockerode from 'dockerode';
import { CODE_SANDBOX_IMAGE_REF } from './codeSandboxImage';
import { DEFAULT_SANDBOX_LIMITS, SANDBOX_ROLE, sandboxContainerSpec, type SandboxLimits } from './codeSandboxSpec';
import { killContainer } from './containerKill';
import { removeContainer } from './containerRemoval';
import { LABEL_ROLE } from './containerSpec';
import { dockerStatus, errorText } from './engine';
import { OutputTail } from './outputTail';

export { DEFAULT_SANDBOX_LIMITS, type SandboxLimits } from './codeSandboxSpec';

/**
 * Each source travels in one environment variable, and Linux caps one at 128 KiB (MAX_ARG_STRLEN);
 * the rest of that is left for the variable's name.
 */
export const MAX_SOURCE_BYTES = 120_000;
const VERDICT_LINE = /\n?PROCTOR-SANDBOX ([0-9a-f]+) ([a-z_]+)\n?$/;
/** After the container exits, how long its output stream may take to end. */
const DRAIN_MS = 5_000;

export interface SandboxProgram {
  /** The candidate's source: a Python module. */
  program: string;
  /** Test code run after the program in the same namespace; passing means running to the end. */
  tests: string;
  /** A name the program must define as a callable before the tests run. */
  entryPoint?: string;
}

export type SandboxVerdict =
  | 'passed'
  /** An assertion in the tests failed. */
  | 'tests_failed'
  /** The tests raised something other than AssertionError (e.g. a TypeError from a wrong signature). */
  | 'tests_error'
  /** The program raised while it was loaded, a SyntaxError included. */
  | 'program_error'
  | 'entry_point_missing'
  /** The program or the tests called sys.exit. */
  | 'exited_early'
  | 'timed_out'
  | 'out_of_memory'
  | 'output_limit'
  /** The process ended without the runner's verdict line: os._exit, a signal, a crash. */
  | 'crashed'
  /** Not run: a source too large or holding a NUL byte, which no environment variable can carry. */
  | 'input_rejected';

export interface SandboxResult {
  passed: boolean;
  verdict: SandboxVerdict;
  /** null when the container never ran. */
  exitCode: number | null;
  timedOut: boolean;
  oomKilled: boolean;
  outputLimitExceeded: boolean;
  /** The last limits.outputTailBytes of each stream, the runner's verdict line removed. */
  stdoutTail: string;
  stderrTail: string;
  stdoutBytes: number;
  stderrBytes: number;
  /** From starting the container until it exited. */
  durationMs: number;
}

export interface SandboxOptions {
  limits?: Partial<SandboxLimits>;
  imageRef?: string;
  runId?: string;
  hostId?: string;
  /** Aborting kills the container, removes it and rejects with the signal's reason. */
  signal?: AbortSignal;
}

export class SandboxError extends Error {
  override name = 'SandboxError';
}

export async function runInSandbox(
  docker: Dockerode,
  input: SandboxProgram,
  o: SandboxOptions = {},
): Promise<SandboxResult> {
  const limits: SandboxLimits = { ...DEFAULT_SANDBOX_LIMITS, ...o.limits };
  const rejected = rejectInput(input);
  if (rejected) return notRun(rejected);
  o.signal?.throwIfAborted();

  const nonce = randomBytes(16).toString('hex');
  const env = [
    `PROCTOR_SANDBOX_PROGRAM=${input.program}`,
    `PROCTOR_SANDBOX_TESTS=${input.tests}`,
    `PROCTOR_SANDBOX_NONCE=${nonce}`,
  ];
  if (input.entryPoint) env.push(`PROCTOR_SANDBOX_ENTRY_POINT=${input.entryPoint}`);
  const spec = sandboxContainerSpec({
    name: `proctor-sandbox-${nonce.slice(0, 16)}`,
    imageRef: o.imageRef ?? CODE_SANDBOX_IMAGE_REF,
    env,
    limits,
    runId: o.runId,
    hostId: o.hostId,
  });

  let container: Dockerode.Container;
  try {
    container = await docker.createContainer(spec);
  } catch (error) {
    if (dockerStatus(error) === 404)
      throw new SandboxError(
        `the code sandbox image ${spec.Image} is not on this Docker host; ensureCodeSandboxImage first`,
      );
    throw new SandboxError(`could not create a code sandbox container: ${errorText(error)}`);
  }

  let killedFor: 'timeout' | 'output' | 'abort' | null = null;
  const kill = (why: 'timeout' | 'output' | 'abort') => {
    if (killedFor !== null) return;
    killedFor = why;
    void killContainer(container).then((killed) => {
      // It had exited already, so it was not killed for this after all.
      if (!killed && killedFor === why) killedFor = null;
    });
  };
  const stdout = new OutputTail(limits.outputTailBytes, () => overLimit());
  const stderr = new OutputTail(limits.outputTailBytes, () => overLimit());
  const overLimit = () => {
    if (stdout.total + stderr.total > limits.maxOutputBytes) kill('output');
  };
  const onAbort = () => kill('abort');
  let timer: NodeJS.Timeout | undefined;

  try {
    const stream = (await container.attach({ stream: true, stdout: true, stderr: true })) as NodeJS.ReadableStream;
    const drained = new Promise<void>((resolve) => {
      stream.once('end', resolve);
      stream.once('close', resolve);
      stream.once('error', () => resolve());
    });
    docker.modem.demuxStream(stream, stdout, stderr);

    const started = Date.now();
    await container.start();
    timer = setTimeout(() => kill('timeout'), limits.timeoutMs);
    o.signal?.addEventListener('abort', onAbort, { once: true });
    // Aborted while the container was being created or started: no event is coming for that.
    if (o.signal?.aborted) kill('abort');
    await container.wait();
    const durationMs = Date.now() - started;
    clearTimeout(timer);
    o.signal?.removeEventListener('abort', onAbort);
    await Promise.race([drained, new Promise((resolve) => setTimeout(resolve, DRAIN_MS).unref())]);
    if (killedFor === 'abort') throw o.signal?.reason ?? new SandboxError('the sandbox run was aborted');

    const state = (await container.inspect()).State;
    return judge({
      nonce,
      exitCode: state.ExitCode,
      oomKilled: state.OOMKilled,
      killedFor,
      stdout,
      stderr,
      durationMs,
    });
  } catch (error) {
    if (error instanceof SandboxError || killedFor === 'abort') throw error;
    throw new SandboxError(`the code sandbox failed: ${errorText(error)}`);
  } finally {
    clearTimeout(timer);
    o.signal?.removeEventListener('abort', onAbort);
    await removeContainer(docker, container.id, 0);
  }
}

function judge(r: {
  nonce: string;
  exitCode: number;
  oomKilled: boolean;
  killedFor: 'timeout' | 'output' | 'abort' | null;
  stdout: OutputTail;
  stderr: OutputTail;
  durationMs: number;
}): SandboxResult {
  let stdoutTail = r.stdout.text();
  let stdoutBytes = r.stdout.total;
  let stated: string | null = null;
  const line = VERDICT_LINE.exec(stdoutTail);
  if (line && line[1] === r.nonce) {
    stated = line[2]!;
    stdoutTail = stdoutTail.slice(0, line.index);
    stdoutBytes -= Buffer.byteLength(line[0]);
  }
  const timedOut = r.killedFor === 'timeout';
  const outputLimitExceeded = r.killedFor === 'output';
  let verdict: SandboxVerdict;
  // A run that said it passed and exited 0 passed, even if a timer fired as it was exiting.
  if (stated === 'passed' && r.exitCode === 0) verdict = 'passed';
  else if (timedOut) verdict = 'timed_out';
  else if (outputLimitExceeded) verdict = 'output_limit';
  else if (r.oomKilled) verdict = 'out_of_memory';
  else if (stated !== null && stated !== 'passed' && KNOWN_VERDICTS.has(stated)) verdict = stated as SandboxVerdict;
  else verdict = 'crashed';
  return {
    passed: verdict === 'passed',
    verdict,
    exitCode: r.exitCode,
    timedOut,
    oomKilled: r.oomKilled,
    outputLimitExceeded,
    stdoutTail,
    stderrTail: r.stderr.text(),
    stdoutBytes,
    stderrBytes: r.stderr.total,
    durationMs: r.durationMs,
  };
}

const KNOWN_VERDICTS: ReadonlySet<string> = new Set([
  'tests_failed',
  'tests_error',
  'program_error',
  'entry_point_missing',
  'exited_early',
]);

function rejectInput(input: SandboxProgram): string | null {
  for (const [what, source] of [
    ['program', input.program],
    ['tests', input.tests],
    ['entry point', input.entryPoint ?? ''],
  ] as const) {
    if (source.includes('\u0000')) return `the ${what} holds a NUL character, which cannot be passed to the sandbox`;
    const bytes = Buffer.byteLength(source);
    if (bytes > MAX_SOURCE_BYTES) return `the ${what} is ${bytes} bytes, more than the sandbox's ${MAX_SOURCE_BYTES}`;
  }
  if (input.entryPoint !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(input.entryPoint))
    return `the entry point ${JSON.stringify(input.entryPoint)} is not a Python name`;
  return null;
}

function notRun(reason: string): SandboxResult {
  return {
    passed: false,
    verdict: 'input_rejected',
    exitCode: null,
    timedOut: false,
    oomKilled: false,
    outputLimitExceeded: false,
    stdoutTail: '',
    stderrTail: reason,
    stdoutBytes: 0,
    stderrBytes: 0,
    durationMs: 0,
  };
}

/**
 * Removes sandbox containers older than `olderThanMs`: what a worker that died mid-run left. A
 * live sandbox never outlives its timeout by much, so anything older than a few of those is stale.
 */
export async function reapStaleSandboxes(docker: Dockerode, olderThanMs: number): Promise<string[]> {
  const cutoffSeconds = (Date.now() - olderThanMs) / 1000;
  const found = await docker.listContainers({ all: true, filters: { label: [`${LABEL_ROLE}=${SANDBOX_ROLE}`] } });
  const stale = found.filter((c) => c.Created < cutoffSeconds);
  for (const c of stale) await removeContainer(docker, c.Id, 0);
  return stale.map((c) => c.Id);
}
