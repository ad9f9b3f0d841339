/**
 * The container-unit queue against the real PostgreSQL: priority before age, first come first
 * served within a priority, capacity counted in units, no unit handed out twice under concurrent
 * grants, and every call safe to repeat. Each test queues on a GPU type of its own.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { containerLeases } from '../../db/schema';
import {
  LeaseMissing,
  getLease,
  leaseUsage,
  releaseLease,
  requestLease,
  tryGrantLease,
} from '../../db/queries/containerLeases';
import type { Priority } from '../../contracts/resources';
import { insertArithmeticDataset, insertRun, insertUser, type FixtureDataset } from '../support/runFixtures';
import { useTestStack } from '../support/testStack';

const stack = useTestStack({ db: { max: 20 } });
let ownerId: string;
let dataset: FixtureDataset;

beforeAll(async () => {
  ownerId = await insertUser(stack.db);
  dataset = await insertArithmeticDataset(stack.db, 1);
});

const newType = () => `t-${randomUUID().slice(0, 8)}`;

async function newRun(): Promise<string> {
  return insertRun(stack.db, { ownerId, endpoint: 'http://127.0.0.1:9/v1', datasets: [dataset] });
}

/** A run that has asked for units; requests are made one after another, so their order is their age. */
async function queued(gpuType: string, priority: Priority, units = 1): Promise<string> {
  const runId = await newRun();
  await requestLease(stack.db, { runId, gpuType, units, priority });
  return runId;
}

describe('container leases', () => {
  it('grants higher priority first when units free up, even to a request made later', async () => {
    const type = newType();
    const holder = await queued(type, 'low');
    expect(await tryGrantLease(stack.db, holder, 1)).toEqual({ granted: true, ahead: 0 });
    const low = await queued(type, 'low');
    const high = await queued(type, 'high');

    // The high request queued after the low one stands before it.
    expect(await tryGrantLease(stack.db, low, 1)).toEqual({ granted: false, ahead: 1 });
    expect(await tryGrantLease(stack.db, high, 1)).toEqual({ granted: false, ahead: 0 });

    expect(await releaseLease(stack.db, holder, 1)).toEqual({ nextWaiting: [high] });
    expect(await tryGrantLease(stack.db, low, 1)).toEqual({ granted: false, ahead: 1 });
    expect(await tryGrantLease(stack.db, high, 1)).toEqual({ granted: true, ahead: 0 });
    expect(await tryGrantLease(stack.db, low, 1)).toEqual({ granted: false, ahead: 0 });

    expect(await releaseLease(stack.db, high, 1)).toEqual({ nextWaiting: [low] });
    expect(await tryGrantLease(stack.db, low, 1)).toEqual({ granted: true, ahead: 0 });
  });

  it('serves one priority first come, first served, whatever order the grants are tried in', async () => {
    const type = newType();
    const holder = await queued(type, 'medium');
    await tryGrantLease(stack.db, holder, 1);
    const waiting: string[] = [];
    for (let i = 0; i < 4; i++) waiting.push(await queued(type, 'medium'));
    // Low priority, but first in time: still behind every medium request.
    const late = await queued(type, 'low');

    await releaseLease(stack.db, holder, 1);
    const attempts = [];
    for (const runId of [late, ...[...waiting].reverse()]) attempts.push(await tryGrantLease(stack.db, runId, 1));
    expect(attempts).toEqual([
      { granted: false, ahead: 4 },
      { granted: false, ahead: 3 },
      { granted: false, ahead: 2 },
      { granted: false, ahead: 1 },
      { granted: true, ahead: 0 },
    ]);
    for (let i = 1; i < waiting.length; i++) {
      expect(await releaseLease(stack.db, waiting[i - 1]!, 1)).toEqual({ nextWaiting: [waiting[i]] });
      expect(await tryGrantLease(stack.db, waiting[i]!, 1)).toEqual({ granted: true, ahead: 0 });
    }
    expect(await releaseLease(stack.db, waiting.at(-1)!, 1)).toEqual({ nextWaiting: [late] });
  });

  it('counts capacity in units: a request waits until its units fit, and no later request overtakes it', async () => {
    const type = newType();
    const big = await queued(type, 'medium', 3);
    expect(await tryGrantLease(stack.db, big, 4)).toEqual({ granted: true, ahead: 0 });
    const two = await queued(type, 'medium', 2);
    const one = await queued(type, 'medium', 1);
    const huge = await queued(type, 'low', 5);

    expect(await tryGrantLease(stack.db, two, 4)).toEqual({ granted: false, ahead: 0 });
    // One unit is free, but the two-unit request before it keeps its place.
    expect(await tryGrantLease(stack.db, one, 4)).toEqual({ granted: false, ahead: 1 });
    expect((await leaseUsage(stack.db)).get(type)).toEqual({ held: 3, queued: 3 });

    expect(await releaseLease(stack.db, big, 4)).toEqual({ nextWaiting: [two, one] });
    // Both fit: each is granted on its own call, in either order.
    expect(await tryGrantLease(stack.db, one, 4)).toEqual({ granted: true, ahead: 0 });
    expect(await tryGrantLease(stack.db, two, 4)).toEqual({ granted: true, ahead: 0 });
    expect((await leaseUsage(stack.db)).get(type)).toEqual({ held: 3, queued: 1 });

    // More units than the type has is never granted.
    await releaseLease(stack.db, one, 4);
    await releaseLease(stack.db, two, 4);
    expect(await tryGrantLease(stack.db, huge, 4)).toEqual({ granted: false, ahead: 0 });
    expect((await leaseUsage(stack.db)).get(type)).toEqual({ held: 0, queued: 1 });
  });

  it('hands out exactly the free units to 30 concurrent grant attempts, to the first two in the queue', async () => {
    const type = newType();
    const runIds: string[] = [];
    for (let i = 0; i < 30; i++) runIds.push(await queued(type, 'medium'));
    const outcomes = await Promise.all(runIds.map((runId) => tryGrantLease(stack.db, runId, 2)));
    const granted = runIds.filter((_, i) => outcomes[i]!.granted);
    expect(granted).toEqual(runIds.slice(0, 2));
    expect((await leaseUsage(stack.db)).get(type)).toEqual({ held: 2, queued: 28 });

    // And again with the two holders releasing at the same time: never more than two held, and only
    // ever the next two in the queue.
    const waiting = runIds.slice(2);
    const again = await Promise.all([
      ...waiting.map((runId) => tryGrantLease(stack.db, runId, 2)),
      ...granted.map((runId) => releaseLease(stack.db, runId, 2)),
    ]);
    const newlyGranted = waiting.filter((_, i) => (again[i] as { granted: boolean }).granted);
    expect(waiting.slice(0, 2)).toEqual(expect.arrayContaining(newlyGranted));
    const held = async () =>
      (await stack.db.select().from(containerLeases).where(eq(containerLeases.gpuType, type)))
        .filter((r) => r.grantedAt && !r.releasedAt)
        .map((r) => r.runId);
    expect((await held()).sort()).toEqual([...newlyGranted].sort());
    for (const runId of waiting) await tryGrantLease(stack.db, runId, 2);
    expect((await held()).sort()).toEqual(waiting.slice(0, 2).sort());
  });

  it('never grants more than the capacity while requests of every priority arrive and are granted concurrently', async () => {
    const priorities: Priority[] = ['low', 'medium', 'high'];
    // Several rounds, each on a fresh type: a request of higher priority may arrive while a grant
    // to a lower one is being decided, which is what the per-type lock is for.
    for (let round = 0; round < 4; round++) {
      const type = newType();
      const runIds: string[] = [];
      for (let i = 0; i < 40; i++) runIds.push(await newRun());
      const granted = await Promise.all(
        runIds.map(async (runId, i) => {
          await requestLease(stack.db, {
            runId,
            gpuType: type,
            units: 1 + (i % 2),
            priority: priorities[(i + round) % 3]!,
          });
          for (let attempt = 0; attempt < 3; attempt++) {
            if ((await tryGrantLease(stack.db, runId, 3)).granted) return 1 + (i % 2);
          }
          return 0;
        }),
      );
      const units = granted.reduce((sum, u) => sum + u, 0);
      expect(units).toBeGreaterThan(0);
      expect(units).toBeLessThanOrEqual(3);
      expect((await leaseUsage(stack.db)).get(type)!.held).toBe(units);
    }
  });

  it('is safe to repeat: requesting, granting and releasing twice change nothing the second time', async () => {
    const type = newType();
    const runId = await queued(type, 'low', 2);
    const first = await getLease(stack.db, runId);
    await requestLease(stack.db, { runId, gpuType: type, units: 1, priority: 'high' });
    expect(await getLease(stack.db, runId)).toEqual(first);

    expect(await tryGrantLease(stack.db, runId, 2)).toEqual({ granted: true, ahead: 0 });
    const granted = await getLease(stack.db, runId);
    expect(granted!.grantedAt).toBeInstanceOf(Date);
    expect(await tryGrantLease(stack.db, runId, 2)).toEqual({ granted: true, ahead: 0 });
    expect(await getLease(stack.db, runId)).toEqual(granted);

    const next = await queued(type, 'medium', 2);
    expect(await releaseLease(stack.db, runId, 2)).toEqual({ nextWaiting: [next] });
    const released = await getLease(stack.db, runId);
    expect(released!.releasedAt).toBeInstanceOf(Date);
    expect(await releaseLease(stack.db, runId, 2)).toEqual({ nextWaiting: [next] });
    expect(await getLease(stack.db, runId)).toEqual(released);
    // A released lease is not granted again, nor requested anew.
    expect(await tryGrantLease(stack.db, runId, 2)).toEqual({ granted: false, ahead: 0 });
    await requestLease(stack.db, { runId, gpuType: type, units: 2, priority: 'low' });
    expect(await getLease(stack.db, runId)).toEqual(released);

    // Without a capacity, release names every waiting run.
    const third = await queued(type, 'medium', 2);
    expect(await releaseLease(stack.db, runId)).toEqual({ nextWaiting: [next, third] });
  });

  it('knows no lease for a run that never asked', async () => {
    const runId = await newRun();
    await expect(tryGrantLease(stack.db, runId, 1)).rejects.toBeInstanceOf(LeaseMissing);
    expect(await releaseLease(stack.db, runId, 1)).toEqual({ nextWaiting: [] });
    expect(await getLease(stack.db, runId)).toBeUndefined();
    await expect(requestLease(stack.db, { runId, gpuType: newType(), units: 0, priority: 'low' })).rejects.toThrow(
      /positive whole number/,
    );
  });
});
