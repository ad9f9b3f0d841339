import { describe, expect, it } from 'vitest';
import {
  abortableSleep,
  backoffDelayMs,
  retryWithBackoff,
  runBackoff,
  type AttemptOutcome,
} from '../../activities/inference/retryWithBackoff';

describe('backoffDelayMs', () => {
  it('grows by the factor from the base up to the cap, scaled by full jitter', () => {
    const top = { random: () => 0.999999 };
    const ceilings = [1, 2, 3, 4, 5, 6, 7, 8, 9].map((retry) => Math.round(backoffDelayMs(retry, null, top)));
    expect(ceilings).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    expect(backoffDelayMs(3, null, { random: () => 0.5 })).toBe(1000);
    expect(backoffDelayMs(3, null, { random: () => 0 })).toBe(0);
    expect(backoffDelayMs(2, null, { baseMs: 10, factor: 3, capMs: 25, random: () => 0.999999 })).toBeCloseTo(25, 3);
  });

  it('waits what the server asked for when that is longer, within its own cap', () => {
    expect(backoffDelayMs(1, 7000, { random: () => 0.5 })).toBe(7000);
    expect(backoffDelayMs(1, 10, { random: () => 0.5 })).toBe(250);
    expect(backoffDelayMs(1, 3_600_000, { random: () => 0.5 })).toBe(60_000);
    expect(backoffDelayMs(1, 5000, { retryAfterCapMs: 1000, random: () => 0 })).toBe(1000);
  });
});

describe('runBackoff', () => {
  it('bounds every wait by the run’s maxRetryDelayMs, the server’s Retry-After included', () => {
    const capped = { ...runBackoff({ maxRetryDelayMs: 2000 }), random: () => 0.999999 };
    const ceilings = [1, 2, 3, 4, 5].map((retry) => Math.round(backoffDelayMs(retry, null, capped)));
    expect(ceilings).toEqual([500, 1000, 2000, 2000, 2000]);
    expect(backoffDelayMs(1, 30_000, { ...capped, random: () => 0 })).toBe(2000);
    expect(backoffDelayMs(1, 1500, { ...capped, random: () => 0 })).toBe(1500);
    // A cap above the built-in ones lets the jitter grow past 30 s and the server ask for more than 60 s.
    const wide = { ...runBackoff({ maxRetryDelayMs: 120_000 }), random: () => 0.999999 };
    expect(Math.round(backoffDelayMs(9, null, wide))).toBe(120_000);
    expect(backoffDelayMs(1, 90_000, { ...wide, random: () => 0 })).toBe(90_000);
  });

  it('keeps the built-in caps for a run frozen before the limit existed', () => {
    expect(runBackoff({})).toEqual({});
    expect(Math.round(backoffDelayMs(9, null, { ...runBackoff({}), random: () => 0.999999 }))).toBe(30_000);
    expect(backoffDelayMs(1, 3_600_000, { ...runBackoff({}), random: () => 0 })).toBe(60_000);
  });

  it('waits no longer than the cap between attempts of one request', async () => {
    const delays: number[] = [];
    const result = await retryWithBackoff(
      async () => ({ ok: false, failure: 'x', retryable: true, retryAfterMs: 5000 }),
      {
        maxRetries: 3,
        signal: new AbortController().signal,
        backoff: { ...runBackoff({ maxRetryDelayMs: 100 }), onRetry: ({ delayMs }) => delays.push(delayMs) },
      },
    );
    expect(result.attempts).toBe(4);
    expect(delays).toEqual([100, 100, 100]);
  });
});

describe('abortableSleep', () => {
  it('sleeps, or stops at once on abort', async () => {
    expect(await abortableSleep(1, new AbortController().signal)).toBe(true);
    const controller = new AbortController();
    const sleeping = abortableSleep(3_600_000, controller.signal);
    controller.abort();
    expect(await sleeping).toBe(false);
    expect(await abortableSleep(3_600_000, controller.signal)).toBe(false);
  });
});

describe('retryWithBackoff', () => {
  const fail = (retryable = true, retryAfterMs: number | null = null): AttemptOutcome<string, string> => ({
    ok: false,
    failure: 'no',
    retryable,
    retryAfterMs,
  });

  it('retries until success and counts attempts', async () => {
    const delays: number[] = [];
    const result = await retryWithBackoff(async (n) => (n < 3 ? fail() : { ok: true, value: `on attempt ${n}` }), {
      maxRetries: 5,
      signal: new AbortController().signal,
      backoff: { baseMs: 4, random: () => 0.999999, onRetry: ({ delayMs }) => delays.push(Math.round(delayMs)) },
    });
    expect(result).toEqual({ outcome: { ok: true, value: 'on attempt 3' }, attempts: 3, aborted: false });
    expect(delays).toEqual([4, 8]);
  });

  it('stops after maxRetries retries, and at once on a failure not worth retrying', async () => {
    const signal = new AbortController().signal;
    let calls = 0;
    const exhausted = await retryWithBackoff(async () => (calls++, fail()), {
      maxRetries: 2,
      signal,
      backoff: { baseMs: 1 },
    });
    expect(exhausted.attempts).toBe(3);
    expect(calls).toBe(3);
    expect(exhausted.outcome.ok).toBe(false);

    calls = 0;
    const fatal = await retryWithBackoff(async () => (calls++, fail(false)), {
      maxRetries: 5,
      signal,
      backoff: { baseMs: 1 },
    });
    expect(fatal.attempts).toBe(1);
    expect(calls).toBe(1);

    const once = await retryWithBackoff(async () => fail(), { maxRetries: 0, signal, backoff: { baseMs: 1 } });
    expect(once.attempts).toBe(1);
  });

  it('passes the server-requested wait to the back-off', async () => {
    const delays: number[] = [];
    await retryWithBackoff(async (n) => (n === 1 ? fail(true, 30) : { ok: true, value: 'x' }), {
      maxRetries: 1,
      signal: new AbortController().signal,
      backoff: { baseMs: 1, onRetry: ({ delayMs }) => delays.push(delayMs) },
    });
    expect(delays).toEqual([30]);
  });

  it('gives up during a wait when aborted, reporting the last failure', async () => {
    const controller = new AbortController();
    const result = await retryWithBackoff(async () => fail(), {
      maxRetries: 3,
      signal: controller.signal,
      backoff: { baseMs: 3_600_000, random: () => 0.5, onRetry: () => controller.abort() },
    });
    expect(result).toMatchObject({ attempts: 1, aborted: true, outcome: { ok: false, failure: 'no' } });
  });
});
