/**
 * The batch skeleton on a mocked activity context: lanes share the units, a lane's fault stops the
 * others and fails the batch once what finished is stored, a stop is no fault and ends the batch
 * cancelled after it stored and reported, and heartbeats carry the progress of the moment. The
 * long single-item part (runHeartbeating) ends the same way when stopped.
 */
import { describe, expect, it } from 'vitest';
import { MockActivityEnvironment } from '@temporalio/testing';
import { CancelledFailure } from '@temporalio/common';
import { runBatch } from '../../activities/batch/batchActivity';
import { runHeartbeating } from '../../activities/batch/heartbeatingActivity';
import { abortableSleep } from '../../activities/inference/retryWithBackoff';
import { HEARTBEAT_INTERVAL_MS } from '../../temporal.config';

/** A unit of work that a stop cuts: resolves true after `ms`, false at once when the signal aborts. */
const unit = abortableSleep;

/** A batch of `units` units on `lanes` lanes; `step(i, signal)` does unit i and says whether it finished. */
function batchOf(units: number, lanes: number, step: (i: number, signal: AbortSignal) => Promise<boolean>) {
  const done: number[] = [];
  const stored: number[] = [];
  const events: string[] = [];
  let next = 0;
  const run = () =>
    runBatch({
      heartbeat: () => ({ stored: stored.length }),
      work: (batch) =>
        batch.lanes(lanes, async (signal) => {
          while (next < units && !signal.aborted) {
            const i = next++;
            if (!(await step(i, signal))) break;
            done.push(i);
          }
        }),
      flush: async () => {
        events.push('flush');
        stored.push(...done.splice(0));
      },
      report: async () => {
        events.push('report');
        return { stored: stored.length };
      },
    });
  return { run, stored, events };
}

describe('runBatch', () => {
  it('shares the units among the lanes, stores them, then reports', async () => {
    let inFlight = 0;
    let most = 0;
    const { run, stored, events } = batchOf(12, 3, async (_i, signal) => {
      most = Math.max(most, ++inFlight);
      const finished = await unit(5, signal);
      inFlight -= 1;
      return finished;
    });
    const result = await new MockActivityEnvironment().run(run);
    expect(result).toEqual({ stored: 12 });
    expect(stored.sort((a, b) => a - b)).toEqual([...Array(12).keys()]);
    expect(most).toBe(3);
    expect(events).toEqual(['flush', 'report']);
  });

  it('heartbeats the progress of the moment while it works', async () => {
    const env = new MockActivityEnvironment();
    const beats: unknown[] = [];
    env.on('heartbeat', (details: unknown) => beats.push(details));
    const { run } = batchOf(2, 1, (_i, signal) => unit(HEARTBEAT_INTERVAL_MS * 0.7, signal));
    await env.run(run);
    expect(beats).toEqual([{ stored: 0 }]);
  });

  it("stops every lane at a lane's fault and fails with it once what finished is stored", async () => {
    const { run, stored, events } = batchOf(100, 4, async (i, signal) => {
      if (i === 6) throw new Error('database went away');
      return unit(2, signal);
    });
    await expect(new MockActivityEnvironment().run(run)).rejects.toThrow('database went away');
    expect(events).toEqual(['flush']);
    expect(stored.length).toBeGreaterThanOrEqual(3);
    expect(stored.length).toBeLessThan(20);
  });

  it('ends cancelled on a stop, after storing what finished and reporting; a lane cut short is no fault', async () => {
    const env = new MockActivityEnvironment();
    const { run, stored, events } = batchOf(1000, 2, async (i, signal) => {
      if (i === 9) setImmediate(() => env.cancel());
      const finished = await unit(3, signal);
      // What a request cut by the stop may look like: an error, not the batch's fault.
      if (!finished && i % 2 === 0) throw new Error('socket hang up');
      return finished;
    });
    const ended = await env.run(run).catch((error: unknown) => error);
    expect(ended).toBeInstanceOf(CancelledFailure);
    expect(events).toEqual(['flush', 'report']);
    expect(stored.length).toBeGreaterThanOrEqual(8);
    expect(stored.length).toBeLessThan(100);
  });
});

describe('runHeartbeating', () => {
  it("returns the work's result, and ends cancelled when stopped mid-work", async () => {
    expect(
      await new MockActivityEnvironment().run(() =>
        runHeartbeating({ heartbeat: () => 'running', work: async () => 42 }),
      ),
    ).toBe(42);

    const env = new MockActivityEnvironment();
    const ended = await env
      .run(() =>
        runHeartbeating({
          heartbeat: () => 'running',
          work: async ({ signal }) => {
            setImmediate(() => env.cancel());
            if (!(await unit(60_000, signal))) throw new Error('container killed');
            return 42;
          },
        }),
      )
      .catch((error: unknown) => error);
    expect(ended).toBeInstanceOf(CancelledFailure);
  });
});
