/**
 * Every fault the reference model can produce, seen through the real client, lands in the right
 * kind with a message a user can act on.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startReferenceModel, type ReferenceModel } from '../../stack/referenceModel/server';
import { createModelEndpoint, type ModelEndpointOptions } from '../../activities/inference/modelEndpoint';
import {
  InferenceError,
  classifyInferenceError,
  redact,
  retryAfter,
  type InferenceErrorKind,
} from '../../activities/inference/inferenceErrors';
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
});

const PROMPT = 'Compute 12 + 7. Reply with the number only.';
const PARAMS: InferenceParams = { maxTokens: 64, temperature: 0, topP: 1 };

async function failure(
  options: Partial<ModelEndpointOptions> = {},
  params: InferenceParams = PARAMS,
  signal = new AbortController().signal,
) {
  const endpoint = createModelEndpoint({
    endpoint: model.url,
    apiKey: null,
    onlineModelName: 'proctor-reference',
    apiMode: 'chat',
    requestTimeoutMs: 5000,
    ...options,
  });
  const error = await endpoint.complete(PROMPT, params, signal).then(
    (output) => {
      throw new Error(`expected a failure, got ${JSON.stringify(output)}`);
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InferenceError);
  // What the endpoint threw and what the classifier makes of it agree.
  const c = classifyInferenceError(error);
  expect(c).toEqual({
    kind: (error as InferenceError).kind,
    retryable: (error as InferenceError).retryable,
    retryAfterMs: (error as InferenceError).retryAfterMs,
    message: (error as InferenceError).message,
  });
  return c;
}

function expectKind(c: { kind: InferenceErrorKind; retryable: boolean }, kind: InferenceErrorKind, retryable: boolean) {
  expect({ kind: c.kind, retryable: c.retryable }).toEqual({ kind, retryable });
}

describe('classifying faults from a real endpoint', () => {
  it('5xx is a retryable server error that names the status and the body', async () => {
    model.setKnobs({ errorRate: 1, errorStatus: 500 });
    const c = await failure();
    expectKind(c, 'server', true);
    expect(c.message).toMatch(/^HTTP 500 from the model endpoint: injected failure/);
    model.setKnobs({ errorStatus: 503 });
    expect((await failure()).message).toMatch(/^HTTP 503 /);
  });

  it('429 is rate limiting, with the wait the server asked for', async () => {
    model.setKnobs({ rateLimitRate: 1, retryAfterSeconds: 7 });
    const c = await failure();
    expectKind(c, 'rate_limited', true);
    expect(c.retryAfterMs).toBe(7000);
    expect(c.message).toMatch(/^HTTP 429 /);
    model.setKnobs({ retryAfterSeconds: 0.25 });
    expect((await failure()).retryAfterMs).toBe(250);
  });

  it('401 and 403 are auth failures, not retried', async () => {
    model.setKnobs({ requiredApiKey: 'sk-needed' });
    const c = await failure({ apiKey: 'sk-other' });
    expectKind(c, 'auth', false);
    expect(c.message).toMatch(/^HTTP 401 .*check the API key/);
    model.setKnobs({ requiredApiKey: null, errorRate: 1, errorStatus: 403 });
    expectKind(await failure(), 'auth', false);
  });

  it('404 (an unknown model) is not_found, not retried', async () => {
    const c = await failure({ onlineModelName: 'gpt-17' });
    expectKind(c, 'not_found', false);
    expect(c.message).toMatch(/^HTTP 404 .*gpt-17/);
  });

  it('400 and 422 are bad requests, not retried', async () => {
    expectKind(await failure({}, { ...PARAMS, maxTokens: 0 }), 'bad_request', false);
    model.setKnobs({ errorRate: 1, errorStatus: 422 });
    const c = await failure();
    expectKind(c, 'bad_request', false);
    expect(c.message).toMatch(/^HTTP 422 /);
  });

  it('a body that is not JSON, or is cut off, is malformed and retryable', async () => {
    model.setKnobs({ malformedRate: 1 });
    const malformed = await failure();
    expectKind(malformed, 'malformed', true);
    expect(malformed.message).toMatch(/^malformed response: /);
    model.setKnobs({ malformedRate: 0, truncatedRate: 1 });
    const truncated = await failure();
    expectKind(truncated, 'malformed', true);
    expect(truncated.message).toMatch(/^malformed response: .*cut off/);
  });

  it('no choices is empty and retryable, in chat and completion mode', async () => {
    model.setKnobs({ emptyChoicesRate: 1 });
    const c = await failure();
    expectKind(c, 'empty', true);
    expect(c.message).toBe('response had no choices');
    expectKind(await failure({ apiMode: 'completion' }), 'empty', true);
  });

  it('a hung request is a timeout that says how long we waited', async () => {
    model.setKnobs({ hangRate: 1 });
    const c = await failure({ requestTimeoutMs: 200 });
    expectKind(c, 'timeout', true);
    expect(c.message).toBe('no response within 200 ms');
  });

  it('nobody listening is a connection failure', async () => {
    const port = await freePort();
    const c = await failure({ endpoint: `http://127.0.0.1:${port}/v1` });
    expectKind(c, 'connection', true);
    expect(c.message).toBe('connection refused (ECONNREFUSED)');
    // Port 9 is one fetch will not even try; still a connection failure, and it says so.
    const blocked = await failure({ endpoint: 'http://127.0.0.1:9/v1' });
    expectKind(blocked, 'connection', true);
    expect(blocked.message).toMatch(/connection/);
  });

  it('an aborted request is aborted, not retried', async () => {
    model.setKnobs({ latencyMs: 60_000 });
    const controller = new AbortController();
    const pending = failure({}, PARAMS, controller.signal);
    await until(() => model.stats().inFlight === 1);
    controller.abort();
    expectKind(await pending, 'aborted', false);
    await until(() => model.stats().inFlight === 0);
  });

  it('keeps the API key out of every message, even when the endpoint echoes it', async () => {
    const key = 'sk-secret-XYZ';
    model.setKnobs({ requiredApiKey: 'sk-needed' });
    const echoed = await failure({ apiKey: key });
    expect(echoed.message).toContain('Incorrect API key provided');
    expect(echoed.message).not.toContain(key);
    // And through the model lookup, whose failure is reported with its own explanation.
    const lookup = await failure({ apiKey: key, onlineModelName: null });
    expect(lookup.message).toMatch(/list the endpoint's models/);
    expect(lookup.message).not.toContain(key);
  });
});

describe('classifying without an endpoint', () => {
  it('reads Retry-After-Ms, Retry-After in seconds and as a date', () => {
    expect(retryAfter(new Headers({ 'retry-after-ms': '1500', 'retry-after': '9' }))).toBe(1500);
    expect(retryAfter(new Headers({ 'retry-after': '3' }))).toBe(3000);
    const inAMinute = new Date(Date.now() + 60_000).toUTCString();
    const fromDate = retryAfter(new Headers({ 'retry-after': inAMinute }))!;
    expect(fromDate).toBeGreaterThan(55_000);
    expect(fromDate).toBeLessThanOrEqual(60_000);
    expect(retryAfter(new Headers({ 'retry-after': 'soon' }))).toBeNull();
    expect(retryAfter(new Headers())).toBeNull();
  });

  it('redacts the key and any bearer token', () => {
    expect(redact('bad key sk-abc in sk-abc', ['sk-abc'])).toBe('bad key [redacted] in [redacted]');
    expect(redact('sent Authorization: Bearer tok.123', [])).toBe('sent Authorization: Bearer [redacted]');
    expect(
      classifyInferenceError(new InferenceError('server', 'HTTP 500: key k-123 rejected'), { secrets: ['k-123'] })
        .message,
    ).toBe('HTTP 500: key [redacted] rejected');
  });

  it('treats an unknown error as a retryable malformed response rather than throwing', () => {
    const c = classifyInferenceError(new Error('something odd'));
    expectKind(c, 'malformed', true);
    expect(c.message).toContain('something odd');
    expectKind(classifyInferenceError(new DOMException('stop', 'AbortError')), 'aborted', false);
  });
});

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('condition never held');
}
