/**
 * Private deployment end to end, through HTTP, real workers and a real Docker engine: the owner
 * uploads a model with the CLI, verifies and evaluates it; the run's container serves `/func`, its
 * output lands in the run's log, and it is gone when the run ends — also when the model never
 * becomes healthy, crashes mid-run, or is stopped.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { connectDocker } from '../../docker/engine';
import { ensureNlpServingImage } from '../../docker/servingImage';
import { listServingContainers } from '../../docker/containerRunner';
import { containerLeases } from '../../db/schema';
import type { RunView, SampleResultView } from '../../contracts/run';
import { RECORD_HISTORIES, recordHistoryFixture, replayHistory } from '../support/historyFixtures';
import { WORKFLOW_TYPES, workflowIds } from '../../temporal.config';
import { requireEnv } from '../support/env';
import { createPrivateModel, useServingSettings, waitForRunEnd } from '../support/privateModel';
import { useTestStack } from '../support/testStack';
import { formalUsed } from '../support/quotaFixtures';

const HOST_ID = `test-host-${process.pid}`;
useServingSettings({ hostId: HOST_ID, healthTimeoutMs: 8_000 });

const docker = connectDocker(requireEnv('DOCKER_HOST'));
let key: string;

// The serving image is in place (built once per engine) before the workers that run it start.
beforeAll(() => ensureNlpServingImage(docker), 300_000);
const stack = useTestStack({ api: true, workers: ['runs', 'inference', 'containers'] });
beforeAll(async () => {
  key = (await stack.api.createUser()).apiKey;
});

async function launch(evaluationId: string, kind: 'verifications' | 'runs', body: unknown = {}): Promise<string> {
  const res = await stack.api.request('POST', `/v1/evaluations/${evaluationId}/${kind}`, { key, body });
  expect(res.status, res.text).toBe(202);
  return res.body.runId as string;
}

async function logsOf(runId: string): Promise<string[]> {
  const res = await stack.api.request('GET', `/v1/runs/${runId}/logs?limit=1000`, { key });
  expect(res.status).toBe(200);
  return (res.body.items as { message: string }[]).map((l) => l.message);
}

async function containersOf(runId: string) {
  return (await listServingContainers(docker, { hostId: HOST_ID })).filter((c) => c.runId === runId);
}

/**
 * The run workflow's history replays against today's code (the private path: lease polls, container
 * activities on the host's queue, the nudge signal), and becomes a replay fixture when recording.
 */
async function replayAndMaybeRecord(runId: string, fixture: string): Promise<void> {
  const workflowId = workflowIds.run(runId);
  const history = await stack.temporal.workflow.getHandle(workflowId).fetchHistory();
  await replayHistory(history, workflowId);
  if (RECORD_HISTORIES) await recordHistoryFixture(stack.temporal, fixture, workflowId, WORKFLOW_TYPES.run);
}

async function allResults(runId: string): Promise<SampleResultView[]> {
  const res = await stack.api.request('GET', `/v1/runs/${runId}/results?limit=1000`, { key });
  expect(res.status).toBe(200);
  return res.body.items as SampleResultView[];
}

describe('a private deployment', () => {
  it('is verified and evaluated in its own container, which is removed when the run ends', async () => {
    const { evaluationId, version } = await createPrivateModel(stack.api, key);

    const verificationId = await launch(evaluationId, 'verifications', { samplesPerDataset: 3 });
    const verification = await waitForRunEnd(stack.api, key, verificationId);
    expect(verification.status, verification.error ?? '').toBe('succeeded');
    const verified = await allResults(verificationId);
    expect(verified).toHaveLength(3);
    for (const r of verified) expect(r.predict).toBe(r.label);

    const runId = await launch(evaluationId, 'runs');
    const run = await waitForRunEnd(stack.api, key, runId);
    expect(run.status, run.error ?? '').toBe('succeeded');
    expect(run.datasets[0]).toMatchObject({ status: 'succeeded', done: 1000, failed: 0 });
    expect(run.overallScore).toBe(1);

    const logs = await logsOf(runId);
    expect(logs.some((l) => l.includes(`upload v${version} checked: 7B parameters, up to 1 GPU(s)`))).toBe(true);
    expect(logs.some((l) => l.startsWith('container units granted'))).toBe(true);
    // The model's own output, copied from the container.
    expect(logs.some((l) => l.includes('Initial model with path /workspace/model'))).toBe(true);
    expect(logs.some((l) => /model service healthy at http:\/\/127\.0\.0\.1:\d+/.test(l))).toBe(true);
    expect(logs.some((l) => /model container [0-9a-f]{12} removed/.test(l))).toBe(true);

    expect(await containersOf(runId)).toEqual([]);
    expect(await containersOf(verificationId)).toEqual([]);
    const [lease] = await stack.api.deps.db.select().from(containerLeases).where(eq(containerLeases.runId, runId));
    expect(lease?.grantedAt).toBeInstanceOf(Date);
    expect(lease?.releasedAt).toBeInstanceOf(Date);
    await replayAndMaybeRecord(runId, 'private-run-completed');
  });

  it("fails with the model's own traceback when its initialisation raises, and leaves no container", async () => {
    const { evaluationId } = await createPrivateModel(stack.api, key, { knobs: { init: 'raise' } });
    const runId = await launch(evaluationId, 'verifications');
    const run = await waitForRunEnd(stack.api, key, runId);
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/did not become healthy/);
    expect(run.error).toMatch(/weights are corrupt/);
    expect(run.datasets.every((d) => d.status === 'failed')).toBe(true);
    expect(await containersOf(runId)).toEqual([]);
  });

  it('gives up on a model that never becomes healthy after the health timeout, and leaves no container', async () => {
    const { evaluationId } = await createPrivateModel(stack.api, key, { knobs: { init: 'hang' } });
    const runId = await launch(evaluationId, 'verifications');
    const run = await waitForRunEnd(stack.api, key, runId);
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/did not become healthy/);
    expect(run.error).toMatch(/8 ?s|8000 ?ms|8\.0 ?s/);
    expect(await containersOf(runId)).toEqual([]);
  });

  it('ends a formal run whose model never becomes healthy within its own wait, and gives its quota slot back', async () => {
    const user = await stack.api.createUser();
    const { evaluationId } = await createPrivateModel(stack.api, user.apiKey, {
      knobs: { init: 'hang' },
      limits: { readyTimeoutSeconds: 3 },
    });
    const res = await stack.api.request('POST', `/v1/evaluations/${evaluationId}/runs`, { key: user.apiKey });
    expect(res.status, res.text).toBe(202);
    const runId = res.body.runId as string;
    expect(await formalUsed(stack.db, user.id)).toBe(1);
    const run = await waitForRunEnd(stack.api, user.apiKey, runId);
    expect(run.status).toBe('failed');
    // The run's 3 s, not the platform's 8 s.
    expect(run.error).toMatch(/did not become healthy: the model did not become ready within 3000 ms/);
    expect(run.error).toMatch(/; the formal quota slot was given back$/);
    expect(run.progress.done).toBe(0);
    expect(await formalUsed(stack.db, user.id)).toBe(0);
    expect(await containersOf(runId)).toEqual([]);
  });

  it('fails the dataset a crash happened in, restarts the container for the next one, and the run goes on', async () => {
    const small = `crash-small-${process.pid}`;
    const jsonl = Array.from({ length: 40 }, (_, i) =>
      JSON.stringify({
        id: `q${i}`,
        prompt: `Compute ${i} + ${i}. Reply with the number only.`,
        ground_truth: String(2 * i),
      }),
    ).join('\n');
    const registered = await stack.api.request('POST', '/v1/datasets', {
      key,
      body: { id: small, name: 'small sums', domain: 'nlp', task: 'sums', metric: 'exact_match', jsonl },
    });
    expect(registered.status, registered.text).toBe(201);

    const { evaluationId } = await createPrivateModel(stack.api, key, {
      knobs: { crash_after: 150 },
      datasets: ['arith-basic', small],
    });
    const runId = await launch(evaluationId, 'runs');
    const run = await waitForRunEnd(stack.api, key, runId);
    const [crashed, next] = run.datasets as RunView['datasets'];
    expect(crashed!.status).toBe('failed');
    expect(crashed!.error).toMatch(/the model container exited with code 3 while it was serving/);
    expect(crashed!.error).toMatch(/simulated crash after 150 requests/);
    expect(next).toMatchObject({ status: 'succeeded', done: 40, failed: 0 });
    expect(run.status).toBe('succeeded');
    const logs = await logsOf(runId);
    expect(logs.some((l) => l.includes('exited with code 3; starting it again (restart 1 of 2)'))).toBe(true);
    expect(logs.some((l) => l.includes('simulated crash after 150 requests'))).toBe(true);
    expect(await containersOf(runId)).toEqual([]);
    await replayAndMaybeRecord(runId, 'private-run-container-restarted');
  });

  it('stops promptly, and its container is removed', async () => {
    const { evaluationId } = await createPrivateModel(stack.api, key, { knobs: { latency_ms: 50 } });
    const runId = await launch(evaluationId, 'runs');
    // Wait until samples are being answered by the container.
    for (let i = 0; i < 400; i++) {
      const view = (await stack.api.request('GET', `/v1/runs/${runId}`, { key })).body as RunView;
      if (view.progress.done > 20) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect((await containersOf(runId)).length).toBe(1);
    const stop = await stack.api.request('POST', `/v1/runs/${runId}/stop`, { key, body: {} });
    expect(stop.status, stop.text).toBeLessThan(300);
    const run = await waitForRunEnd(stack.api, key, runId, 60_000);
    expect(run.status).toBe('stopped');
    expect(run.progress.done).toBeLessThan(1000);
    expect(await containersOf(runId)).toEqual([]);
  });
});
