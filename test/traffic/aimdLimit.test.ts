/**
 * The AIMD limit on its own (time passed in), the gate that applies it to requests, and a
 * simulation of a run against a token-bucket endpoint: the limit settles where the bucket's rate
 * is, with few refusals.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AimdLimit, isNotableChange } from '../../activities/traffic/aimdLimit';
import { AdaptiveGate } from '../../activities/traffic/adaptiveGate';

describe('AimdLimit', () => {
  it('starts at the ceiling, so an endpoint that never refuses sees no change', () => {
    const l = new AimdLimit({ ceiling: 64 });
    expect(l.limit).toBe(64);
    for (let i = 0; i < 1000; i++) l.onSuccess();
    expect(l.limit).toBe(64);
  });

  it('halves on a 429 and grows by about one per round of answers', () => {
    const l = new AimdLimit({ ceiling: 64 });
    expect(l.onRateLimited(0, null, l.currentRound)).toBe(true);
    expect(l.limit).toBe(32);
    for (let i = 0; i < 32; i++) l.onSuccess();
    expect(l.limit).toBe(32);
    for (let i = 0; i < 2; i++) l.onSuccess();
    expect(l.limit).toBe(33);
  });

  it('cuts once per round: 429s of requests sent before the cut do not cut again', () => {
    const l = new AimdLimit({ ceiling: 100 });
    const round = l.currentRound;
    expect(l.onRateLimited(0, null, round)).toBe(true);
    for (let i = 0; i < 40; i++) expect(l.onRateLimited(0, null, round)).toBe(false);
    expect(l.limit).toBe(50);
    expect(l.rateLimited).toBe(41);
    expect(l.onRateLimited(0, null, l.currentRound)).toBe(true);
    expect(l.limit).toBe(25);
  });

  it('never goes below 1 nor above the ceiling', () => {
    const l = new AimdLimit({ ceiling: 4 });
    for (let i = 0; i < 20; i++) l.onRateLimited(0, null, l.currentRound);
    expect(l.limit).toBe(1);
    for (let i = 0; i < 1000; i++) l.onSuccess();
    expect(l.limit).toBe(4);
    expect(new AimdLimit({ ceiling: 0 }).limit).toBe(1);
    expect(new AimdLimit({ ceiling: 8, initial: 50 }).limit).toBe(8);
  });

  it('honours Retry-After: pauses until then, extended by later ones, never shortened', () => {
    const l = new AimdLimit({ ceiling: 8 });
    l.onRateLimited(1000, 2000, l.currentRound);
    expect(l.pauseLeft(1000)).toBe(2000);
    expect(l.pauseLeft(2500)).toBe(500);
    l.onRateLimited(1500, 100, 0);
    expect(l.pausedUntil).toBe(3000);
    l.onRateLimited(2000, 5000, 0);
    expect(l.pausedUntil).toBe(7000);
    expect(l.pauseLeft(8000)).toBe(0);
  });

  it('calls a change notable once the limit has halved or doubled, or is back at the ceiling', () => {
    expect(isNotableChange(64, 32, 64)).toBe(true);
    expect(isNotableChange(64, 33, 64)).toBe(false);
    expect(isNotableChange(16, 32, 64)).toBe(true);
    expect(isNotableChange(16, 31, 64)).toBe(false);
    expect(isNotableChange(40, 64, 64)).toBe(true);
    expect(isNotableChange(64, 64, 64)).toBe(false);
  });

  it('rejects a decrease factor outside (0, 1)', () => {
    expect(() => new AimdLimit({ ceiling: 8, decrease: 1 })).toThrow(RangeError);
    expect(() => new AimdLimit({ ceiling: 8, decrease: 0 })).toThrow(RangeError);
  });

  it('settles near a token bucket’s rate with few 429s (simulated endpoint, 10 ms steps)', () => {
    // Endpoint: answers after 200 ms, refuses with 429 (Retry-After: time to the next token) when
    // its bucket (R per second, a burst of half a second's worth) is empty. Client: up to 128 in flight.
    const R = 100;
    const latencyMs = 200;
    const stepMs = 10;
    const l = new AimdLimit({ ceiling: 128 });
    let tokens = R / 2;
    let inFlight: { endsAt: number; round: number; ok: boolean }[] = [];
    let answered = 0;
    let refused = 0;
    let answeredLate = 0;
    const durationMs = 60_000;
    for (let t = 0; t < durationMs; t += stepMs) {
      tokens = Math.min(R / 2, tokens + (R * stepMs) / 1000);
      for (const r of inFlight.filter((r) => r.endsAt <= t)) {
        if (r.ok) l.onSuccess();
        else l.onRateLimited(t, (1000 / R) * (1 - Math.min(1, tokens)), r.round);
      }
      inFlight = inFlight.filter((r) => r.endsAt > t);
      while (inFlight.length < l.limit && l.pauseLeft(t) === 0) {
        const ok = tokens >= 1;
        if (ok) {
          tokens -= 1;
          answered += 1;
          if (t >= durationMs / 2) answeredLate += 1;
        } else refused += 1;
        inFlight.push({ endsAt: t + (ok ? latencyMs : stepMs), round: l.currentRound, ok });
      }
    }
    const rate = answeredLate / (durationMs / 2 / 1000);
    expect(rate).toBeGreaterThan(0.8 * R);
    expect(rate).toBeLessThanOrEqual(1.02 * R);
    expect(refused / (answered + refused)).toBeLessThan(0.05);
    expect(l.limit).toBeLessThan(128);
  });
});

describe('AdaptiveGate', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('lets in up to the limit and queues the rest in order', async () => {
    const gate = new AdaptiveGate(new AimdLimit({ ceiling: 2 }));
    const signal = new AbortController().signal;
    const a = await gate.enter(signal);
    await gate.enter(signal);
    const order: string[] = [];
    const c = gate.enter(signal).then((t) => (order.push('c'), t));
    const d = gate.enter(signal).then((t) => (order.push('d'), t));
    await vi.advanceTimersByTimeAsync(0);
    expect(gate.active).toBe(2);
    expect(gate.queued).toBe(2);
    gate.leave(a, { kind: 'ok' });
    await c;
    expect(order).toEqual(['c']);
    expect(gate.queued).toBe(1);
    void d;
  });

  it('after a 429 with Retry-After lets no new request in until the pause ends', async () => {
    vi.setSystemTime(0);
    const gate = new AdaptiveGate(new AimdLimit({ ceiling: 4 }));
    const signal = new AbortController().signal;
    const a = await gate.enter(signal);
    gate.leave(a, { kind: 'rate_limited', retryAfterMs: 1000 });
    expect(gate.limit.limit).toBe(2);
    let entered = false;
    const b = gate.enter(signal).then(() => (entered = true));
    await vi.advanceTimersByTimeAsync(999);
    expect(entered).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await b;
    expect(entered).toBe(true);
  });

  it('does not move the limit on other failures (5xx, timeouts)', async () => {
    const gate = new AdaptiveGate(new AimdLimit({ ceiling: 4 }));
    const signal = new AbortController().signal;
    for (let i = 0; i < 10; i++) gate.leave(await gate.enter(signal), { kind: 'other' });
    expect(gate.limit.limit).toBe(4);
    expect(gate.limit.rateLimited).toBe(0);
  });

  it('a queued request ends at once, as aborted, when its signal aborts', async () => {
    const gate = new AdaptiveGate(new AimdLimit({ ceiling: 1 }));
    await gate.enter(new AbortController().signal);
    const stop = new AbortController();
    const waiting = gate.enter(stop.signal);
    stop.abort();
    await expect(waiting).rejects.toMatchObject({ kind: 'aborted' });
    expect(gate.queued).toBe(0);
  });
});
