/**
 * What a user-named endpoint may not do to a worker: be reached in a network the platform does not
 * call (by address or by a name resolving there, checked when the socket connects), or send an answer
 * longer than a request reads (counted after decompression). Against real HTTP servers on loopback.
 */
import http from 'node:http';
import zlib from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadEndpointSettings } from '../../config/env';
import { DEFAULT_DENIED_NETWORKS, literalAddress, parseDeniedNetworks } from '../../config/endpointNetworks';
import { guardedLookup } from '../../activities/inference/guardedLookup';
import { createModelEndpoint } from '../../activities/inference/modelEndpoint';
import { createFuncEndpoint } from '../../activities/inference/funcEndpoint';
import { InferenceError, classifyInferenceError } from '../../activities/inference/inferenceErrors';
import { EndpointBreaker } from '../../activities/batch/endpointBreaker';
import type { EndpointTransport } from '../../activities/inference/nodeHttpFetch';
import type { InferenceParams } from '../../contracts/evaluation';

const PARAMS: InferenceParams = { maxTokens: 16, temperature: 0, topP: 1 };
const signal = new AbortController().signal;

/** An OpenAI-compatible server whose answer text is `size` bytes, gzipped when asked; counts requests. */
async function startServer() {
  let size = 10;
  let gzip = false;
  let requests = 0;
  const server = http.createServer(async (req, res) => {
    requests++;
    for await (const _ of req) void _;
    const text = 'x'.repeat(size);
    const body = Buffer.from(
      JSON.stringify({ choices: [{ message: { content: text }, text }], completions: [{ text, tokens: [] }] }),
    );
    if (gzip) {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      res.end(zlib.gzipSync(body));
    } else {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    requests: () => requests,
    answer(o: { size: number; gzip?: boolean }) {
      size = o.size;
      gzip = o.gzip ?? false;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

let server: Awaited<ReturnType<typeof startServer>>;

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  await server?.close();
});

function endpointAt(url: string, transport: EndpointTransport) {
  return createModelEndpoint({
    endpoint: url,
    apiKey: null,
    onlineModelName: 'm',
    apiMode: 'chat',
    requestTimeoutMs: 5_000,
    transport,
  });
}

async function failureOf(promise: Promise<unknown>): Promise<InferenceError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InferenceError);
  return error as InferenceError;
}

describe('the denied networks list', () => {
  it('refuses link-local (cloud metadata), unspecified and multicast by default, and leaves loopback, private and public open', () => {
    const policy = parseDeniedNetworks(undefined);
    expect(policy.description).toBe(DEFAULT_DENIED_NETWORKS.split(',').join(', '));
    expect(policy.refusing('169.254.169.254')).toBe('link-local');
    expect(policy.refusing('::ffff:169.254.169.254')).toBe('link-local');
    expect(policy.refusing('fe80::1')).toBe('link-local');
    expect(policy.refusing('0.0.0.0')).toBe('unspecified');
    expect(policy.refusing('239.1.2.3')).toBe('multicast');
    for (const open of ['127.0.0.1', '::1', '10.1.2.3', '192.168.1.1', '203.0.113.9', '2001:db8::1'])
      expect(policy.refusing(open), open).toBeNull();
  });

  it('takes groups and CIDRs, names the entry that refuses, and "none" refuses nothing', () => {
    const policy = parseDeniedNetworks('loopback, private, 203.0.113.0/24, 2001:db8::/32, 198.51.100.7');
    expect(policy.refusing('127.0.0.1')).toBe('loopback');
    expect(policy.refusing('::ffff:7f00:1')).toBe('loopback');
    expect(policy.refusing('172.20.0.1')).toBe('private');
    expect(policy.refusing('fd00:ec2::254')).toBe('private');
    expect(policy.refusing('203.0.113.200')).toBe('203.0.113.0/24');
    expect(policy.refusing('2001:db8:1::5')).toBe('2001:db8::/32');
    expect(policy.refusing('198.51.100.7')).toBe('198.51.100.7');
    expect(policy.refusing('198.51.100.8')).toBeNull();
    expect(policy.refusing('169.254.169.254')).toBeNull();
    expect(parseDeniedNetworks('none').refusing('169.254.169.254')).toBeNull();
  });

  it('refuses an entry it cannot read, naming it and the variable', () => {
    for (const bad of ['intranet', '10.0.0.0/33', '10.0.0/8', '::1/129', '10.0.0.0/8/1', '10.0.0.0/x']) {
      expect(() => loadEndpointSettings({ PROCTOR_ENDPOINT_DENY_NETWORKS: `loopback,${bad}` }), bad).toThrow(
        ConfigError,
      );
      expect(() => loadEndpointSettings({ PROCTOR_ENDPOINT_DENY_NETWORKS: bad }), bad).toThrow(
        `PROCTOR_ENDPOINT_DENY_NETWORKS: ${JSON.stringify(bad)} is neither`,
      );
    }
    expect(() => loadEndpointSettings({ PROCTOR_MAX_ANSWER_BYTES: '10' })).toThrow(/PROCTOR_MAX_ANSWER_BYTES/);
  });

  it('reads URL hosts as addresses only when they are ones', () => {
    expect(literalAddress(new URL('http://[::ffff:169.254.169.254]/v1').hostname)).toBe('::ffff:a9fe:a9fe');
    expect(literalAddress(new URL('http://0x7f000001:8000/v1').hostname)).toBe('127.0.0.1');
    expect(literalAddress(new URL('http://models.internal/v1').hostname)).toBeNull();
  });
});

describe('calls to a user-named endpoint', () => {
  it('never reach a refused address: the request fails as denied, not retried, and the server hears nothing', async () => {
    const before = server.requests();
    const networks = parseDeniedNetworks('loopback');
    for (const url of [
      `http://127.0.0.1:${server.port}/v1`,
      `http://[::ffff:127.0.0.1]:${server.port}/v1`,
      `http://localhost:${server.port}/v1`,
    ]) {
      const failure = await failureOf(endpointAt(url, { networks }).complete('hi', PARAMS, signal));
      expect(failure.kind, url).toBe('denied');
      expect(failure.retryable).toBe(false);
      expect(failure.message, url).toMatch(
        /^the endpoint (127\.0\.0\.1|::ffff:7f00:1|localhost \((127\.0\.0\.1|::1)\)) is in a network this platform does not call \(loopback\)/,
      );
    }
    expect(server.requests()).toBe(before);
    // Ten of them in a row end the dataset, as refused connections do.
    const breaker = new EndpointBreaker(10);
    for (let i = 0; i < 10; i++) breaker.record({ ok: false, kind: 'denied', reason: 'refused network' });
    expect(breaker.tripped).toMatch(/^endpoint unusable: 10 consecutive samples/);
  });

  it('reach an address the list leaves open, and one of a name whose other addresses are refused', async () => {
    const answer = await endpointAt(`http://127.0.0.1:${server.port}/v1`, {
      networks: parseDeniedNetworks('private,link-local'),
    }).complete('hi', PARAMS, signal);
    expect(answer.text).toBe('x'.repeat(10));
    // localhost may resolve to ::1 as well as 127.0.0.1; with ::1 refused only 127.0.0.1 is tried.
    const addresses = await new Promise<{ address: string }[]>((resolve, reject) =>
      guardedLookup(parseDeniedNetworks('::1'))('localhost', { all: true }, (error: unknown, list: unknown) =>
        error ? reject(error) : resolve(list as { address: string }[]),
      ),
    );
    expect(addresses.map((a) => a.address)).toContain('127.0.0.1');
    expect(addresses.map((a) => a.address)).not.toContain('::1');
    const viaName = await endpointAt(`http://localhost:${server.port}/v1`, {
      networks: parseDeniedNetworks('::1'),
    }).complete('hi', PARAMS, signal);
    expect(viaName.text).toBe('x'.repeat(10));
  });
});

describe('the answer cap', () => {
  it('fails an answer longer than the cap as too_large, not retried, whether sent plain or as a small gzip that inflates past it', async () => {
    const cap = 64 * 1024;
    const endpoint = endpointAt(`http://127.0.0.1:${server.port}/v1`, { maxAnswerBytes: cap });
    // The text is sent three times over (chat, completion and /func shapes): 48 KiB in all.
    server.answer({ size: 16 * 1024 });
    expect((await endpoint.complete('hi', PARAMS, signal)).text).toHaveLength(16 * 1024);
    for (const gzip of [false, true]) {
      server.answer({ size: 8 * 2 ** 20, gzip });
      const failure = await failureOf(endpoint.complete('hi', PARAMS, signal));
      expect(failure.kind).toBe('too_large');
      expect(failure.retryable).toBe(false);
      expect(failure.message).toBe(
        'the answer was larger than 64 KiB, which is all a request reads; it was cut off there',
      );
    }
    // The connection the flood was cut on is not reused half-read: the next answer arrives whole.
    server.answer({ size: 10 });
    expect((await endpoint.complete('hi', PARAMS, signal)).text).toBe('x'.repeat(10));
  });

  it('holds for a private deployment’s /func too, whose address is the platform’s own and never refused', async () => {
    const func = createFuncEndpoint({
      baseUrl: `http://127.0.0.1:${server.port}`,
      requestTimeoutMs: 5_000,
      maxAnswerBytes: 1024,
    });
    server.answer({ size: 100 });
    expect((await func.complete('hi', PARAMS, signal)).text).toBe('x'.repeat(100));
    server.answer({ size: 4096 });
    const failure = await failureOf(func.complete('hi', PARAMS, signal));
    expect(failure.kind).toBe('too_large');
    expect(classifyInferenceError(failure).message).toBe(
      'the answer was larger than 1 KiB, which is all a request reads; it was cut off there',
    );
  });
});
