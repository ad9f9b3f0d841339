/**
 * GET /v1/resources: the configured GPU types, with free units and queued runs read from the
 * container-unit queue. Counts are compared before and after, since other files' runs may hold units.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { releaseLease, requestLease, tryGrantLease } from '../../db/queries/containerLeases';
import { startApi, type TestApi } from '../support/apiServer';
import { insertArithmeticDataset, insertRun, type FixtureDataset } from '../support/runFixtures';

const GPU_TYPES = 'cpu:2::CPU only (no GPU),a100:8:nvidia:NVIDIA A100';

let api: TestApi;
let user: { id: string; apiKey: string };
let dataset: FixtureDataset;
const configured = process.env.PROCTOR_GPU_TYPES;

beforeAll(async () => {
  process.env.PROCTOR_GPU_TYPES = GPU_TYPES;
  api = await startApi();
  user = await api.createUser();
  dataset = await insertArithmeticDataset(api.deps.db, 1);
});

afterAll(async () => {
  await api?.close();
  if (configured === undefined) delete process.env.PROCTOR_GPU_TYPES;
  else process.env.PROCTOR_GPU_TYPES = configured;
});

async function resources(key = user.apiKey) {
  const res = await api.request('GET', '/v1/resources', { key });
  expect(res.status, res.text).toBe(200);
  return Object.fromEntries((res.body.items as { id: string }[]).map((t) => [t.id, t])) as Record<
    string,
    Record<string, unknown>
  >;
}

async function run(): Promise<string> {
  return insertRun(api.deps.db, { ownerId: user.id, endpoint: 'http://127.0.0.1:9/v1', datasets: [dataset] });
}

describe('GET /v1/resources', () => {
  it('lists the configured GPU types in order, with label, driver and total', async () => {
    const res = await api.request('GET', '/v1/resources', { key: user.apiKey });
    expect(res.status).toBe(200);
    expect(
      res.body.items.map((t: Record<string, unknown>) => ({
        id: t.id,
        label: t.label,
        driver: t.driver,
        total: t.total,
      })),
    ).toEqual([
      { id: 'cpu', label: 'CPU only (no GPU)', driver: null, total: 2 },
      { id: 'a100', label: 'NVIDIA A100', driver: 'nvidia', total: 8 },
    ]);
    for (const type of res.body.items) {
      expect(type.free).toBeGreaterThanOrEqual(0);
      expect(type.free).toBeLessThanOrEqual(type.total);
      expect(type.queued).toBeGreaterThanOrEqual(0);
    }
  });

  it('counts units held by granted leases as not free and waiting leases as queued, per type', async () => {
    const before = await resources();
    const [a, b, c] = [await run(), await run(), await run()];
    await requestLease(api.deps.db, { runId: a, gpuType: 'a100', units: 3, priority: 'low' });
    await requestLease(api.deps.db, { runId: b, gpuType: 'a100', units: 2, priority: 'high' });
    await requestLease(api.deps.db, { runId: c, gpuType: 'cpu', units: 1, priority: 'medium' });
    let after = await resources();
    expect(after.a100).toMatchObject({ free: before.a100!.free, queued: (before.a100!.queued as number) + 2 });
    expect(after.cpu).toMatchObject({ free: before.cpu!.free, queued: (before.cpu!.queued as number) + 1 });

    expect((await tryGrantLease(api.deps.db, b, 8)).granted).toBe(true);
    expect((await tryGrantLease(api.deps.db, a, 8)).granted).toBe(true);
    after = await resources();
    expect(after.a100).toMatchObject({ free: (before.a100!.free as number) - 5, queued: before.a100!.queued });

    await releaseLease(api.deps.db, a, 8);
    await releaseLease(api.deps.db, c, 2);
    after = await resources();
    expect(after.a100).toMatchObject({ free: (before.a100!.free as number) - 2, queued: before.a100!.queued });
    expect(after.cpu).toEqual(before.cpu);
    await releaseLease(api.deps.db, b, 8);
    expect(await resources()).toEqual(before);
  });

  it('is open to every role but needs a key', async () => {
    const reviewer = await api.createUser('reviewer');
    expect(Object.keys(await resources(reviewer.apiKey))).toEqual(['cpu', 'a100']);
    expect(Object.keys(await resources(api.adminKey))).toEqual(['cpu', 'a100']);
    expect((await api.request('GET', '/v1/resources')).status).toBe(401);
  });
});
