/**
 * Slow bodies and the request log: an answer whose headers come at once and whose body crawls in
 * over seconds, which only a timeout covering the whole body catches; and the server's own record
 * of each request, which fault tests read to see what a client really did.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import OpenAI, { APIConnectionTimeoutError } from 'openai';
import { startReferenceModel, type ReferenceModel } from '../../stack/referenceModel/server';
import { chooseFault, DEFAULT_KNOBS } from '../../stack/referenceModel/knobs';

const ADD = 'Compute 12 + 7. Reply with the number only.';
const chatBody = (prompt: string, extra: object = {}) => ({
  model: 'proctor-reference',
  messages: [{ role: 'user', content: prompt }],
  ...extra,
});

let model: ReferenceModel;

beforeAll(async () => {
  model = await startReferenceModel({ port: 0 });
});

afterAll(async () => {
  await model?.close();
});

beforeEach(() => {
  model.resetKnobs();
  model.clearRequestLog();
});

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`never happened: ${what}`);
}

describe('slowBodyRate', () => {
  it('is chosen by its own roll, after every other fault', () => {
    const knobs = { ...DEFAULT_KNOBS, slowBodyRate: 1, slowBodyMs: 1234 };
    expect(chooseFault(knobs, ADD, 1)).toEqual({ kind: 'slow_body', durationMs: 1234 });
    expect(chooseFault({ ...knobs, emptyChoicesRate: 1 }, ADD, 1)).toEqual({ kind: 'empty_choices' });
    const some = { ...knobs, slowBodyRate: 0.5 };
    const hits = Array.from({ length: 200 }, (_, i) => chooseFault(some, `prompt ${i}`, 1)).filter(
      (f) => f?.kind === 'slow_body',
    ).length;
    expect(hits).toBeGreaterThan(60);
    expect(hits).toBeLessThan(140);
  });

  it('sends the headers at once and the body in small pieces over slowBodyMs', async () => {
    model.setKnobs({ skill: 1, slowBodyRate: 1, slowBodyMs: 600 });
    const res = await fetch(`${model.url}/chat/completions`, { method: 'POST', body: JSON.stringify(chatBody(ADD)) });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const pieces: Uint8Array[] = [];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      pieces.push(value);
    }
    expect(pieces.length).toBeGreaterThan(5);
    const body = JSON.parse(Buffer.concat(pieces).toString('utf8')) as { choices: { message: { content: string } }[] };
    expect(body.choices[0]!.message.content).toBe('19');
    await until(() => model.requestLog()[0]?.endedAt !== null, 'the answer was logged');
    const [entry] = model.requestLog();
    expect(entry).toMatchObject({ prompt: ADD, attempt: 1, fault: 'slow_body', status: 200, closedBy: 'server' });
    expect(entry!.endedAt! - entry!.receivedAt).toBeGreaterThanOrEqual(590);
  });

  it('is parsed whole by a client whose timeout is longer than the crawl', async () => {
    model.setKnobs({ skill: 1, slowBodyRate: 1, slowBodyMs: 400 });
    const patient = new OpenAI({ baseURL: model.url, apiKey: 'x', maxRetries: 0, timeout: 10_000 });
    const answer = await patient.chat.completions.create(
      chatBody(ADD) as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming,
    );
    expect(answer.choices[0]!.message.content).toBe('19');
  });

  it('times out a client whose timeout is shorter than the crawl, though the headers came at once', async () => {
    model.setKnobs({ skill: 1, slowBodyRate: 1, slowBodyMs: 20_000 });
    const impatient = new OpenAI({ baseURL: model.url, apiKey: 'x', maxRetries: 0, timeout: 300 });
    await expect(
      impatient.chat.completions.create(chatBody(ADD) as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming),
    ).rejects.toBeInstanceOf(APIConnectionTimeoutError);
    await until(() => model.requestLog()[0]?.endedAt !== null, 'the abandoned answer was logged');
    expect(model.requestLog()[0]).toMatchObject({ fault: 'slow_body', status: 200, closedBy: 'client' });
    await until(() => model.stats().inFlight === 0, 'the server let go');
  });

  it('spreads a stream over slowBodyMs too', async () => {
    model.setKnobs({ skill: 1, slowBodyRate: 1, slowBodyMs: 500 });
    const raw = await (
      await fetch(`${model.url}/chat/completions`, {
        method: 'POST',
        body: JSON.stringify(chatBody(ADD, { stream: true })),
      })
    ).text();
    expect(raw.endsWith('data: [DONE]\n\n')).toBe(true);
    await until(() => model.requestLog()[0]?.endedAt !== null, 'the stream was logged');
    const [entry] = model.requestLog();
    expect(entry).toMatchObject({ fault: 'slow_body', status: 200, closedBy: 'server' });
    // Chunks after the first wait slowBodyMs / chunks each.
    const chunks = raw.split('\n\n').filter((e) => e.startsWith('data: {')).length;
    expect(entry!.endedAt! - entry!.receivedAt).toBeGreaterThanOrEqual(((chunks - 1) * 500) / chunks - 10);
  });

  it('rejects a slowBodyMs out of range', () => {
    expect(() => model.setKnobs({ slowBodyMs: -1 })).toThrow(/slowBodyMs/);
  });
});

describe('request log', () => {
  it('records each inference request with its attempt, fault, status and who hung up', async () => {
    model.setKnobs({ failFirstAttempts: 1, errorStatus: 503, skill: 1 });
    const post = () =>
      fetch(`${model.url}/chat/completions`, { method: 'POST', body: JSON.stringify(chatBody(ADD)) }).then((r) =>
        r.text(),
      );
    await post();
    await post();
    model.setKnobs({ failFirstAttempts: 0, rateLimitRate: 1, retryAfterSeconds: 2 });
    const limited = await fetch(`${model.url}/chat/completions`, {
      method: 'POST',
      body: JSON.stringify(chatBody(ADD)),
    });
    expect(limited.headers.get('retry-after')).toBe('2');
    await limited.text();
    await fetch(`${model.url}/models`);
    await until(() => model.requestLog().every((e) => e.endedAt !== null), 'every request was logged');
    const log = model.requestLog();
    expect(log.map((e) => [e.attempt, e.fault, e.status, e.closedBy])).toEqual([
      [1, 'error', 503, 'server'],
      [2, null, 200, 'server'],
      [1, 'rate_limited', 429, 'server'],
    ]);
    expect(log.every((e) => e.prompt === ADD && e.endedAt! >= e.receivedAt)).toBe(true);
    for (let i = 1; i < log.length; i++) expect(log[i]!.receivedAt).toBeGreaterThanOrEqual(log[i - 1]!.receivedAt);
    model.clearRequestLog();
    expect(model.requestLog()).toEqual([]);
  });

  it('marks a truncated answer as the server hanging up, a hung request as the client', async () => {
    model.setKnobs({ truncatedRate: 1 });
    await fetch(`${model.url}/chat/completions`, { method: 'POST', body: JSON.stringify(chatBody(ADD)) })
      .then((r) => r.text())
      .catch(() => null);
    model.setKnobs({ truncatedRate: 0, hangRate: 1 });
    await fetch(`${model.url}/chat/completions`, {
      method: 'POST',
      body: JSON.stringify(chatBody(ADD)),
      signal: AbortSignal.timeout(200),
    }).catch(() => null);
    await until(
      () => model.requestLog().length === 2 && model.requestLog().every((e) => e.endedAt !== null),
      'both were logged',
    );
    expect(model.requestLog().map((e) => [e.fault, e.status, e.closedBy])).toEqual([
      ['truncated', 200, 'server'],
      ['hang', null, 'client'],
    ]);
  });
});
