/** One sample's inference with retries, against the reference model's faults. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startReferenceModel, type ReferenceModel } from '../../stack/referenceModel/server';
import {
  createModelEndpoint,
  type ModelEndpoint,
  type ModelEndpointOptions,
} from '../../activities/inference/modelEndpoint';
import { inferWithRetries, type InferenceOutcome } from '../../activities/inference/inferWithRetries';
import type { BackoffOptions } from '../../activities/inference/retryWithBackoff';
import type { InferenceParams } from '../../contracts/evaluation';
import { freePort } from '../support/ports';

let model: ReferenceModel;

beforeAll(async () => {
  model = await startReferenceModel({ port: 0 });
});

afterAll(async () => {
  await model?.close();
});

beforeEach(() => {
  model.resetKnobs();
  model.setKnobs({ skill: 1 });
});

const PROMPT = 'Compute 12 + 7. Reply with the number only.';
const PARAMS: InferenceParams = { maxTokens: 64, temperature: 0, topP: 1 };
const FAST: BackoffOptions = { baseMs: 2, capMs: 20 };

function endpointFor(options: Partial<ModelEndpointOptions> = {}): ModelEndpoint {
  return createModelEndpoint({
    endpoint: model.url,
    apiKey: null,
    onlineModelName: 'proctor-reference',
    apiMode: 'chat',
    requestTimeoutMs: 5000,
    ...options,
  });
}

function infer(o: {
  maxRetries: number;
  signal?: AbortSignal;
  backoff?: BackoffOptions;
  endpoint?: ModelEndpoint;
  prompt?: string;
}): Promise<InferenceOutcome> {
  return inferWithRetries(o.endpoint ?? endpointFor(), o.prompt ?? PROMPT, PARAMS, {
    maxRetries: o.maxRetries,
    signal: o.signal ?? new AbortController().signal,
    backoff: o.backoff ?? FAST,
  });
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('condition never held');
}

describe('inferWithRetries', () => {
  it('answers on the first attempt when all is well', async () => {
    const outcome = await infer({ maxRetries: 3 });
    expect(outcome).toMatchObject({ ok: true, text: '19', outputTokens: 1, attempts: 1 });
    expect(outcome.latencyMs).toBeGreaterThan(0);
  });

  it('retries through failing first attempts and succeeds', async () => {
    model.setKnobs({ failFirstAttempts: 2, errorStatus: 503 });
    expect(await infer({ maxRetries: 3 })).toMatchObject({ ok: true, text: '19', attempts: 3 });
    // The same prompt now succeeds at once: attempts are counted per prompt by the server.
    expect(await infer({ maxRetries: 3 })).toMatchObject({ ok: true, attempts: 1 });
  });

  it('gives up after maxRetries retries with the last reason', async () => {
    model.setKnobs({ failFirstAttempts: 5, errorStatus: 500 });
    const before = model.stats().requests;
    const outcome = await infer({ maxRetries: 2 });
    expect(outcome).toMatchObject({ ok: false, kind: 'server', attempts: 3 });
    expect(outcome.ok === false && outcome.reason).toMatch(/^HTTP 500 from the model endpoint/);
    expect(model.stats().requests - before).toBe(3);
  });

  it('makes exactly one attempt with maxRetries 0', async () => {
    model.setKnobs({ errorRate: 1 });
    expect(await infer({ maxRetries: 0 })).toMatchObject({ ok: false, kind: 'server', attempts: 1 });
  });

  it('does not retry what retrying cannot fix', async () => {
    const before = model.stats().requests;
    const outcome = await infer({ maxRetries: 3, endpoint: endpointFor({ onlineModelName: 'gpt-17' }) });
    expect(outcome).toMatchObject({ ok: false, kind: 'not_found', attempts: 1 });
    expect(model.stats().requests - before).toBe(1);
  });

  it('waits at least as long as Retry-After asks before retrying a 429', async () => {
    model.setKnobs({ failFirstAttempts: 1, errorStatus: 429, retryAfterSeconds: 0.3 });
    const delays: number[] = [];
    const outcome = await infer({
      maxRetries: 2,
      backoff: { ...FAST, onRetry: ({ delayMs }) => delays.push(delayMs) },
    });
    expect(outcome).toMatchObject({ ok: true, attempts: 2 });
    expect(delays).toEqual([300]);
    expect(outcome.latencyMs).toBeGreaterThanOrEqual(295);

    model.setKnobs({ failFirstAttempts: 0, rateLimitRate: 1, retryAfterSeconds: 0.05 });
    const limited = await infer({ maxRetries: 1 });
    expect(limited).toMatchObject({ ok: false, kind: 'rate_limited', attempts: 2 });
    expect(limited.ok === false && limited.reason).toMatch(/429/);
  });

  it('times out a hung request and retries it', async () => {
    model.setKnobs({ hangRate: 1 });
    const outcome = await infer({ maxRetries: 1, endpoint: endpointFor({ requestTimeoutMs: 200 }) });
    expect(outcome).toMatchObject({ ok: false, kind: 'timeout', attempts: 2, reason: 'no response within 200 ms' });
    await until(() => model.stats().inFlight === 0);
  });

  it('retries malformed, truncated and empty answers', async () => {
    for (const knob of ['malformedRate', 'truncatedRate', 'emptyChoicesRate'] as const) {
      model.resetKnobs();
      model.setKnobs({ [knob]: 1 });
      const outcome = await infer({ maxRetries: 1 });
      expect(outcome, knob).toMatchObject({
        ok: false,
        attempts: 2,
        kind: knob === 'emptyChoicesRate' ? 'empty' : 'malformed',
      });
    }
  });

  it('stops promptly, mid-request, when aborted', async () => {
    model.setKnobs({ latencyMs: 60_000 });
    const controller = new AbortController();
    const pending = infer({ maxRetries: 3, signal: controller.signal });
    await until(() => model.stats().inFlight === 1);
    controller.abort();
    // Without the abort this would wait a minute for the server; the test's timeout is shorter.
    expect(await pending).toMatchObject({ ok: false, kind: 'aborted', attempts: 1 });
    await until(() => model.stats().inFlight === 0);
  }, 10_000);

  it('stops promptly, mid-wait, when aborted, and says what failed last', async () => {
    model.setKnobs({ errorRate: 1, errorStatus: 500 });
    const controller = new AbortController();
    const outcome = await infer({
      maxRetries: 3,
      signal: controller.signal,
      backoff: { baseMs: 60_000, random: () => 0.999, onRetry: () => controller.abort() },
    });
    expect(outcome).toMatchObject({ ok: false, kind: 'aborted', attempts: 1 });
    expect(outcome.ok === false && outcome.reason).toMatch(/last error: HTTP 500/);
  }, 10_000);

  it('returns aborted without calling when the signal is already aborted', async () => {
    const before = model.stats().requests;
    const controller = new AbortController();
    controller.abort();
    expect(await infer({ maxRetries: 3, signal: controller.signal })).toMatchObject({
      ok: false,
      kind: 'aborted',
      attempts: 1,
    });
    expect(model.stats().requests).toBe(before);
  });

  it('reports a dead endpoint as a connection failure after its retries', async () => {
    const port = await freePort();
    const refused = await infer({ maxRetries: 1, endpoint: endpointFor({ endpoint: `http://127.0.0.1:${port}/v1` }) });
    expect(refused).toMatchObject({
      ok: false,
      kind: 'connection',
      attempts: 2,
      reason: 'connection refused (ECONNREFUSED)',
    });
    // The address the workflow tests use, with the production back-off.
    const dead = await inferWithRetries(
      endpointFor({ endpoint: 'http://127.0.0.1:9/v1', onlineModelName: null }),
      PROMPT,
      PARAMS,
      { maxRetries: 1, signal: new AbortController().signal },
    );
    expect(dead).toMatchObject({ ok: false, kind: 'connection', attempts: 2 });
    expect(dead.ok === false && dead.reason).toMatch(/connection/i);
  });

  it('never puts the API key in a reason, whatever the fault', async () => {
    const key = 'sk-secret-XYZ';
    const faults: Record<string, object> = {
      auth: { requiredApiKey: 'sk-other' },
      server: { requiredApiKey: key, errorRate: 1 },
      rate: { requiredApiKey: key, rateLimitRate: 1, retryAfterSeconds: 0 },
      malformed: { requiredApiKey: key, malformedRate: 1 },
      truncated: { requiredApiKey: key, truncatedRate: 1 },
      empty: { requiredApiKey: key, emptyChoicesRate: 1 },
      hang: { requiredApiKey: key, hangRate: 1 },
    };
    for (const [name, knobs] of Object.entries(faults)) {
      model.resetKnobs();
      model.setKnobs(knobs);
      for (const onlineModelName of ['proctor-reference', null]) {
        const outcome = await infer({
          maxRetries: 1,
          endpoint: endpointFor({ apiKey: key, onlineModelName, requestTimeoutMs: 200 }),
        });
        expect(outcome.ok, name).toBe(false);
        expect(outcome.ok === false && outcome.reason, name).not.toContain(key);
        expect(outcome.ok === false && outcome.reason, name).not.toContain('XYZ');
      }
    }
    // The auth failure is not retried: the key will not get better.
    model.resetKnobs();
    model.setKnobs({ requiredApiKey: 'sk-other' });
    expect(await infer({ maxRetries: 3, endpoint: endpointFor({ apiKey: key }) })).toMatchObject({
      kind: 'auth',
      attempts: 1,
    });
  });
});
