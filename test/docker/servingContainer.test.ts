/**
 * The model-serving container on the real Docker engine of the test run: the locally built image
 * serves a demo upload over `/func` through createFuncEndpoint, inside the limits the spec sets,
 * and every way it can fail (a crashing global_init, one that never ends, a crash mid-run) is
 * reported with what the model printed. Each test's containers carry a host id of this file alone
 * and are removed after it.
 */
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type Dockerode from 'dockerode';
import { createFuncEndpoint } from '../../activities/inference/funcEndpoint';
import { InferenceError } from '../../activities/inference/inferenceErrors';
import type { InferenceParams } from '../../contracts/evaluation';
import { ContainerExitedError, ContainerHealthTimeoutError } from '../../docker/containerErrors';
import {
  containerExitError,
  containerExitInfo,
  containerLogs,
  freePort,
  listServingContainers,
  reapServingContainers,
  removeContainer,
  startServingContainer,
  waitHealthy,
  type ContainerLogLine,
  type ContainerLogsOptions,
  type StartedContainer,
} from '../../docker/containerRunner';
import { servingContainerSpec } from '../../docker/containerSpec';
import { connectDocker } from '../../docker/engine';
import { ensureNlpServingImage } from '../../docker/servingImage';
import { requireEnv } from '../support/env';
import { writeDemoUpload, type DemoKnobs, type DemoUpload } from './demoUpload';

const PARAMS: InferenceParams = { maxTokens: 16, temperature: 0, topP: 1 };
const HOST_ID = `test-${process.pid}-${randomUUID().slice(0, 8)}`;
const never = new AbortController().signal;

let docker: Dockerode;
let imageRef: string;
const uploads: DemoUpload[] = [];

beforeAll(async () => {
  docker = connectDocker(requireEnv('DOCKER_HOST'));
  imageRef = await ensureNlpServingImage(docker);
});

afterEach(async () => {
  for (const c of await listServingContainers(docker, { hostId: HOST_ID })) await removeContainer(docker, c.id);
});

afterAll(async () => {
  for (const upload of uploads.splice(0)) await upload.remove();
});

const runId = () => `r${randomUUID().replace(/-/g, '').slice(0, 12)}`;

async function serve(knobs: DemoKnobs = {}, o: { workers?: number; run?: string; memoryMb?: number } = {}) {
  const upload = await writeDemoUpload(knobs, o.workers ?? 1);
  uploads.push(upload);
  const run = o.run ?? runId();
  const spec = (port: number) =>
    servingContainerSpec({
      runId: run,
      hostId: HOST_ID,
      imageRef,
      uploadDirOnHost: upload.dir,
      network: 'host',
      port,
      cpus: 1,
      memoryMb: o.memoryMb ?? 256,
      gpu: null,
    });
  const started = await startServingContainer(docker, spec);
  return { run, spec, started, upload };
}

async function serveHealthy(knobs: DemoKnobs = {}, o: { workers?: number; run?: string } = {}) {
  const served = await serve(knobs, o);
  await waitHealthy(docker, served.started.containerId, served.started.baseUrl, { timeoutMs: 60_000 });
  return {
    ...served,
    endpoint: createFuncEndpoint({ baseUrl: served.started.baseUrl, requestTimeoutMs: 10_000, engine: 'demo-model' }),
  };
}

/** The engine copies a container's output to its log a moment after it is written: poll (bounded). */
async function logsUntil(
  containerId: string,
  done: (lines: ContainerLogLine[]) => boolean,
  o: ContainerLogsOptions = {},
) {
  let lines: ContainerLogLine[] = [];
  for (let i = 0; i < 50; i++) {
    lines = await containerLogs(docker, containerId, o);
    if (done(lines)) return lines;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return lines;
}

/** Polls (bounded) until the container has stopped; the engine may take a moment to notice. */
async function untilStopped(started: StartedContainer) {
  for (let i = 0; i < 100; i++) {
    const info = await containerExitInfo(docker, started.containerId);
    if (!info.running) return info;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the container is still running after 10 s');
}

describe('a healthy model', () => {
  it('answers /func through createFuncEndpoint with the request it was sent', async () => {
    const { endpoint } = await serveHealthy();
    // /func answers with its tokens but not the prompt's: those are counted (activities/inference/tokenCount.ts).
    expect(await endpoint.complete('Compute 12 + 7. Reply with the number only.', PARAMS, never)).toEqual({
      text: '19',
      outputTokens: 1,
      promptTokens: 11,
      tokensCounted: true,
      model: null,
      systemFingerprint: null,
    });
    const echoed = JSON.parse(
      (await endpoint.complete('echo request', { maxTokens: 7, temperature: 0.5, topP: 0.9 }, never)).text,
    );
    // The request as a service reads it: flageval-serving's attribute names for the wire's fields.
    expect(echoed).toEqual({
      engine: 'demo-model',
      prompt: 'echo request',
      temperature: 0.5,
      max_return_sequences: 1,
      max_tokens: 7,
      top_p: 0.9,
      echo_prompt: false,
      top_k_per_token: 1,
      stop_sequences: [],
      extra: {},
    });
  });

  it('runs as uid 65534 and can write only to its /tmp: the upload and the image are read-only', async () => {
    const { endpoint } = await serveHealthy();
    expect((await endpoint.complete('whoami', PARAMS, never)).text).toBe('uid=65534 gid=65534');
    const writes = (await endpoint.complete('write', PARAMS, never)).text.split(' | ');
    expect(writes).toEqual([
      'cannot write /workspace/new-file: Read-only file system',
      'cannot write /workspace/model/knobs.json: Read-only file system',
      'cannot write /etc/new-file: Read-only file system',
      'wrote /tmp/new-file',
    ]);
  });

  it('is created with the limits, mounts, user and labels of its spec', async () => {
    const { started, run, upload } = await serveHealthy();
    const info = await docker.getContainer(started.containerId).inspect();
    expect(info.Name).toBe(`/proctor-run-${run}`);
    expect(info.Config.User).toBe('65534:65534');
    expect(info.Config.Labels).toMatchObject({
      'proctor.run': run,
      'proctor.host': HOST_ID,
      'proctor.role': 'model-serving',
    });
    expect(info.HostConfig).toMatchObject({
      NetworkMode: 'host',
      NanoCpus: 1e9,
      Memory: 256 * 2 ** 20,
      MemorySwap: 256 * 2 ** 20,
      PidsLimit: 4096,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      Privileged: false,
      ReadonlyRootfs: true,
      RestartPolicy: { Name: 'no' },
      Binds: [`${upload.dir}:/workspace:ro`],
    });
    expect(Object.keys(info.HostConfig.Tmpfs ?? {})).toEqual(['/tmp']);
    const workspace = info.Mounts.find((m) => m.Destination === '/workspace');
    expect(workspace).toMatchObject({ Source: upload.dir, RW: false });
  });

  it('runs as many inferences at once as local_guniconf.py has workers', async () => {
    const { endpoint } = await serveHealthy({ latencyMs: 300 }, { workers: 2 });
    await Promise.all(Array.from({ length: 6 }, (_, i) => endpoint.complete(`Compute ${i} + 1`, PARAMS, never)));
    expect((await endpoint.complete('most in flight', PARAMS, never)).text).toBe('2');
  });

  it('answers a bad body with 400 and a failing infer with 500, and logs the traceback', async () => {
    const { started, endpoint } = await serveHealthy();
    const post = (body: string) =>
      fetch(`${started.baseUrl}/func`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const garbage = await post('{not json');
    expect(garbage.status).toBe(400);
    // Errors as flageval-serving writes them: {"code", "message"}.
    expect(await garbage.json()).toEqual({ code: 400, message: expect.stringMatching(/^the body is not valid JSON/) });
    const wrongType = await post(JSON.stringify({ prompt: 'hi', max_new_tokens: 'many' }));
    expect(wrongType.status).toBe(400);
    expect(await wrongType.json()).toEqual({ code: 400, message: 'max_new_tokens must be a non-negative integer' });

    const failure = await endpoint.complete('divide by zero', PARAMS, never).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(InferenceError);
    expect(failure).toMatchObject({ kind: 'server', retryable: true });
    expect((failure as Error).message).toBe('HTTP 500 from the model endpoint: division by zero');
    expect(await endpoint.complete('bad shape', PARAMS, never).catch((e: unknown) => e)).toMatchObject({
      kind: 'server',
      message: 'HTTP 500 from the model endpoint: infer returned str; it must return an NLPEvalResponse',
    });
    const missing = await post(JSON.stringify({ engine: 'x' }));
    expect([missing.status, await missing.json()]).toEqual([400, { code: 400, message: 'prompt is required' }]);

    const logs = await logsUntil(started.containerId, (lines) =>
      lines.some((l) => l.line.includes('"POST /func" 500')),
    );
    const stderr = logs.filter((l) => l.stream === 'stderr').map((l) => l.line);
    expect(stderr).toContain('ZeroDivisionError: division by zero');
    expect(stderr.some((line) => line.includes('infer raised'))).toBe(true);
  });

  it('gives its logs back with timestamps, and only the new ones after a given line', async () => {
    const { started, endpoint } = await serveHealthy();
    const first = await logsUntil(started.containerId, (lines) =>
      lines.some((l) => l.line.includes('global_init finished')),
    );
    expect(first.map((l) => l.line)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^\[serving\] listening on http:\/\/127\.0\.0\.1:\d+/),
        'Initial model with path /workspace/model',
      ]),
    );
    for (const line of first) expect(line.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);

    // Answered samples are only counted (a line per interval); a refused request is logged at once.
    await endpoint.complete('Compute 2 * 3', PARAMS, never);
    const refused = await fetch(`${started.baseUrl}/func`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{',
    });
    expect(refused.status).toBe(400);
    const next = await logsUntil(started.containerId, (lines) => lines.length > 0, {
      after: first[first.length - 1]!.timestamp,
    });
    expect(next.map((l) => [l.stream, l.line])).toEqual([['stdout', expect.stringMatching(/"POST \/func" 400 /)]]);
    expect(await containerLogs(docker, started.containerId, { tail: 1 })).toEqual(next);
  });

  it('moves to another port when the one it was given is taken before the model binds it', async () => {
    const upload = await writeDemoUpload();
    uploads.push(upload);
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const taken = (squatter.address() as net.AddressInfo).port;
    const picked: number[] = [];
    try {
      const started = await startServingContainer(
        docker,
        (port) =>
          servingContainerSpec({
            runId: runId(),
            hostId: HOST_ID,
            imageRef,
            uploadDirOnHost: upload.dir,
            network: 'host',
            port,
            cpus: 1,
            memoryMb: 256,
            gpu: null,
          }),
        {
          pickPort: async () => {
            const port = picked.length === 0 ? taken : await freePort();
            picked.push(port);
            return port;
          },
        },
      );
      expect(picked).toHaveLength(2);
      expect(started.baseUrl).toBe(`http://127.0.0.1:${picked[1]}`);
      await waitHealthy(docker, started.containerId, started.baseUrl, { timeoutMs: 60_000 });
      // The first container, which found its port taken, is gone.
      expect(await listServingContainers(docker, { hostId: HOST_ID })).toEqual([
        expect.objectContaining({ id: started.containerId, state: 'running' }),
      ]);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });

  it('is reused, not started twice, when the same run starts its container again', async () => {
    const { started, spec } = await serveHealthy();
    const again = await startServingContainer(docker, spec);
    expect(again).toEqual({ containerId: started.containerId, baseUrl: started.baseUrl, created: false });
    expect(await listServingContainers(docker, { hostId: HOST_ID })).toHaveLength(1);
  });
});

describe('a model that fails', () => {
  it('fails the health wait at once when global_init raises, with the exit code and the traceback', async () => {
    const { started } = await serve({ init: 'raise' });
    const error = await waitHealthy(docker, started.containerId, started.baseUrl, { timeoutMs: 120_000 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ContainerExitedError);
    const message = (error as Error).message;
    expect(message).toMatch(/^the model container exited with code 1 before the model was ready\. Its last log lines:/);
    expect(message).toContain('Traceback (most recent call last):');
    expect(message).toContain('RuntimeError: weights are corrupt: cannot load model/info');
    expect((error as ContainerExitedError).info).toMatchObject({ running: false, exitCode: 1, oomKilled: false });
  });

  it('times out with a clear message when global_init never returns', async () => {
    const { started } = await serve({ init: 'hang' });
    const forwarded: string[] = [];
    const error = await waitHealthy(docker, started.containerId, started.baseUrl, {
      timeoutMs: 2_000,
      onLogs: (lines) => void forwarded.push(...lines.map((l) => l.line)),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ContainerHealthTimeoutError);
    const message = (error as Error).message;
    expect(message).toContain(
      'the model did not become ready within 2000 ms: GET /health never answered 200 (last answer: HTTP 503)',
    );
    expect(message).toContain("[serving] global_init('/workspace/model') started");
    expect(forwarded).toContain('Initial model with path /workspace/model');
    expect((await containerExitInfo(docker, started.containerId)).running).toBe(true);
  });

  it('stops waiting as soon as the wait is cancelled, with the reason it was cancelled for', async () => {
    const { started } = await serve({ init: 'hang' });
    const cancel = new AbortController();
    const reason = new Error('the run was stopped');
    const waiting = waitHealthy(docker, started.containerId, started.baseUrl, {
      timeoutMs: 120_000,
      signal: cancel.signal,
    });
    setTimeout(() => cancel.abort(reason), 300);
    expect(await waiting.catch((e: unknown) => e)).toBe(reason);
  });

  it('reports a crash mid-run: the next call fails, and the exit code and last words are known', async () => {
    const { started, endpoint, spec } = await serveHealthy({ crashAfter: 2 });
    await endpoint.complete('Compute 1 + 1', PARAMS, never);
    await endpoint.complete('Compute 1 + 2', PARAMS, never);
    const failure = await endpoint.complete('Compute 1 + 3', PARAMS, never).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(InferenceError);
    expect((failure as InferenceError).kind).toBe('connection');

    const info = await untilStopped(started);
    expect(info).toMatchObject({ missing: false, running: false, exitCode: 3, oomKilled: false });
    const explained = await containerExitError(docker, started.containerId, 'while it was serving');
    expect(explained?.message).toMatch(
      /^the model container exited with code 3 while it was serving\. Its last log lines:\n/,
    );
    expect(explained?.message).toContain('simulated crash after 2 requests');
    const refused = await endpoint.complete('Compute 1 + 4', PARAMS, never).catch((e: unknown) => e);
    expect(refused).toMatchObject({ kind: 'connection', message: 'connection refused (ECONNREFUSED)' });

    // Starting the run's container again replaces the dead one.
    const restarted = await startServingContainer(docker, spec);
    expect(restarted.created).toBe(true);
    expect(restarted.containerId).not.toBe(started.containerId);
    expect((await containerExitInfo(docker, started.containerId)).missing).toBe(true);
  });
});

describe('removal and reaping', () => {
  it('removeContainer leaves nothing behind, and removing again is fine', async () => {
    const { started } = await serveHealthy();
    await removeContainer(docker, started.containerId);
    expect(await containerExitInfo(docker, started.containerId)).toMatchObject({
      missing: true,
      running: false,
      status: 'missing',
    });
    expect(await listServingContainers(docker, { hostId: HOST_ID })).toEqual([]);
    await removeContainer(docker, started.containerId);
    expect(await containerExitError(docker, started.containerId, 'while serving')).toBeInstanceOf(ContainerExitedError);
  });

  it('reaps the containers of runs no longer active and keeps the active and the undecided ones', async () => {
    const [active, ended, unknown] = [runId(), runId(), runId()];
    await serve({}, { run: active });
    const endedContainer = await serve({}, { run: ended });
    await serve({}, { run: unknown });
    // Another host's container is never this host's to reap.
    const otherHost = `${HOST_ID}-other`;
    const upload = await writeDemoUpload();
    uploads.push(upload);
    const foreign = await startServingContainer(docker, (port) =>
      servingContainerSpec({
        runId: runId(),
        hostId: otherHost,
        imageRef,
        uploadDirOnHost: upload.dir,
        network: 'host',
        port,
        cpus: 1,
        memoryMb: 128,
        gpu: null,
      }),
    );
    try {
      const undecided: string[] = [];
      const removed = await reapServingContainers(
        docker,
        HOST_ID,
        async (run) => {
          if (run === unknown) throw new Error('database unavailable');
          return run === active;
        },
        { onUndecided: (run) => undecided.push(run) },
      );
      expect(removed).toEqual([{ runId: ended, containerId: endedContainer.started.containerId }]);
      expect(undecided).toEqual([unknown]);
      const left = (await listServingContainers(docker, { hostId: HOST_ID })).map((c) => c.runId).sort();
      expect(left).toEqual([active, unknown].sort());
      expect((await containerExitInfo(docker, foreign.containerId)).missing).toBe(false);
    } finally {
      await removeContainer(docker, foreign.containerId);
    }
  });
});
