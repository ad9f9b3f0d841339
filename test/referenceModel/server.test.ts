/**
 * The reference model through real HTTP: the `openai` package must parse everything it sends, and
 * every knob must show from outside, through the SDK and through plain fetch.
 */
import http from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import OpenAI, {
  APIConnectionTimeoutError,
  AuthenticationError,
  InternalServerError,
  NotFoundError,
  RateLimitError,
} from 'openai';
import { startReferenceModel, type ReferenceModel } from '../../stack/referenceModel/server';
import { DEFAULT_KNOBS } from '../../stack/referenceModel/knobs';

let model: ReferenceModel;
let client: OpenAI;
let root: string;

beforeAll(async () => {
  model = await startReferenceModel({ port: 0 });
  client = new OpenAI({ baseURL: model.url, apiKey: 'test-key', maxRetries: 0, timeout: 10_000 });
  root = model.url.replace(/\/v1$/, '');
});

afterAll(async () => {
  await model?.close();
});

beforeEach(() => {
  model.resetKnobs();
});

const ADD = 'Compute 12 + 7. Reply with the number only.';
const PROMPTS: [string, string][] = [
  [ADD, '19'],
  ['Compute -6 * 7. Reply with the number only.', '-42'],
  ['Which of the following equals 9 - 4?\nA. 6\nB. 4\nC. 5\nD. 13\nAnswer with the letter of the correct option.', 'C'],
  ['Convert 1.5 hours to minutes. Reply with the number only.', '90'],
  ['Convert 2500 milliliters to liters. Reply with the number only.', '2.5'],
  ['Reverse the letters of the word "orchestra". Reply with the reversed word only.', 'artsehcro'],
];

async function chat(prompt: string, extra: Partial<OpenAI.Chat.ChatCompletionCreateParamsNonStreaming> = {}) {
  return client.chat.completions.create({
    model: 'proctor-reference',
    messages: [{ role: 'user', content: prompt }],
    ...extra,
  });
}

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${model.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

const chatBody = (prompt: string, extra: object = {}) => ({
  model: 'proctor-reference',
  messages: [{ role: 'user', content: prompt }],
  ...extra,
});

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`never happened: ${what}`);
}

describe('OpenAI-compatible endpoints', () => {
  it('lists its model and answers health checks', async () => {
    const page = await client.models.list();
    expect(page.data.map((m) => m.id)).toEqual(['proctor-reference']);
    expect((await client.models.retrieve('proctor-reference')).id).toBe('proctor-reference');
    await expect(client.models.retrieve('gpt-17')).rejects.toBeInstanceOf(NotFoundError);
    const health = await fetch(`${root}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok', model: 'proctor-reference' });
  });

  it('answers chat completions in the real response shape', async () => {
    model.setKnobs({ skill: 1 });
    const before = Math.floor(Date.now() / 1000);
    const response = await chat(ADD);
    expect(response).toMatchObject({
      object: 'chat.completion',
      model: 'proctor-reference',
      choices: [{ index: 0, message: { role: 'assistant', content: '19' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 9, completion_tokens: 1, total_tokens: 10 },
    });
    expect(response.id).toMatch(/^chatcmpl-/);
    expect(response.created).toBeGreaterThanOrEqual(before);
  });

  it('solves every built-in template through both chat and completions', async () => {
    model.setKnobs({ skill: 1 });
    for (const [prompt, answer] of PROMPTS) {
      expect((await chat(prompt)).choices[0]!.message.content, prompt).toBe(answer);
      const completion = await client.completions.create({ model: 'proctor-reference', prompt });
      expect(completion.object).toBe('text_completion');
      expect(completion.choices[0]!.text, prompt).toBe(answer);
    }
  });

  it('answers the last user message, whatever came before it', async () => {
    model.setKnobs({ skill: 1 });
    const response = await client.chat.completions.create({
      model: 'proctor-reference',
      messages: [
        { role: 'system', content: 'You are a careful assistant.' },
        { role: 'user', content: 'Compute 1 + 1. Reply with the number only.' },
        { role: 'assistant', content: '2' },
        { role: 'user', content: [{ type: 'text', text: ADD }] },
      ],
    });
    expect(response.choices[0]!.message.content).toBe('19');
    expect(response.usage!.prompt_tokens).toBe(5 + 9 + 1 + 9);
  });

  it('honours max_tokens by cutting the answer and saying so', async () => {
    model.setKnobs({ skill: 1, verbose: true });
    const full = await chat(ADD);
    expect(full.usage!.completion_tokens).toBeGreaterThan(3);
    const cut = await chat(ADD, { max_tokens: 3 });
    expect(cut.choices[0]!.finish_reason).toBe('length');
    expect(cut.usage!.completion_tokens).toBe(3);
    expect(cut.choices[0]!.message.content!.split(/\s+/)).toHaveLength(3);
    expect(full.choices[0]!.message.content!.startsWith(cut.choices[0]!.message.content!)).toBe(true);
  });

  it('rejects unknown models with a 404 in the OpenAI error shape', async () => {
    const res = await post('/chat/completions', { ...chatBody(ADD), model: 'gpt-17' });
    expect(res.status).toBe(404);
    const body = (await res.json()) as { error: { message: string; type: string; code: string } };
    expect(body.error).toMatchObject({ type: 'invalid_request_error', code: 'model_not_found' });
    expect(body.error.message).toContain('gpt-17');
    await expect(client.completions.create({ model: 'gpt-17', prompt: ADD })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('rejects malformed requests with 400', async () => {
    expect((await post('/chat/completions', '{not json')).status).toBe(400);
    expect((await post('/chat/completions', { model: 'proctor-reference' })).status).toBe(400);
    expect((await post('/chat/completions', { ...chatBody(ADD), n: 2 })).status).toBe(400);
    expect((await post('/chat/completions', { ...chatBody(ADD), max_tokens: 0 })).status).toBe(400);
    expect((await post('/completions', { model: 'proctor-reference' })).status).toBe(400);
    expect((await fetch(`${model.url}/chat/completions`)).status).toBe(405);
    expect((await fetch(`${model.url}/embeddings`, { method: 'POST' })).status).toBe(404);
  });
});

describe('skill and seed', () => {
  const arithmetic = Array.from({ length: 200 }, (_, i) => `Compute ${i} + ${i * 3}. Reply with the number only.`);
  const answersFor = async (prompts: string[]) =>
    Promise.all(prompts.map(async (p) => (await chat(p)).choices[0]!.message.content));

  it('skill 1 is always right and skill 0 always wrong, on every template', async () => {
    model.setKnobs({ skill: 1 });
    expect(await answersFor(PROMPTS.map(([p]) => p))).toEqual(PROMPTS.map(([, a]) => a));
    model.setKnobs({ skill: 0 });
    const wrong = await answersFor(PROMPTS.map(([p]) => p));
    wrong.forEach((answer, i) => expect(answer, PROMPTS[i]![0]).not.toBe(PROMPTS[i]![1]));
  });

  it('gets the same prompt right or wrong every time for one seed, and differently for another', async () => {
    model.setKnobs({ skill: 0.5, seed: 3 });
    const first = await answersFor(arithmetic);
    expect(await answersFor(arithmetic)).toEqual(first);
    const right = first.filter((a, i) => a === String(i * 4)).length;
    expect(right).toBeGreaterThan(60);
    expect(right).toBeLessThan(140);
    model.setKnobs({ seed: 4 });
    expect(await answersFor(arithmetic)).not.toEqual(first);
  });

  it('explains and ends with "Answer: X" when verbose', async () => {
    model.setKnobs({ skill: 1, verbose: true });
    const content = (await chat(ADD)).choices[0]!.message.content!;
    expect(content).toMatch(/^.+\nAnswer: 19$/s);
  });
});

describe('fault knobs', () => {
  it('answers errorStatus at errorRate, reproducibly per seed', async () => {
    model.setKnobs({ errorRate: 1, errorStatus: 503 });
    const res = await post('/chat/completions', chatBody(ADD));
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { type: string } }).error.type).toBe('server_error');
    await expect(chat(ADD)).rejects.toBeInstanceOf(InternalServerError);

    const prompts = Array.from({ length: 40 }, (_, i) => `Compute ${i} * 2. Reply with the number only.`);
    const statuses = async () =>
      Promise.all(prompts.map(async (p) => (await post('/chat/completions', chatBody(p))).status));
    model.setKnobs({ errorRate: 0.5, errorStatus: 500, seed: 9 });
    const first = await statuses();
    expect(first.filter((s) => s === 500).length).toBeGreaterThan(5);
    expect(first.filter((s) => s === 200).length).toBeGreaterThan(5);
    model.setKnobs({ seed: 9 }); // knobs changed: attempt numbers start again, so the same draws come back
    expect(await statuses()).toEqual(first);
  });

  it('rate-limits with 429 and Retry-After', async () => {
    model.setKnobs({ rateLimitRate: 1, retryAfterSeconds: 7 });
    const res = await post('/chat/completions', chatBody(ADD));
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('7');
    expect(res.headers.get('retry-after-ms')).toBe('7000');
    const error = await chat(ADD).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitError);
    expect((error as RateLimitError).headers.get('retry-after')).toBe('7');
  });

  it('answers bucketRatePerSecond requests a second from a token bucket and refuses the rest with the wait for the next token', async () => {
    // 2 a second, a burst of 3: three go at once, the fourth is refused for about half a second.
    model.setKnobs({ bucketRatePerSecond: 2, bucketBurst: 3 });
    const before = model.stats().bucketRefused;
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await post('/chat/completions', chatBody(ADD))).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const refused = await post('/chat/completions', chatBody(ADD));
    expect(refused.status).toBe(429);
    const waitMs = Number(refused.headers.get('retry-after-ms'));
    expect(waitMs).toBeGreaterThan(0);
    expect(waitMs).toBeLessThanOrEqual(500);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(model.stats().bucketRefused - before).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, waitMs + 20));
    expect((await post('/chat/completions', chatBody(ADD))).status).toBe(200);
  });

  it('requires the API key when told to, on every /v1 route', async () => {
    model.setKnobs({ requiredApiKey: 'sk-right', skill: 1 });
    expect((await post('/chat/completions', chatBody(ADD))).status).toBe(401);
    const wrong = await post('/chat/completions', chatBody(ADD), { authorization: 'Bearer sk-wrong' });
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { error: { code: string } }).error.code).toBe('invalid_api_key');
    expect((await post('/chat/completions', chatBody(ADD), { authorization: 'Bearer sk-right' })).status).toBe(200);
    expect((await fetch(`${model.url}/models`)).status).toBe(401);
    await expect(chat(ADD)).rejects.toBeInstanceOf(AuthenticationError);
    const keyed = new OpenAI({ baseURL: model.url, apiKey: 'sk-right', maxRetries: 0 });
    expect(
      (await keyed.chat.completions.create(chatBody(ADD) as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming))
        .choices[0]!.message.content,
    ).toBe('19');
  });

  it('sends a 200 whose body is not JSON at malformedRate', async () => {
    model.setKnobs({ malformedRate: 1 });
    const res = await post('/chat/completions', chatBody(ADD));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    const text = await res.text();
    expect(() => JSON.parse(text)).toThrow(SyntaxError);
    await expect(chat(ADD)).rejects.toBeInstanceOf(SyntaxError);
  });

  it('cuts the body off mid-way at truncatedRate', async () => {
    model.setKnobs({ truncatedRate: 1 });
    const res = await post('/chat/completions', chatBody(ADD));
    expect(res.status).toBe(200);
    expect(Number(res.headers.get('content-length'))).toBeGreaterThan(20);
    await expect(res.text()).rejects.toThrow();
    await expect(chat(ADD)).rejects.toThrow();
  });

  it('sends no choices at emptyChoicesRate', async () => {
    model.setKnobs({ emptyChoicesRate: 1 });
    const response = await chat(ADD);
    expect(response.choices).toEqual([]);
  });

  it('never answers at hangRate, so the client times out; the server lets go when the client does', async () => {
    model.setKnobs({ hangRate: 1 });
    const impatient = new OpenAI({ baseURL: model.url, apiKey: 'x', maxRetries: 0, timeout: 200 });
    const before = model.stats().requests;
    await expect(
      impatient.chat.completions.create(chatBody(ADD) as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming),
    ).rejects.toBeInstanceOf(APIConnectionTimeoutError);
    expect(model.stats().requests).toBe(before + 1);
    await until(() => model.stats().inFlight === 0, 'the hung request was released');
  });

  it('waits latencyMs plus jitter before answering', async () => {
    model.setKnobs({ latencyMs: 150, jitterMs: 50, skill: 1 });
    const started = performance.now();
    expect((await chat(ADD)).choices[0]!.message.content).toBe('19');
    expect(performance.now() - started).toBeGreaterThanOrEqual(145);
  });

  it("counts the latency from the request's arrival, the time spent receiving the body included", async () => {
    model.setKnobs({ latencyMs: 600, skill: 1 });
    const before = model.stats();
    const body = JSON.stringify(chatBody(ADD));
    const started = performance.now();
    const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request(
        `${model.url}/chat/completions`,
        { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString('utf8')));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      // Half the body now, the rest 400 ms later: a slow client's upload is part of the 600 ms.
      req.write(body.slice(0, 10));
      setTimeout(() => req.end(body.slice(10)), 400);
    });
    const elapsed = performance.now() - started;
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text).choices[0].message.content).toBe('19');
    expect(elapsed).toBeGreaterThanOrEqual(599.5);
    // Counted after the body, it would be 1,000 ms.
    expect(elapsed).toBeLessThan(900);
    const after = model.stats();
    expect(after.answered).toBe(before.answered + 1);
    // To within half a millisecond, the resolution of the timers it waits with.
    expect(after.answeringMsTotal - before.answeringMsTotal).toBeGreaterThanOrEqual(599.5);
    expect(after.answeringMsTotal - before.answeringMsTotal).toBeLessThan(elapsed + 1);
  });

  it('fails the first N attempts of each prompt, counted per prompt', async () => {
    model.setKnobs({ failFirstAttempts: 2, errorStatus: 502, skill: 1 });
    const other = 'Compute 1 + 2. Reply with the number only.';
    const status = async (prompt: string) => (await post('/chat/completions', chatBody(prompt))).status;
    expect([
      await status(ADD),
      await status(other),
      await status(ADD),
      await status(ADD),
      await status(other),
      await status(other),
    ]).toEqual([502, 502, 502, 200, 502, 200]);
    expect(await status(ADD)).toBe(200);
    model.setKnobs({ failFirstAttempts: 1 });
    expect([await status(ADD), await status(ADD)]).toEqual([502, 200]);
  });
});

describe('streaming', () => {
  it('streams chat chunks the SDK reassembles, with usage on request', async () => {
    model.setKnobs({ skill: 1, verbose: true });
    const expected = (await chat(ADD)).choices[0]!.message.content;
    const stream = await client.chat.completions.create({
      ...chatBody(ADD),
      stream: true,
      stream_options: { include_usage: true },
    } as OpenAI.Chat.ChatCompletionCreateParamsStreaming);
    let text = '';
    const finishes: (string | null)[] = [];
    let usage: OpenAI.CompletionUsage | null | undefined;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks += 1;
      expect(chunk.object).toBe('chat.completion.chunk');
      for (const c of chunk.choices) {
        text += c.delta.content ?? '';
        finishes.push(c.finish_reason);
      }
      usage = chunk.usage ?? usage;
    }
    expect(text).toBe(expected);
    expect(chunks).toBeGreaterThan(3);
    expect(finishes.at(-1)).toBe('stop');
    expect(usage?.completion_tokens).toBe(expected!.split(/\s+/).length);
  });

  it('streams completions too, as SSE events ending in [DONE]', async () => {
    model.setKnobs({ skill: 1 });
    const res = await post('/completions', { model: 'proctor-reference', prompt: ADD, stream: true });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const raw = await res.text();
    const events = raw.split('\n\n').filter(Boolean);
    expect(events.at(-1)).toBe('data: [DONE]');
    const chunks = events.slice(0, -1).map((e) => {
      expect(e.startsWith('data: ')).toBe(true);
      return JSON.parse(e.slice(6)) as { object: string; choices: { text: string }[] };
    });
    expect(chunks.every((c) => c.object === 'text_completion')).toBe(true);
    expect(chunks.map((c) => c.choices.map((x) => x.text).join('')).join('')).toBe('19');
  });

  it('pauses streamChunkDelayMs between chunks', async () => {
    model.setKnobs({ skill: 1, verbose: true, streamChunkDelayMs: 20 });
    const started = performance.now();
    const raw = await (await post('/chat/completions', chatBody(ADD, { stream: true }))).text();
    const chunks = raw.split('\n\n').filter((e) => e.startsWith('data: {')).length;
    expect(chunks).toBeGreaterThan(5);
    expect(performance.now() - started).toBeGreaterThanOrEqual((chunks - 1) * 20 - 5);
  });

  it('breaks off a stream at truncatedRate and garbles it at malformedRate', async () => {
    model.setKnobs({ skill: 1, verbose: true, truncatedRate: 1 });
    const truncated = await client.chat.completions.create({
      ...chatBody(ADD),
      stream: true,
    } as OpenAI.Chat.ChatCompletionCreateParamsStreaming);
    await expect(
      (async () => {
        for await (const _ of truncated) void _;
      })(),
    ).rejects.toThrow();

    model.setKnobs({ truncatedRate: 0, malformedRate: 1 });
    const garbled = await client.chat.completions.create({
      ...chatBody(ADD),
      stream: true,
    } as OpenAI.Chat.ChatCompletionCreateParamsStreaming);
    await expect(
      (async () => {
        for await (const _ of garbled) void _;
      })(),
    ).rejects.toThrow();
  });
});

describe('admin endpoints', () => {
  it('reads, changes and resets knobs, and validates them', async () => {
    const get = async () => (await (await fetch(`${root}/_admin/knobs`)).json()) as Record<string, unknown>;
    expect(await get()).toEqual(DEFAULT_KNOBS);

    const put = await fetch(`${root}/_admin/knobs`, {
      method: 'PUT',
      body: JSON.stringify({ errorRate: 0.25, verbose: true, requiredApiKey: 'k' }),
    });
    expect(put.status).toBe(200);
    expect(await get()).toMatchObject({
      errorRate: 0.25,
      verbose: true,
      requiredApiKey: 'k',
      skill: DEFAULT_KNOBS.skill,
    });
    expect(model.knobs().errorRate).toBe(0.25);

    const bad = await fetch(`${root}/_admin/knobs`, {
      method: 'PUT',
      body: JSON.stringify({ errorRate: 1.5, latencyMs: -1, nonsense: true, seed: 'x' }),
    });
    expect(bad.status).toBe(400);
    const problems = ((await bad.json()) as { error: { problems: { field: string }[] } }).error.problems
      .map((p) => p.field)
      .sort();
    expect(problems).toEqual(['errorRate', 'latencyMs', 'nonsense', 'seed']);
    expect((await fetch(`${root}/_admin/knobs`, { method: 'PUT', body: 'nope' })).status).toBe(400);
    expect((await fetch(`${root}/_admin/knobs`, { method: 'PUT', body: '[1]' })).status).toBe(400);
    expect(model.knobs().errorRate).toBe(0.25); // a rejected change changes nothing

    const reset = await fetch(`${root}/_admin/knobs/reset`, { method: 'POST' });
    expect(reset.status).toBe(200);
    expect(await get()).toEqual(DEFAULT_KNOBS);
  });

  it('rejects invalid knobs in process too', async () => {
    expect(() => model.setKnobs({ skill: 2 })).toThrow(/skill/);
    await expect(startReferenceModel({ port: 0, knobs: { errorStatus: 200 } })).rejects.toThrow(/errorStatus/);
  });

  it('counts inference requests by status', async () => {
    const before = model.stats();
    model.setKnobs({ failFirstAttempts: 1, errorStatus: 500 });
    await post('/chat/completions', chatBody(ADD));
    await post('/chat/completions', chatBody(ADD));
    await post('/completions', { model: 'nope', prompt: ADD });
    const stats = (await (await fetch(`${root}/_admin/stats`)).json()) as ReturnType<ReferenceModel['stats']>;
    expect(stats.requests).toBe(before.requests + 3);
    expect(stats.byStatus['500']).toBe((before.byStatus['500'] ?? 0) + 1);
    expect(stats.byStatus['200']).toBe((before.byStatus['200'] ?? 0) + 1);
    expect(stats.byStatus['404']).toBe((before.byStatus['404'] ?? 0) + 1);
    expect(stats.inFlight).toBe(0);
    expect(model.stats()).toEqual(stats);
  });
});

it('closes promptly even with a request hanging', async () => {
  const other = await startReferenceModel({ port: 0, knobs: { hangRate: 1 } });
  const pending = fetch(`${other.url}/chat/completions`, { method: 'POST', body: JSON.stringify(chatBody(ADD)) }).catch(
    (e: unknown) => e,
  );
  await until(() => other.stats().inFlight === 1, 'the request arrived');
  await other.close();
  expect(await pending).toBeInstanceOf(Error);
  await expect(fetch(`${other.url}/models`)).rejects.toThrow();
});
