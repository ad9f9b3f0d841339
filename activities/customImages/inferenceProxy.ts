/**
 * The inference proxy a custom evaluation image calls instead of the model under evaluation. A job
 * gets a URL and a per-job token, never the user's key: the proxy checks the token, adds the real
 * credentials, applies the endpoint network policy and the answer cap as the batch activity does,
 * caps the job's concurrency, counts its requests and tokens, and stops answering when the job
 * ends. One node:http server per process, started on the first job and shared by all of them; a
 * token is known by its sha256, so looking one up compares digests, not the secret itself.
 *
 * Routes: POST /v1/chat/completions, POST /v1/completions and GET /v1/models, OpenAI's shapes, no
 * streaming. docs/inference-proxy.md describes them and the translation for `/func` services.
 */
import { createHash, randomBytes } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EndpointTransport } from '../inference/nodeHttpFetch';
import { JobGate } from './jobGate';
import { ProxyError, badRequest, type ProxyAnswer } from './proxyErrors';
import { upstreamFor, type ProxyRoute, type Upstream } from './proxyUpstream';

export type ProxyTarget =
  | {
      kind: 'openai';
      /** e.g. http://host:8000/v1 */
      baseUrl: string;
      apiKey: string | null;
      /** The model every request asks for; null passes the job's own choice through. */
      model: string | null;
      requestTimeoutMs: number;
      /** The network policy and answer cap of a user-named endpoint. */
      transport?: EndpointTransport;
    }
  | {
      kind: 'func';
      /** A flageval-serving service, e.g. http://127.0.0.1:41234 (its `/func` is appended). */
      baseUrl: string;
      engine: string;
      requestTimeoutMs: number;
      maxAnswerBytes?: number;
    };

export interface ProxyUsage {
  /** Requests that came with a valid token. */
  requests: number;
  /** Of those, the ones that did not end 2xx (refused, failed upstream, abandoned). */
  failed: number;
  promptTokens: number;
  completionTokens: number;
}

export interface JobProxy {
  /** The chat-completions URL given to the job as EVAL_INFERENCE_URL, e.g. http://127.0.0.1:PORT/v1/chat/completions */
  url: string;
  /** The same prefix's base, e.g. http://127.0.0.1:PORT/v1 (for clients that want a base URL) */
  baseUrl: string;
  headerKey: string;
  headerValue: string;
  /** The raw per-job secret, for scrubbing logs. */
  token: string;
  usage(): ProxyUsage;
  /** Revokes the token: later calls get 401 "the job this token was issued to has ended"; requests in flight are aborted. Idempotent. */
  close(): void;
}

export interface InferenceProxy {
  open(target: ProxyTarget, o?: { label?: string; maxConcurrent?: number }): Promise<JobProxy>;
  /** Closes the server and every job proxy. */
  stop(): Promise<void>;
}

export interface InferenceProxyOptions {
  /** Where the server listens; 127.0.0.1 by default. */
  host?: string;
  /**
   * The host written into the jobs' URLs, when the address listened on is not the one a job's
   * container reaches it by (a listener on 0.0.0.0, a bridge gateway known by a name); `host` by default.
   */
  publicHost?: string;
  /** 0 (the default): any free port. */
  port?: number;
  /** Largest request body read; 8 MiB by default. */
  maxRequestBytes?: number;
  logger?: { warn(obj: object, msg: string): void };
}

export const DEFAULT_MAX_REQUEST_BYTES = 8 * 2 ** 20;
export const DEFAULT_MAX_CONCURRENT = 64;

const ROUTES: Record<string, { method: string; route: ProxyRoute }> = {
  '/v1/chat/completions': { method: 'POST', route: 'chat' },
  '/v1/completions': { method: 'POST', route: 'completions' },
  '/v1/models': { method: 'GET', route: 'models' },
};
const ROUTE_LIST = 'POST /v1/chat/completions, POST /v1/completions and GET /v1/models';

const jobEnded = () =>
  new ProxyError(401, 'authentication_error', 'job_ended', 'the job this token was issued to has ended');

interface Job {
  label: string | undefined;
  upstream: Upstream;
  gate: JobGate;
  /** Aborts every request of the job, waiting or in flight, when it ends. */
  ended: AbortController;
  usage: ProxyUsage;
}

/** A token's entry: its job, or the mark a revoked one leaves (the target and its key are let go). */
type Entry = Job | 'ended';

const digest = (token: string) => createHash('sha256').update(token).digest('hex');

export function createInferenceProxy(o: InferenceProxyOptions = {}): InferenceProxy {
  const host = o.host ?? '127.0.0.1';
  const maxRequestBytes = o.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
  const tokens = new Map<string, Entry>();
  let listening: Promise<{ server: http.Server; origin: string }> | null = null;

  const start = () =>
    (listening ??= new Promise<{ server: http.Server; origin: string }>((resolve, reject) => {
      // handle() answers every failure itself; a throw out of it means the response cannot be written.
      const server = http.createServer((req, res) => void handle(req, res).catch(() => res.destroy()));
      server.once('error', (error) => {
        listening = null;
        reject(error);
      });
      server.listen(o.port ?? 0, host, () => {
        const { port } = server.address() as AddressInfo;
        const shown = o.publicHost ?? host;
        resolve({ server, origin: `http://${shown.includes(':') ? `[${shown}]` : shown}:${port}` });
      });
    }));

  const endJob = (key: string, job: Job) => {
    if (tokens.get(key) !== job) return;
    tokens.set(key, 'ended');
    job.gate.close(jobEnded());
    job.ended.abort();
  };

  const authenticate = (req: IncomingMessage): Job | ProxyError => {
    const token = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!token)
      return new ProxyError(
        401,
        'authentication_error',
        'missing_token',
        "send the job's token as the header EVAL_AUTHORIZATION_HEADER_KEY: EVAL_AUTHORIZATION_HEADER_VALUE (Authorization: Bearer …)",
      );
    const entry = tokens.get(digest(token));
    if (entry === 'ended') return jobEnded();
    return (
      entry ?? new ProxyError(401, 'authentication_error', 'invalid_token', 'the token is not one this proxy issued')
    );
  };

  /** The job's answer, or null when its caller went away before there was one. */
  const serve = async (job: Job, req: IncomingMessage, callerGone: AbortSignal): Promise<ProxyAnswer | null> => {
    const path = (req.url ?? '/').split('?')[0]!.replace(/\/+$/, '');
    const known = ROUTES[path];
    if (!known || known.method !== req.method)
      throw new ProxyError(
        404,
        'invalid_request_error',
        'unknown_route',
        `no route ${req.method} ${path || '/'}; this proxy serves ${ROUTE_LIST}`,
      );
    const body = known.method === 'POST' ? await readJson(req, maxRequestBytes) : null;
    if (body?.stream === true)
      throw badRequest(
        'streaming is not supported by the proxy; send the request without "stream": true',
        'stream_unsupported',
      );
    const signal = AbortSignal.any([job.ended.signal, callerGone]);
    let release: () => void;
    try {
      release = await job.gate.acquire(signal);
    } catch (error) {
      if (job.ended.signal.aborted) throw jobEnded();
      if (callerGone.aborted) return null;
      throw error;
    }
    try {
      return await job.upstream({ route: known.route, body, signal });
    } catch (error) {
      if (job.ended.signal.aborted) throw jobEnded();
      if (callerGone.aborted) return null;
      throw error;
    } finally {
      release();
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const callerGone = new AbortController();
    res.on('close', () => {
      if (!res.writableEnded) callerGone.abort();
    });
    const job = authenticate(req);
    if (job instanceof ProxyError) return send(res, job.answer());
    job.usage.requests++;
    let answer: ProxyAnswer | null;
    try {
      answer = await serve(job, req, callerGone.signal);
    } catch (error) {
      if (error instanceof ProxyError) {
        if (error.status >= 500)
          o.logger?.warn(
            { label: job.label, status: error.status, code: error.code, reason: error.message },
            'an inference proxy request failed',
          );
        answer = error.answer();
      } else {
        o.logger?.warn({ label: job.label, err: error }, 'the inference proxy failed to serve a request');
        answer = new ProxyError(
          500,
          'server_error',
          'proxy_error',
          'the inference proxy failed to serve the request',
        ).answer();
      }
    }
    if (answer?.usage) {
      job.usage.promptTokens += answer.usage.promptTokens;
      job.usage.completionTokens += answer.usage.completionTokens;
    }
    if (!answer || answer.status < 200 || answer.status >= 300 || res.destroyed) job.usage.failed++;
    if (answer) send(res, answer);
  };

  return {
    async open(target, options = {}) {
      checkTarget(target);
      const { origin } = await start();
      const token = randomBytes(32).toString('base64url');
      const key = digest(token);
      const job: Job = {
        label: options.label,
        upstream: upstreamFor(target),
        gate: new JobGate(options.maxConcurrent ?? DEFAULT_MAX_CONCURRENT),
        ended: new AbortController(),
        usage: { requests: 0, failed: 0, promptTokens: 0, completionTokens: 0 },
      };
      tokens.set(key, job);
      return {
        url: `${origin}/v1/chat/completions`,
        baseUrl: `${origin}/v1`,
        headerKey: 'Authorization',
        headerValue: `Bearer ${token}`,
        token,
        usage: () => ({ ...job.usage }),
        close: () => endJob(key, job),
      };
    },

    async stop() {
      for (const [key, entry] of tokens) if (entry !== 'ended') endJob(key, entry);
      const started = listening;
      listening = null;
      if (!started) return;
      const { server } = await started.catch(() => ({ server: null }));
      if (!server) return;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function checkTarget(target: ProxyTarget): void {
  let url: URL;
  try {
    url = new URL(target.baseUrl);
  } catch {
    throw new TypeError(`the proxy target's base URL ${JSON.stringify(target.baseUrl)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new TypeError(`the proxy target's base URL must be http or https, not ${url.protocol}`);
  if (!(target.requestTimeoutMs > 0)) throw new RangeError('the proxy target needs a positive requestTimeoutMs');
}

/** The request's body as a JSON object: 413 past the cap, 400 when it is not a JSON object. */
function readJson(req: IncomingMessage, maxBytes: number): Promise<Record<string, unknown>> {
  const tooLarge = new ProxyError(
    413,
    'invalid_request_error',
    'request_too_large',
    `the request body is larger than ${maxBytes} bytes, which is all the proxy reads`,
  );
  if (Number(req.headers['content-length'] ?? 0) > maxBytes) return Promise.reject(tooLarge);
  // Read by events rather than iterated: leaving an iteration early destroys the socket, and with it
  // the 413 that should tell the caller why.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      if (over) return;
      length += chunk.length;
      if (length <= maxBytes) return void chunks.push(chunk);
      over = true;
      reject(tooLarge);
    });
    req.on('end', () => {
      if (over) return;
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return reject(badRequest('the request body is not valid JSON', 'invalid_json'));
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body))
        return reject(badRequest('the request body must be a JSON object', 'invalid_json'));
      resolve(body as Record<string, unknown>);
    });
    const brokeOff = () => reject(badRequest('the request body broke off before its end', 'incomplete_body'));
    req.on('error', brokeOff);
    req.on('close', brokeOff); // after 'end' this changes nothing: the promise is settled
  });
}

function send(res: ServerResponse, answer: ProxyAnswer): void {
  if (res.destroyed || res.headersSent) return;
  const text = JSON.stringify(answer.body);
  res.writeHead(answer.status, {
    ...answer.headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    // A refused oversized body is not read to its end; the connection goes with it.
    ...(answer.status === 413 ? { connection: 'close' } : {}),
  });
  res.end(text);
}
