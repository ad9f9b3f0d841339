/**
 * The `/func` client against a real HTTP stand-in whose answers the test sets: what it sends, how
 * it reads completions and token counts, and how every failure is classified.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createFuncEndpoint } from '../../activities/inference/funcEndpoint';
import { InferenceError } from '../../activities/inference/inferenceErrors';
import type { InferenceParams } from '../../contracts/evaluation';
import { freePort } from '../support/ports';

interface Knobs {
  status: number;
  /** A value is sent as JSON; a string is sent as it is. */
  body: unknown;
  headers: Record<string, string>;
  latencyMs: number;
  /** Send the headers and half the body, then drop the connection. */
  cutOff: boolean;
}

const DEFAULT_KNOBS: Knobs = {
  status: 200,
  body: { completions: [{ text: 'fine', tokens: ['fine'] }] },
  headers: {},
  latencyMs: 0,
  cutOff: false,
};

let knobs: Knobs;
const requests: { method: string; path: string; contentType: string | undefined; body: unknown }[] = [];
let server: http.Server;
let baseUrl: string;
const never = new AbortController().signal;
const PARAMS: InferenceParams = { maxTokens: 64, temperature: 0.2, topP: 0.95 };

beforeAll(async () => {
  server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString();
    requests.push({
      method: req.method!,
      path: req.url!,
      contentType: req.headers['content-type'],
      body: text ? JSON.parse(text) : null,
    });
    const k = knobs;
    if (k.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, k.latencyMs));
    const payload = typeof k.body === 'string' ? k.body : JSON.stringify(k.body);
    if (k.cutOff) {
      res.writeHead(k.status, {
        'content-type': 'application/json',
        'content-length': String(payload.length),
        ...k.headers,
      });
      res.write(payload.slice(0, Math.floor(payload.length / 2)));
      setTimeout(() => res.socket?.destroy(), 20);
      return;
    }
    res.writeHead(k.status, { 'content-type': 'application/json', ...k.headers });
    res.end(payload);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  knobs = { ...DEFAULT_KNOBS };
  requests.length = 0;
});

const endpoint = (o: { requestTimeoutMs?: number; engine?: string } = {}) =>
  createFuncEndpoint({ baseUrl: `${baseUrl}/`, requestTimeoutMs: o.requestTimeoutMs ?? 5_000, engine: o.engine });

async function failure(promise: Promise<unknown>): Promise<InferenceError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InferenceError);
  return error as InferenceError;
}

describe('requests', () => {
  it('posts the seed protocol fields to /func, with the model name as engine', async () => {
    await endpoint({ engine: 'my-model-7b' }).complete('What is 6 * 7?', PARAMS, never);
    expect(requests).toEqual([
      {
        method: 'POST',
        path: '/func',
        contentType: 'application/json',
        body: {
          engine: 'my-model-7b',
          prompt: 'What is 6 * 7?',
          temperature: 0.2,
          num_return_sequences: 1,
          max_new_tokens: 64,
          top_p: 0.95,
          echo_prompt: false,
          top_k_per_token: 1,
          stop_sequences: [],
        },
      },
    ]);
  });

  it('sends a templated prompt with the stop sequences and stop words, greedy when doSample is false', async () => {
    await endpoint().complete(
      'What is 6 * 7?',
      { ...PARAMS, template: { name: 'chatml' }, stop: ['###'], doSample: false, topK: 5, seed: 3 },
      never,
    );
    expect(requests[0]!.body).toMatchObject({
      prompt: '<|im_start|>user\nWhat is 6 * 7?<|im_end|>\n<|im_start|>assistant\n',
      temperature: 0,
      top_p: 1,
      stop_sequences: ['###', '<|im_end|>', '<|endoftext|>'],
    });
    // The protocol has no top_k or seed.
    expect(requests[0]!.body).not.toHaveProperty('top_k');
    expect(requests[0]!.body).not.toHaveProperty('seed');
  });

  it("names the engine 'default' when no model name is given", async () => {
    await endpoint().complete('hi', PARAMS, never);
    expect((requests[0]!.body as { engine: string }).engine).toBe('default');
  });
});

describe('answers', () => {
  // The protocol reports no prompt tokens: they are always counted, and the answer marked counted.
  const counted = { promptTokens: 1, tokensCounted: true, model: null, systemFingerprint: null };

  it('counts tokens given as a list by their number', async () => {
    knobs.body = { completions: [{ text: 'forty two', tokens: ['for', 'ty', ' two'] }] };
    expect(await endpoint().complete('q', PARAMS, never)).toEqual({ text: 'forty two', outputTokens: 3, ...counted });
  });

  it('approximates the tokens of an answer without a token list (a token per four characters)', async () => {
    knobs.body = { completions: [{ text: 'Hello, world!', tokens: 'Hello, world!' }] };
    expect(await endpoint().complete('q', PARAMS, never)).toEqual({
      text: 'Hello, world!',
      outputTokens: 4,
      ...counted,
    });
    knobs.body = { completions: [{ text: 'one two three' }, { text: 'ignored' }] };
    expect(await endpoint().complete('q', PARAMS, never)).toEqual({
      text: 'one two three',
      outputTokens: 4,
      ...counted,
    });
  });

  it('takes an empty text as an empty answer, not a fault', async () => {
    knobs.body = { completions: [{ text: '', tokens: [] }] };
    expect(await endpoint().complete('q', PARAMS, never)).toEqual({ text: '', outputTokens: 0, ...counted });
  });
});

describe('failures', () => {
  it('times out a slow model with the timeout in the message', async () => {
    knobs.latencyMs = 1_000;
    const error = await failure(endpoint({ requestTimeoutMs: 100 }).complete('q', PARAMS, never));
    expect(error).toMatchObject({ kind: 'timeout', retryable: true, message: 'no response within 100 ms' });
  });

  it('reports a refused connection', async () => {
    const port = await freePort();
    const error = await failure(
      createFuncEndpoint({ baseUrl: `http://127.0.0.1:${port}`, requestTimeoutMs: 2_000 }).complete('q', PARAMS, never),
    );
    expect(error).toMatchObject({ kind: 'connection', retryable: true, message: 'connection refused (ECONNREFUSED)' });
  });

  it("passes on a 5xx with the service's own explanation, and its Retry-After", async () => {
    knobs.status = 500;
    knobs.body = { error: 'ZeroDivisionError: division by zero' };
    expect(await failure(endpoint().complete('q', PARAMS, never))).toMatchObject({
      kind: 'server',
      retryable: true,
      retryAfterMs: null,
      message: 'HTTP 500 from the model endpoint: ZeroDivisionError: division by zero',
    });
    knobs.status = 503;
    knobs.body = 'model is loading';
    knobs.headers = { 'retry-after': '2' };
    expect(await failure(endpoint().complete('q', PARAMS, never))).toMatchObject({
      kind: 'server',
      retryAfterMs: 2_000,
      message: 'HTTP 503 from the model endpoint: model is loading',
    });
  });

  it("reads flageval-serving's own error shape, and a failure status in an NLPEvalResponse", async () => {
    knobs.status = 500;
    knobs.body = { code: 500, message: 'CUDA out of memory' };
    expect(await failure(endpoint().complete('q', PARAMS, never))).toMatchObject({
      kind: 'server',
      message: 'HTTP 500 from the model endpoint: CUDA out of memory',
    });
    knobs.status = 200;
    knobs.body = {
      completions: [{ text: 'partial', tokens: 'partial' }],
      model_info: 'm-7b',
      status: 503,
      input_length: 3,
    };
    expect(await failure(endpoint().complete('q', PARAMS, never))).toMatchObject({
      kind: 'server',
      retryable: true,
      message: 'the service answered status 503 in its NLPEvalResponse (model_info: m-7b)',
    });
    knobs.body = { completions: [{ text: 'fine', tokens: 'fine' }], model_info: '', status: 200, input_length: 3 };
    expect(await endpoint().complete('q', PARAMS, never)).toMatchObject({ text: 'fine' });
  });

  it('reads a 429 as rate limiting, with the wait it asks for', async () => {
    knobs.status = 429;
    knobs.body = { error: { message: 'too many requests' } };
    knobs.headers = { 'retry-after': '3' };
    expect(await failure(endpoint().complete('q', PARAMS, never))).toMatchObject({
      kind: 'rate_limited',
      retryable: true,
      retryAfterMs: 3_000,
      message: 'HTTP 429 from the model endpoint: too many requests',
    });
  });

  it('does not retry a 400 or a 404, and says what the service answered', async () => {
    knobs.status = 400;
    knobs.body = { detail: 'prompt must be a string' };
    expect(await failure(endpoint().complete('q', PARAMS, never))).toMatchObject({
      kind: 'bad_request',
      retryable: false,
      message: 'HTTP 400 from the model endpoint: {"detail":"prompt must be a string"}',
    });
    knobs.status = 404;
    knobs.body = '';
    expect(await failure(endpoint().complete('q', PARAMS, never))).toMatchObject({
      kind: 'not_found',
      retryable: false,
    });
  });

  it('calls a body that is not JSON malformed', async () => {
    knobs.body = '<html>Bad Gateway</html>';
    const error = await failure(endpoint().complete('q', PARAMS, never));
    expect(error.kind).toBe('malformed');
    expect(error.message).toMatch(/^malformed response: the body is not valid JSON/);
  });

  it('calls a body cut off before its end malformed', async () => {
    knobs.cutOff = true;
    const error = await failure(endpoint().complete('q', PARAMS, never));
    expect(error.kind).toBe('malformed');
    expect(error.message).toMatch(/^malformed response: the body was cut off before its end/);
  });

  it('tells a missing or empty completion list from one of the wrong shape', async () => {
    for (const body of [{}, { completions: null }, { completions: [] }]) {
      knobs.body = body;
      expect(await failure(endpoint().complete('q', PARAMS, never))).toMatchObject({
        kind: 'empty',
        retryable: true,
        message: 'response had no completions',
      });
    }
    const shapes: [unknown, string][] = [
      [[1, 2], 'malformed response: the body is not a JSON object'],
      [{ completions: { text: 'x' } }, 'malformed response: "completions" is not a list'],
      [{ completions: ['x'] }, 'malformed response: the first completion is not an object'],
      [{ completions: [{ tokens: ['x'] }] }, 'malformed response: the first completion has no text'],
    ];
    for (const [body, message] of shapes) {
      knobs.body = body;
      expect(await failure(endpoint().complete('q', PARAMS, never))).toMatchObject({ kind: 'malformed', message });
    }
  });

  it('abandons a request when the batch is stopped, and sends none once it is', async () => {
    knobs.latencyMs = 5_000;
    const stop = new AbortController();
    const pending = endpoint().complete('q', PARAMS, stop.signal);
    setTimeout(() => stop.abort(), 50);
    expect(await failure(pending)).toMatchObject({ kind: 'aborted', retryable: false });

    requests.length = 0;
    expect(await failure(endpoint().complete('q', PARAMS, stop.signal))).toMatchObject({ kind: 'aborted' });
    expect(requests).toEqual([]);
  });
});
