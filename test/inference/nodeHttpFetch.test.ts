import http from 'node:http';
import zlib from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, RateLimitError } from 'openai';
import { nodeHttpFetch } from '../../activities/inference/nodeHttpFetch';

/** A server whose answer each test picks by path. */
let server: http.Server;
let base: string;
const seen: { method?: string; headers: http.IncomingHttpHeaders; body: string }[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const path = req.url ?? '';
      if (path.startsWith('/json')) {
        res
          .writeHead(201, { 'content-type': 'application/json', 'x-answer': 'yes', 'x-multi': ['a', 'b'] })
          .end('{"ok":true,"word":"héllo"}');
      } else if (path.startsWith('/gzip')) {
        res
          .writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' })
          .end(zlib.gzipSync('{"zipped":1}'));
      } else if (path.startsWith('/empty')) {
        res.writeHead(204).end();
      } else if (path.startsWith('/cut')) {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
        res.write('{"half":');
        setTimeout(() => res.destroy(), 20);
      } else if (path.startsWith('/odd-status')) {
        res.writeHead(999, { 'content-type': 'text/plain' }).end('what');
      } else if (path.startsWith('/hang')) {
        // never answers
      } else if (path.startsWith('/v1/chat/completions')) {
        res
          .writeHead(429, { 'content-type': 'application/json', 'retry-after': '7' })
          .end('{"error":{"message":"slow down"}}');
      } else {
        res.writeHead(404).end('no');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('nodeHttpFetch', () => {
  it('sends method, headers and body, and answers with status, headers and text', async () => {
    const response = await nodeHttpFetch(`${base}/json`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer k' },
      body: '{"q":"ü"}',
    });
    expect(response.status).toBe(201);
    expect(response.headers.get('x-answer')).toBe('yes');
    expect(response.bodyUsed).toBe(false);
    expect(await response.json()).toEqual({ ok: true, word: 'héllo' });
    expect(response.bodyUsed).toBe(true);
    const request = seen.at(-1)!;
    expect(request).toMatchObject({ method: 'POST', body: '{"q":"ü"}' });
    expect(request.headers).toMatchObject({
      authorization: 'Bearer k',
      'content-length': String(Buffer.byteLength('{"q":"ü"}')),
    });
  });

  it('reads a compressed body, and a body through the stream interface', async () => {
    expect(await (await nodeHttpFetch(`${base}/gzip`)).json()).toEqual({ zipped: 1 });
    const streamed = await nodeHttpFetch(`${base}/json`);
    expect(await new Response(streamed.body).text()).toBe('{"ok":true,"word":"héllo"}');
  });

  it('gives a null body for 204', async () => {
    const response = await nodeHttpFetch(`${base}/empty`);
    expect(response.status).toBe(204);
    expect(response.body).toBeNull();
    expect(await response.text()).toBe('');
  });

  it('answers a body cut off mid-way as fetch does: the response arrives, reading it fails', async () => {
    const response = await nodeHttpFetch(`${base}/cut`);
    expect(response.status).toBe(200);
    await expect(response.text()).rejects.toThrow(/terminated/);
  });

  it('keeps every header of the answer, repeated ones included', async () => {
    const response = await nodeHttpFetch(`${base}/json`);
    expect(response).toBeInstanceOf(Response);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('x-multi')).toBe('a, b');
    expect(response.ok).toBe(true);
    expect(response.statusText).toBe('Created');
  });

  it('fails like fetch on a status no response can have, instead of throwing where nobody catches', async () => {
    const failure = await nodeHttpFetch(`${base}/odd-status`).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(TypeError);
    expect((failure as TypeError).message).toBe('fetch failed');
    expect(String((failure as TypeError).cause)).toMatch(/HTTP status 999/);
  });

  it('rejects like fetch when nothing answers, and on abort', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await expect(nodeHttpFetch(`http://127.0.0.1:${port}/`)).rejects.toMatchObject({
      name: 'TypeError',
      message: 'fetch failed',
    });

    const controller = new AbortController();
    const pending = nodeHttpFetch(`${base}/hang`, { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('lets the OpenAI SDK classify answers and faults as it does over its own fetch', async () => {
    const client = (baseURL: string, timeout = 5_000) =>
      new OpenAI({
        baseURL,
        apiKey: 'k',
        maxRetries: 0,
        timeout,
        fetch: nodeHttpFetch,
        adminAPIKey: null,
        organization: null,
        project: null,
        webhookSecret: null,
      });
    const limited = await client(`${base}/v1`)
      .chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(RateLimitError);
    expect((limited as RateLimitError).headers?.get('retry-after')).toBe('7');

    const hung = await client(`${base}/hang`, 100)
      .chat.completions.create({ model: 'm', messages: [] })
      .catch((e: unknown) => e);
    expect(hung).toBeInstanceOf(APIConnectionTimeoutError);

    const refused = await client('http://127.0.0.1:1/v1')
      .chat.completions.create({ model: 'm', messages: [] })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(APIConnectionError);
  });
});
