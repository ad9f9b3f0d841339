/**
 * The inference proxy a custom evaluation image calls: what reaches the model (the real key, the
 * chosen model, never the job's token or headers), what comes back (the answer as sent, with the key
 * cut out; failures as OpenAI-style errors), and what it refuses (bad tokens, revoked ones, refused
 * networks, oversized answers and bodies). Real HTTP on loopback against stand-ins written here.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseDeniedNetworks } from '../../config/endpointNetworks';
import {
  createInferenceProxy,
  type InferenceProxy,
  type JobProxy,
  type ProxyTarget,
} from '../../activities/customImages/inferenceProxy';

const REAL_KEY = 'sk-real-user-key-0123456789';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: unknown;
}

type Handler = (seen: Seen, res: ServerResponse, req: IncomingMessage) => void | Promise<void>;

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

const chatAnswer = (content: string, usage?: object) => ({
  id: 'chatcmpl-standin',
  object: 'chat.completion',
  created: 0,
  model: 'stand-in',
  choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
  ...(usage ? { usage } : {}),
});

/**
 * A model endpoint (or /func service) stand-in: records every request, answers through the handler
 * the test sets, and counts how many requests it holds at once.
 */
async function startStandIn() {
  const seen: Seen[] = [];
  let handler: Handler = (_s, res) => json(res, 200, chatAnswer('hello there'));
  let active = 0;
  let maxActive = 0;
  const closed: Seen[] = [];
  const sockets = new Set<Socket>();
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const s: Seen = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      body: text ? JSON.parse(text) : null,
    };
    seen.push(s);
    active++;
    maxActive = Math.max(maxActive, active);
    res.on('close', () => {
      active--;
      if (!res.writableFinished) closed.push(s);
    });
    await handler(s, res, req);
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    seen,
    /** Requests whose connection closed before an answer was written. */
    closed,
    maxActive: () => maxActive,
    handle(h: Handler) {
      handler = h;
    },
    reset() {
      seen.length = 0;
      closed.length = 0;
      maxActive = 0;
      handler = (_s, res) => json(res, 200, chatAnswer('hello there'));
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

let standIn: Awaited<ReturnType<typeof startStandIn>>;
let proxy: InferenceProxy;
const opened: JobProxy[] = [];

beforeAll(async () => {
  standIn = await startStandIn();
  proxy = createInferenceProxy();
});

afterAll(async () => {
  await proxy?.stop();
  await standIn?.close();
});

beforeEach(() => standIn.reset());
afterEach(() => {
  for (const j of opened.splice(0)) j.close();
});

function openaiTarget(over: Partial<Extract<ProxyTarget, { kind: 'openai' }>> = {}): ProxyTarget {
  return {
    kind: 'openai',
    baseUrl: `${standIn.url}/v1`,
    apiKey: REAL_KEY,
    model: null,
    requestTimeoutMs: 5_000,
    ...over,
  };
}

async function open(target: ProxyTarget, o?: { maxConcurrent?: number }, on = proxy): Promise<JobProxy> {
  const job = await on.open(target, { label: 'test job', ...o });
  opened.push(job);
  return job;
}

interface Reply {
  status: number;
  headers: Headers;
  text: string;
  body: { error?: { message: string; type: string; code: string } } & Record<string, unknown>;
}

async function call(
  job: JobProxy,
  path: string,
  o: { method?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const origin = job.baseUrl.replace(/\/v1$/, '');
  const response = await fetch(`${origin}${path}`, {
    method: o.method ?? (o.body !== undefined || o.raw !== undefined ? 'POST' : 'GET'),
    headers: { [job.headerKey.toLowerCase()]: job.headerValue, 'content-type': 'application/json', ...o.headers },
    body: o.raw ?? (o.body === undefined ? undefined : JSON.stringify(o.body)),
  });
  const text = await response.text();
  let body: Reply['body'];
  try {
    body = JSON.parse(text) as Reply['body'];
  } catch {
    body = {};
  }
  return { status: response.status, headers: response.headers, text, body };
}

const chat = (job: JobProxy, body: object = {}, headers?: Record<string, string>) =>
  call(job, '/v1/chat/completions', {
    body: { model: 'job-model', messages: [{ role: 'user', content: 'Say hello' }], ...body },
    headers,
  });

describe('a job proxy for an OpenAI-compatible endpoint', () => {
  it('gives the job a URL and a per-job token, and a different token to every job', async () => {
    const a = await open(openaiTarget());
    const b = await open(openaiTarget());
    expect(a.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/completions$/);
    expect(a.baseUrl).toBe(a.url.replace(/\/chat\/completions$/, ''));
    // One server for every job of the process.
    expect(b.baseUrl).toBe(a.baseUrl);
    expect(a.headerKey).toBe('Authorization');
    expect(a.headerValue).toBe(`Bearer ${a.token}`);
    expect(a.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(b.token).not.toBe(a.token);
    expect(a.token).not.toContain(REAL_KEY);
  });

  it('sends the real key upstream, never the job’s token or its other headers, and the body as the job sent it', async () => {
    const job = await open(openaiTarget());
    const reply = await chat(
      job,
      { temperature: 0.3, user: 'eval' },
      { 'x-job-secret': 'do-not-forward', cookie: 'c=1' },
    );
    expect(reply.status).toBe(200);
    expect(standIn.seen).toHaveLength(1);
    const [seen] = standIn.seen;
    expect(seen!.method).toBe('POST');
    expect(seen!.url).toBe('/v1/chat/completions');
    expect(seen!.headers.authorization).toBe(`Bearer ${REAL_KEY}`);
    expect(seen!.headers['x-job-secret']).toBeUndefined();
    expect(seen!.headers.cookie).toBeUndefined();
    expect(JSON.stringify(seen!.headers)).not.toContain(job.token);
    expect(seen!.body).toEqual({
      model: 'job-model',
      messages: [{ role: 'user', content: 'Say hello' }],
      temperature: 0.3,
      user: 'eval',
    });
  });

  it('sends no Authorization at all for an endpoint without a key', async () => {
    const job = await open(openaiTarget({ apiKey: null }));
    expect((await chat(job)).status).toBe(200);
    expect(standIn.seen[0]!.headers.authorization).toBeUndefined();
  });

  it('asks for the target’s model whatever the job names, when the target names one', async () => {
    const job = await open(openaiTarget({ model: 'served-model' }));
    await chat(job, { model: 'gpt-expensive' });
    await call(job, '/v1/completions', { body: { prompt: 'Once', max_tokens: 3 } });
    expect(standIn.seen.map((s) => (s.body as { model: string }).model)).toEqual(['served-model', 'served-model']);
    expect(standIn.seen[1]!.url).toBe('/v1/completions');
  });

  it('passes the answer back as sent and counts the tokens it reports, or estimates them by words', async () => {
    const job = await open(openaiTarget());
    const answer = chatAnswer('The capital is Paris', { prompt_tokens: 11, completion_tokens: 5, total_tokens: 16 });
    standIn.handle((_s, res) => json(res, 200, answer));
    const reply = await chat(job);
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-type')).toBe('application/json');
    expect(reply.body).toEqual(answer);
    expect(job.usage()).toEqual({ requests: 1, failed: 0, promptTokens: 11, completionTokens: 5 });

    standIn.handle((_s, res) => json(res, 200, chatAnswer('four words of answer')));
    await chat(job);
    standIn.handle((_s, res) =>
      json(res, 200, { object: 'text_completion', choices: [{ index: 0, text: 'two words' }] }),
    );
    await call(job, '/v1/completions', { body: { prompt: 'x' } });
    expect(job.usage()).toEqual({ requests: 3, failed: 0, promptTokens: 11, completionTokens: 11 });
  });

  it('lists the endpoint’s models through GET /v1/models', async () => {
    const job = await open(openaiTarget());
    standIn.handle((_s, res) => json(res, 200, { object: 'list', data: [{ id: 'm1', object: 'model' }] }));
    const reply = await call(job, '/v1/models');
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ object: 'list', data: [{ id: 'm1', object: 'model' }] });
    expect(standIn.seen[0]).toMatchObject({ method: 'GET', url: '/v1/models', body: null });
    expect(standIn.seen[0]!.headers.authorization).toBe(`Bearer ${REAL_KEY}`);
  });

  it('cuts the real key out of an answer that echoes it, in answers and in errors', async () => {
    const job = await open(openaiTarget());
    standIn.handle((s, res) => json(res, 200, chatAnswer(`you sent ${s.headers.authorization}`)));
    const ok = await chat(job);
    expect(ok.status).toBe(200);
    expect(ok.text).not.toContain(REAL_KEY);
    expect((ok.body as { choices: { message: { content: string } }[] }).choices[0]!.message.content).toBe(
      'you sent Bearer [redacted]',
    );
    standIn.handle((s, res) => json(res, 401, { error: { message: `invalid key ${s.headers.authorization}` } }));
    const refused = await chat(job);
    expect(refused.status).toBe(401);
    expect(refused.text).not.toContain(REAL_KEY);
    expect(refused.body.error!.message).toBe('invalid key Bearer [redacted]');
  });

  it('passes an upstream 429 and 500 back with their status, body and Retry-After', async () => {
    const job = await open(openaiTarget());
    standIn.handle((_s, res) =>
      json(res, 429, { error: { message: 'slow down', type: 'rate_limit' } }, { 'retry-after': '3' }),
    );
    const limited = await chat(job);
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ error: { message: 'slow down', type: 'rate_limit' } });
    expect(limited.headers.get('retry-after')).toBe('3');

    standIn.handle(
      (_s, res) => void res.writeHead(500, { 'content-type': 'text/html' }).end('<h1>Internal   Error</h1>'),
    );
    const broken = await chat(job);
    expect(broken.status).toBe(500);
    expect(broken.body.error).toEqual({
      message: 'the model endpoint answered HTTP 500: <h1>Internal Error</h1>',
      type: 'upstream_error',
      code: 'upstream_status',
    });
    expect(job.usage()).toEqual({ requests: 2, failed: 2, promptTokens: 0, completionTokens: 0 });
  });

  it('answers 502 for a 200 that is not JSON', async () => {
    const job = await open(openaiTarget());
    standIn.handle((_s, res) => void res.writeHead(200).end('hello'));
    const reply = await chat(job);
    expect(reply.status).toBe(502);
    expect(reply.body.error!.message).toBe('the model endpoint answered HTTP 200 with a body that is not JSON');
  });
});

describe('what the proxy refuses', () => {
  it('refuses a missing or wrong token with 401, and nothing reaches the endpoint', async () => {
    const job = await open(openaiTarget());
    const missing = await chat(job, {}, { authorization: '' });
    expect(missing.status).toBe(401);
    expect(missing.body.error).toMatchObject({ type: 'authentication_error', code: 'missing_token' });
    const wrong = await chat(job, {}, { authorization: `Bearer ${job.token.slice(0, -2)}xx` });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toEqual({
      message: 'the token is not one this proxy issued',
      type: 'authentication_error',
      code: 'invalid_token',
    });
    // The real key is no token of the proxy's either.
    expect((await chat(job, {}, { authorization: `Bearer ${REAL_KEY}` })).status).toBe(401);
    expect(standIn.seen).toHaveLength(0);
    expect(job.usage().requests).toBe(0);
  });

  it('refuses a revoked token with 401 saying the job has ended, and nothing reaches the endpoint', async () => {
    const job = await open(openaiTarget());
    expect((await chat(job)).status).toBe(200);
    job.close();
    job.close(); // idempotent
    for (const reply of [await chat(job), await call(job, '/v1/models')]) {
      expect(reply.status).toBe(401);
      expect(reply.body.error).toEqual({
        message: 'the job this token was issued to has ended',
        type: 'authentication_error',
        code: 'job_ended',
      });
    }
    expect(standIn.seen).toHaveLength(1);
    expect(job.usage()).toEqual({ requests: 1, failed: 0, promptTokens: 0, completionTokens: 2 });
  });

  it('refuses a network the policy refuses with 502 and a readable reason, and the endpoint hears nothing', async () => {
    const networks = parseDeniedNetworks('loopback');
    for (const baseUrl of [`${standIn.url}/v1`, `http://localhost:${standIn.port}/v1`]) {
      const job = await open(openaiTarget({ baseUrl, transport: { networks } }));
      const reply = await chat(job);
      expect(reply.status, baseUrl).toBe(502);
      expect(reply.body.error!.code).toBe('denied');
      expect(reply.body.error!.message).toMatch(
        /^could not get an answer from the model endpoint: the endpoint (127\.0\.0\.1|localhost \(.+\)) is in a network this platform does not call \(loopback\)/,
      );
      expect(reply.text).not.toContain(REAL_KEY);
      expect(job.usage()).toMatchObject({ requests: 1, failed: 1 });
    }
    expect(standIn.seen).toHaveLength(0);
  });

  it('answers 502 for an answer past the cap', async () => {
    const job = await open(openaiTarget({ transport: { maxAnswerBytes: 1024 } }));
    standIn.handle((_s, res) => json(res, 200, chatAnswer('x'.repeat(10_000))));
    const reply = await chat(job);
    expect(reply.status).toBe(502);
    expect(reply.body.error).toEqual({
      message:
        'could not get an answer from the model endpoint: the answer was larger than 1 KiB, which is all a request reads; it was cut off there',
      type: 'upstream_error',
      code: 'too_large',
    });
  });

  it('answers 502 when the endpoint refuses connections and 504 when it does not answer in time', async () => {
    const down = http.createServer();
    await new Promise<void>((resolve) => down.listen(0, '127.0.0.1', resolve));
    const port = (down.address() as AddressInfo).port;
    await new Promise<void>((resolve) => down.close(() => resolve()));
    const refused = await chat(await open(openaiTarget({ baseUrl: `http://127.0.0.1:${port}/v1` })));
    expect(refused.status).toBe(502);
    expect(refused.body.error).toMatchObject({
      code: 'connection',
      message: 'could not get an answer from the model endpoint: connection refused (ECONNREFUSED)',
    });

    standIn.handle(() => undefined); // never answers
    const slow = await chat(await open(openaiTarget({ requestTimeoutMs: 200 })));
    expect(slow.status).toBe(504);
    expect(slow.body.error).toEqual({
      message: 'the model endpoint did not answer within 200 ms',
      type: 'upstream_error',
      code: 'timeout',
    });
  });

  it('answers 404 naming its routes, 400 for a body that is not a JSON object or asks to stream, and 413 past the size', async () => {
    const small = createInferenceProxy({ maxRequestBytes: 1024 });
    try {
      const job = await open(openaiTarget(), {}, small);
      const nowhere = await call(job, '/v1/embeddings', { body: { input: 'x' } });
      expect(nowhere.status).toBe(404);
      expect(nowhere.body.error!.message).toBe(
        'no route POST /v1/embeddings; this proxy serves POST /v1/chat/completions, POST /v1/completions and GET /v1/models',
      );
      expect((await call(job, '/v1/models', { method: 'POST', body: {} })).status).toBe(404);
      expect((await call(job, '/v1/chat/completions')).status).toBe(404);

      const notJson = await call(job, '/v1/chat/completions', { raw: '{"model": ' });
      expect(notJson.status).toBe(400);
      expect(notJson.body.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_json' });
      expect((await call(job, '/v1/chat/completions', { raw: '[1, 2]' })).status).toBe(400);

      const streaming = await chat(job, { stream: true });
      expect(streaming.status).toBe(400);
      expect(streaming.body.error!.message).toMatch(/^streaming is not supported by the proxy/);

      const big = await chat(job, { messages: [{ role: 'user', content: 'x'.repeat(2_000) }] });
      expect(big.status).toBe(413);
      expect(big.body.error!.message).toBe('the request body is larger than 1024 bytes, which is all the proxy reads');
      expect(standIn.seen).toHaveLength(0);
      expect(job.usage()).toEqual({ requests: 7, failed: 7, promptTokens: 0, completionTokens: 0 });
    } finally {
      await small.stop();
    }
  });
});

describe('the proxy’s own server', () => {
  it('writes the public host into the jobs’ URLs when it listens elsewhere', async () => {
    const wide = createInferenceProxy({ host: '0.0.0.0', publicHost: 'localhost' });
    try {
      const job = await wide.open(openaiTarget());
      expect(job.url).toMatch(/^http:\/\/localhost:\d+\/v1\/chat\/completions$/);
      expect((await chat(job)).status).toBe(200);
    } finally {
      await wide.stop();
    }
  });

  it('logs failures with the job’s label and neither the key nor the token', async () => {
    const warnings: { obj: object; msg: string }[] = [];
    const logged = createInferenceProxy({ logger: { warn: (obj, msg) => warnings.push({ obj, msg }) } });
    try {
      const job = await logged.open(openaiTarget({ transport: { networks: parseDeniedNetworks('loopback') } }), {
        label: 'run 7 / dataset 3',
      });
      expect((await chat(job)).status).toBe(502);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]!.obj).toMatchObject({ label: 'run 7 / dataset 3', status: 502, code: 'denied' });
      expect(JSON.stringify(warnings)).not.toContain(REAL_KEY);
      expect(JSON.stringify(warnings)).not.toContain(job.token);
    } finally {
      await logged.stop();
    }
  });
});

describe('a job’s concurrency and its end', () => {
  it('forwards at most maxConcurrent requests at once; the rest wait their turn and all succeed', async () => {
    const job = await open(openaiTarget(), { maxConcurrent: 2 });
    standIn.handle(async (_s, res) => {
      await new Promise((r) => setTimeout(r, 100));
      json(res, 200, chatAnswer('ok'));
    });
    const replies = await Promise.all(Array.from({ length: 5 }, (_, i) => chat(job, { user: `u${i}` })));
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(standIn.seen).toHaveLength(5);
    expect(standIn.maxActive()).toBe(2);
    // First come, first served.
    expect(standIn.seen.slice(2).map((s) => (s.body as { user: string }).user)).toEqual(['u2', 'u3', 'u4']);
  });

  it('close() aborts the request in flight and those waiting, and forwards nothing after', async () => {
    const job = await open(openaiTarget(), { maxConcurrent: 1 });
    standIn.handle(() => undefined); // holds every request
    const inFlight = chat(job, { user: 'first' });
    await waitFor(() => standIn.seen.length === 1);
    const waiting = chat(job, { user: 'second' });
    await new Promise((r) => setTimeout(r, 50));
    job.close();
    for (const reply of await Promise.all([inFlight, waiting])) {
      expect(reply.status).toBe(401);
      expect(reply.body.error!.code).toBe('job_ended');
    }
    // The upstream request was cut, and the waiting one never went.
    await waitFor(() => standIn.closed.length === 1);
    expect(standIn.seen).toHaveLength(1);
    expect((await chat(job)).status).toBe(401);
    expect(standIn.seen).toHaveLength(1);
    expect(job.usage()).toEqual({ requests: 2, failed: 2, promptTokens: 0, completionTokens: 0 });
  });

  it('drops a waiting request whose caller went away: it is never forwarded and counts as failed', async () => {
    const job = await open(openaiTarget(), { maxConcurrent: 1 });
    const held: ServerResponse[] = [];
    standIn.handle((_s, res) => void held.push(res));
    const first = chat(job, { user: 'first' });
    await waitFor(() => held.length === 1);
    const gone = new AbortController();
    const second = fetch(job.url, {
      method: 'POST',
      headers: { authorization: job.headerValue, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', messages: [], user: 'second' }),
      signal: gone.signal,
    });
    await new Promise((r) => setTimeout(r, 50));
    gone.abort();
    await expect(second).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 50));
    json(held[0]!, 200, chatAnswer('done'));
    expect((await first).status).toBe(200);
    const third = chat(job, { user: 'third' });
    await waitFor(() => standIn.seen.length === 2);
    json(held[1]!, 200, chatAnswer('done'));
    expect((await third).status).toBe(200);
    expect(standIn.seen.map((s) => (s.body as { user: string }).user)).toEqual(['first', 'third']);
    expect(job.usage()).toMatchObject({ requests: 3, failed: 1 });
  });

  it('stop() ends every job and the server; a later open starts a new one', async () => {
    const own = createInferenceProxy();
    const job = await own.open(openaiTarget());
    expect((await chat(job)).status).toBe(200);
    await own.stop();
    await expect(fetch(job.url, { method: 'POST' })).rejects.toThrow();
    const again = await own.open(openaiTarget());
    expect((await chat(again)).status).toBe(200);
    await own.stop();
  });
});

describe('a job proxy for a private deployment’s /func service', () => {
  const funcTarget = (over: Partial<Extract<ProxyTarget, { kind: 'func' }>> = {}): ProxyTarget => ({
    kind: 'func',
    baseUrl: standIn.url,
    engine: 'my-model',
    requestTimeoutMs: 5_000,
    ...over,
  });

  it('turns a chat request into one /func call and its completions into a chat.completion', async () => {
    const job = await open(funcTarget());
    standIn.handle((_s, res) =>
      json(res, 200, {
        completions: [
          { text: 'Paris.', tokens: ['Par', 'is', '.'] },
          { text: 'It is Paris', tokens: ['It', ' is', ' Par', 'is'] },
        ],
      }),
    );
    const reply = await chat(job, {
      model: 'anything',
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello! Ask away.' },
        { role: 'system', content: 'Answer briefly.' },
        { role: 'user', content: [{ type: 'text', text: 'Capital of France?' }] },
      ],
      max_tokens: 4,
      temperature: 0.5,
      top_p: 0.9,
      n: 2,
      stop: '###',
    });
    expect(standIn.seen).toHaveLength(1);
    expect(standIn.seen[0]!.url).toBe('/func');
    expect(standIn.seen[0]!.headers.authorization).toBeUndefined();
    expect(standIn.seen[0]!.body).toEqual({
      engine: 'my-model',
      prompt: 'Answer briefly.\n\nHi\n\nHello! Ask away.\n\nCapital of France?',
      temperature: 0.5,
      num_return_sequences: 2,
      max_new_tokens: 4,
      top_p: 0.9,
      echo_prompt: false,
      top_k_per_token: 1,
      stop_sequences: ['###'],
    });
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({
      object: 'chat.completion',
      model: 'my-model',
      choices: [
        { index: 0, message: { role: 'assistant', content: 'Paris.' }, finish_reason: 'stop' },
        { index: 1, message: { role: 'assistant', content: 'It is Paris' }, finish_reason: 'length' },
      ],
      usage: { prompt_tokens: 9, completion_tokens: 7, total_tokens: 16 },
    });
    expect(reply.body.id).toMatch(/^chatcmpl-/);
    expect(job.usage()).toEqual({ requests: 1, failed: 0, promptTokens: 9, completionTokens: 7 });
  });

  it('uses the batch defaults for what the request leaves out, and serves completions and the model list', async () => {
    const job = await open(funcTarget());
    standIn.handle((_s, res) => json(res, 200, { completions: [{ text: ' upon a time' }] }));
    const reply = await call(job, '/v1/completions', { body: { model: 'x', prompt: 'Once', stop: ['\n', '.'] } });
    expect(standIn.seen[0]!.body).toEqual({
      engine: 'my-model',
      prompt: 'Once',
      temperature: 0,
      num_return_sequences: 1,
      max_new_tokens: 512,
      top_p: 1,
      echo_prompt: false,
      top_k_per_token: 1,
      stop_sequences: ['\n', '.'],
    });
    expect(reply.body).toMatchObject({
      object: 'text_completion',
      model: 'my-model',
      choices: [{ index: 0, text: ' upon a time', finish_reason: 'stop' }],
      usage: { prompt_tokens: 1, completion_tokens: 3, total_tokens: 4 },
    });
    const models = await call(job, '/v1/models');
    expect(models.body).toMatchObject({ object: 'list', data: [{ id: 'my-model', object: 'model' }] });
    expect(standIn.seen).toHaveLength(1);
  });

  it('answers 502 with the reason for a /func error, an `error` body or a malformed answer, and 400 for what it cannot translate', async () => {
    const job = await open(funcTarget());
    const cases: [Handler, string][] = [
      [
        (_s, res) => json(res, 500, { error: 'CUDA out of memory' }),
        'the model service answered HTTP 500: CUDA out of memory',
      ],
      [
        (_s, res) => json(res, 200, { error: { message: 'engine not loaded' } }),
        'the model service reported an error: engine not loaded',
      ],
      [
        (_s, res) => json(res, 200, { outputs: [] }),
        'the model service answered without completions (expected {"completions": [{"text": …}]})',
      ],
      [(_s, res) => void res.writeHead(200).end('<html>'), 'the model service answered with a body that is not JSON'],
    ];
    for (const [handler, message] of cases) {
      standIn.handle(handler);
      const reply = await chat(job);
      expect(reply.status, message).toBe(502);
      expect(reply.body.error).toMatchObject({ type: 'upstream_error', message });
    }
    const image = await chat(job, {
      messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:,' } }] }],
    });
    expect(image.status).toBe(400);
    expect(image.body.error!.message).toBe(
      'messages[0].content[0] is a "image_url" part; this model takes text parts only',
    );
    expect((await chat(job, { max_tokens: 0 })).status).toBe(400);
    expect((await chat(job, { messages: [] })).status).toBe(400);
    expect(standIn.seen).toHaveLength(4);
  });
});

describe('the openai package as the job’s client', () => {
  it('works unchanged with the proxy’s base URL and the token as its key', async () => {
    const job = await open(openaiTarget({ model: 'served-model' }));
    standIn.handle((_s, res) =>
      json(res, 200, chatAnswer('Hello from the model', { prompt_tokens: 3, completion_tokens: 4 })),
    );
    const client = new OpenAI({ baseURL: job.baseUrl, apiKey: job.token, maxRetries: 0 });
    const completion = await client.chat.completions.create({
      model: 'whatever',
      messages: [{ role: 'user', content: 'Hi' }],
    });
    expect(completion.choices[0]!.message.content).toBe('Hello from the model');
    expect(standIn.seen[0]!.headers.authorization).toBe(`Bearer ${REAL_KEY}`);
    expect((standIn.seen[0]!.body as { model: string }).model).toBe('served-model');
    expect(job.usage()).toEqual({ requests: 1, failed: 0, promptTokens: 3, completionTokens: 4 });

    job.close();
    const error = await client.chat.completions
      .create({ model: 'x', messages: [{ role: 'user', content: 'Hi' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((error as Error).message).toContain('the job this token was issued to has ended');
  });
});

async function waitFor(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}
