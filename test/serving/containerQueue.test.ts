/**
 * Private runs queue for container units. With one unit, a run that holds it makes the others wait;
 * when it is released the waiting run of higher priority goes first, whatever the order they were
 * launched in, and a run stopped while it waits leaves the queue without ever getting a container.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { connectDocker } from '../../docker/engine';
import { ensureNlpServingImage } from '../../docker/servingImage';
import { listServingContainers } from '../../docker/containerRunner';
import { containerLeases } from '../../db/schema';
import type { GpuTypeView } from '../../contracts/resources';
import type { RunView } from '../../contracts/run';
import { requireEnv } from '../support/env';
import { createPrivateModel, useServingSettings, waitForRunEnd } from '../support/privateModel';
import { useTestStack } from '../support/testStack';

const HOST_ID = `queue-host-${process.pid}`;
useServingSettings({ hostId: HOST_ID, gpuTypes: 'cpu:1::CPU only' });

const docker = connectDocker(requireEnv('DOCKER_HOST'));
let key: string;

// The serving image is in place (built once per engine) before the workers that run it start.
beforeAll(() => ensureNlpServingImage(docker), 300_000);
const stack = useTestStack({ api: true, workers: ['runs', 'inference', 'containers'] });
beforeAll(async () => {
  key = (await stack.api.createUser()).apiKey;
});

async function launch(evaluationId: string, kind: 'verifications' | 'runs'): Promise<string> {
  const res = await stack.api.request('POST', `/v1/evaluations/${evaluationId}/${kind}`, { key, body: {} });
  expect(res.status, res.text).toBe(202);
  return res.body.runId as string;
}

async function lease(runId: string) {
  const [row] = await stack.api.deps.db.select().from(containerLeases).where(eq(containerLeases.runId, runId));
  return row;
}

async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function cpu(): Promise<GpuTypeView> {
  const res = await stack.api.request('GET', '/v1/resources', { key });
  expect(res.status).toBe(200);
  return (res.body.items as GpuTypeView[]).find((t) => t.id === 'cpu')!;
}

describe('the container-unit queue', () => {
  it('grants a freed unit to the waiting run of higher priority first, and drops a run stopped while waiting', async () => {
    const holder = await createPrivateModel(stack.api, key, { priority: 'low', knobs: { latency_ms: 40 } });
    const low = await createPrivateModel(stack.api, key, { priority: 'low' });
    const high = await createPrivateModel(stack.api, key, { priority: 'high' });
    const quitter = await createPrivateModel(stack.api, key, { priority: 'high' });

    const holderRun = await launch(holder.evaluationId, 'runs');
    await until('the holder to get the unit', async () => Boolean((await lease(holderRun))?.grantedAt));
    // Launched low first, then high: the order of arrival must not decide.
    const lowRun = await launch(low.evaluationId, 'verifications');
    await until('the low-priority run to queue', async () => Boolean(await lease(lowRun)));
    const highRun = await launch(high.evaluationId, 'verifications');
    await until('the high-priority run to queue', async () => Boolean(await lease(highRun)));
    const quitterRun = await launch(quitter.evaluationId, 'verifications');
    await until('the quitter to queue', async () => Boolean(await lease(quitterRun)));

    expect(await cpu()).toMatchObject({ total: 1, free: 0, queued: 3 });
    expect((await lease(lowRun))?.grantedAt).toBeNull();

    const stop = await stack.api.request('POST', `/v1/runs/${quitterRun}/stop`, { key, body: {} });
    expect(stop.status, stop.text).toBeLessThan(300);
    const stopped = await waitForRunEnd(stack.api, key, quitterRun, 60_000);
    expect(stopped.status).toBe('stopped');
    expect((await lease(quitterRun))?.grantedAt).toBeNull();
    expect((await lease(quitterRun))?.releasedAt).toBeInstanceOf(Date);

    const ends = await Promise.all(
      [holderRun, lowRun, highRun].map((runId) => waitForRunEnd(stack.api, key, runId, 150_000)),
    );
    expect(ends.map((r: RunView) => r.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    const [holderLease, lowLease, highLease] = await Promise.all([holderRun, lowRun, highRun].map(lease));
    expect(lowLease!.requestedAt.getTime()).toBeLessThan(highLease!.requestedAt.getTime());
    expect(highLease!.grantedAt!.getTime()).toBeGreaterThanOrEqual(holderLease!.releasedAt!.getTime());
    expect(highLease!.grantedAt!.getTime()).toBeLessThan(lowLease!.grantedAt!.getTime());
    // One unit: no two leases were ever held at once.
    expect(lowLease!.grantedAt!.getTime()).toBeGreaterThanOrEqual(highLease!.releasedAt!.getTime());

    const logs = (
      (await stack.api.request('GET', `/v1/runs/${lowRun}/logs?limit=1000`, { key })).body.items as {
        message: string;
      }[]
    ).map((l) => l.message);
    expect(logs.some((l) => /^waiting for 1 × CPU only \(priority low\): \d+ run\(s\) ahead$/.test(l))).toBe(true);
    expect(await cpu()).toMatchObject({ free: 1, queued: 0 });
    expect((await listServingContainers(docker, { hostId: HOST_ID })).length).toBe(0);
  });
});
