/**
 * The bundled reference model: a real OpenAI-compatible HTTP server (chat and legacy completions,
 * streaming, model list) that answers the built-in datasets' prompts, so a fresh install can run a
 * first evaluation with no model of its own. Its knobs (see knobs.ts) inject latency and faults;
 * they can be turned in-process or over HTTP under /_admin, so the same server serves tests, demos
 * and manual poking with curl.
 */
import { answerSafetyPrompt } from './safetyResponder';
import { createHash } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { answerPrompt } from './solver';
import {
  DEFAULT_KNOBS,
  InvalidKnobsError,
  answersCorrectly,
  chooseFault,
  parseKnobs,
  responseDelayMs,
  roll,
  type Fault,
  type Knobs,
} from './knobs';

export const DEFAULT_MODEL_NAME = 'proctor-reference';
const MAX_BODY_BYTES = 16 * 1024 * 1024;
/** A slow body arrives in about this many pieces, whatever its length. */
const TRICKLE_PIECES = 20;

export interface ReferenceModelOptions {
  /** 0 picks a free port. */
  port?: number;
  host?: string;
  knobs?: Partial<Knobs>;
  modelName?: string;
}

export interface ReferenceModelStats {
  /** Inference requests (chat and completions) received, whatever became of them. */
  requests: number;
  /** Inference responses by HTTP status; a hung request has none until it is dropped. */
  byStatus: Record<string, number>;
  inFlight: number;
  /** GET /v1/models requests, to see how often clients look the model up. */
  modelListings: number;
  /**
   * Whole answers sent (non-streamed 200s) and the milliseconds from each request's arrival to its
   * last byte, summed: what the server itself took, to compare with the latency a client saw.
   */
  answered: number;
  answeringMsTotal: number;
  /** Requests the token bucket (bucketRatePerSecond) refused with 429. */
  bucketRefused: number;
}

/**
 * One inference request as the server saw it, so a test can check from outside what a client did:
 * when it came back after a 429, whether it gave up on a slow answer before the last byte.
 */
export interface RequestLogEntry {
  /** Milliseconds since the epoch. */
  receivedAt: number;
  prompt: string;
  /** How many pictures (image_url parts) the request carried. */
  pictures: number;
  /** The body's other fields (model, max_tokens, temperature, stop, top_k, …): the prompt and messages left out. */
  params: Record<string, unknown>;
  /** The attempt number for this prompt, as the fault knobs count it. */
  attempt: number;
  fault: Fault['kind'] | null;
  /** The status sent, or null while nothing was (a hang, or still waiting). */
  status: number | null;
  /** When the connection closed, or null while it is open. */
  endedAt: number | null;
  /** 'client' when the client hung up before the whole answer was sent. */
  closedBy: 'server' | 'client' | null;
}

/** The log keeps the latest entries only, so a long demo run does not grow without bound. */
const REQUEST_LOG_LIMIT = 100_000;

export interface ReferenceModel {
  /** Base URL for OpenAI clients, ending in /v1. */
  url: string;
  port: number;
  setKnobs(k: Partial<Knobs>): void;
  resetKnobs(): void;
  knobs(): Knobs;
  stats(): ReferenceModelStats;
  /** Inference requests received since start (or the last clearRequestLog), oldest first. */
  requestLog(): RequestLogEntry[];
  clearRequestLog(): void;
  close(): Promise<void>;
}

type ApiKind = 'chat' | 'completion';

interface InferenceRequest {
  api: ApiKind;
  /** The text the answer is about: the last user message, or the completion prompt. */
  prompt: string;
  /** The PNG pictures of the last user message's image_url parts (data URLs), in order. */
  pictures: Buffer[];
  promptTokens: number;
  maxTokens: number | null;
  stream: boolean;
  includeUsage: boolean;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string,
    readonly code: string | null,
    readonly param: string | null = null,
  ) {
    super(message);
  }
}

export async function startReferenceModel(options: ReferenceModelOptions = {}): Promise<ReferenceModel> {
  const modelName = options.modelName ?? DEFAULT_MODEL_NAME;
  const host = options.host ?? '127.0.0.1';
  let knobs: Knobs = { ...DEFAULT_KNOBS, ...parseKnobs(options.knobs ?? {}) };
  // Attempt numbers per prompt start again whenever the knobs change, so "the first N attempts
  // fail" and every random fault mean the same thing after each change.
  let attempts = new Map<string, number>();
  const stats: ReferenceModelStats = {
    requests: 0,
    byStatus: {},
    inFlight: 0,
    modelListings: 0,
    answered: 0,
    answeringMsTotal: 0,
    bucketRefused: 0,
  };
  let created = 0;
  const inferenceResponses = new WeakSet<ServerResponse>();
  let requestLog: RequestLogEntry[] = [];
  /** Responses the server cut off on purpose (truncated bodies), so the log does not blame the client. */
  const serverDropped = new WeakSet<ServerResponse>();
  const isInference = (res: ServerResponse) => inferenceResponses.has(res);

  const setKnobs = (k: Partial<Knobs>) => {
    knobs = { ...knobs, ...parseKnobs(k) };
    attempts = new Map();
  };
  const resetKnobs = () => {
    knobs = { ...DEFAULT_KNOBS };
    attempts = new Map();
  };

  async function route(req: IncomingMessage, res: ServerResponse, arrivedAt: number): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://reference.invalid').pathname.replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';

    if (path === '/healthz') return only(method, 'GET', () => sendJson(res, 200, { status: 'ok', model: modelName }));
    if (path === '/_admin/knobs' && method === 'PUT') {
      const body = await readJson(req);
      try {
        setKnobs(body as Partial<Knobs>);
      } catch (error) {
        if (error instanceof InvalidKnobsError) {
          return sendJson(res, 400, {
            error: {
              message: error.message,
              type: 'invalid_request_error',
              code: 'invalid_knobs',
              problems: error.problems,
            },
          });
        }
        throw error;
      }
      return sendJson(res, 200, knobs);
    }
    if (path === '/_admin/knobs') return only(method, 'GET', () => sendJson(res, 200, knobs));
    if (path === '/_admin/knobs/reset') {
      return only(method, 'POST', () => {
        resetKnobs();
        sendJson(res, 200, knobs);
      });
    }
    if (path === '/_admin/stats') return only(method, 'GET', () => sendJson(res, 200, snapshotStats()));

    if (path === '/v1/chat/completions' || path === '/v1/completions') {
      if (method !== 'POST')
        throw new HttpError(405, `use POST for ${path}`, 'invalid_request_error', 'method_not_allowed');
      return infer(req, res, path === '/v1/chat/completions' ? 'chat' : 'completion', arrivedAt);
    }
    if (path === '/v1/models' || path.startsWith('/v1/models/')) {
      if (path === '/v1/models') stats.modelListings += 1;
      checkApiKey(req, knobs);
      return only(method, 'GET', () => {
        if (path === '/v1/models') return sendJson(res, 200, { object: 'list', data: [modelCard()] });
        const id = decodeURIComponent(path.slice('/v1/models/'.length));
        if (id !== modelName) throw unknownModel(id, modelName);
        return sendJson(res, 200, modelCard());
      });
    }
    throw new HttpError(404, `no route for ${method} ${path}`, 'invalid_request_error', 'unknown_url');

    function only(actual: string, expected: string, then: () => void): void {
      if (actual !== expected)
        throw new HttpError(405, `use ${expected} for ${path}`, 'invalid_request_error', 'method_not_allowed');
      then();
    }
  }

  function modelCard() {
    return { id: modelName, object: 'model', created: 1_700_000_000, owned_by: 'proctor' };
  }

  /** The token bucket of bucketRatePerSecond: null when a request may go, else the ms until the next token. */
  let bucket = { tokens: 0, at: 0, rate: 0, burst: 0 };
  function takeBucketToken(k: Knobs): number | null {
    if (k.bucketRatePerSecond <= 0) return null;
    const burst = k.bucketBurst > 0 ? k.bucketBurst : k.bucketRatePerSecond;
    const now = performance.now();
    if (bucket.rate !== k.bucketRatePerSecond || bucket.burst !== burst)
      bucket = { tokens: burst, at: now, rate: k.bucketRatePerSecond, burst };
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * bucket.rate);
    bucket.at = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return null;
    }
    return Math.max(1, Math.ceil(((1 - bucket.tokens) / bucket.rate) * 1000));
  }

  async function infer(req: IncomingMessage, res: ServerResponse, api: ApiKind, arrivedAt: number): Promise<void> {
    inferenceResponses.add(res);
    stats.requests += 1;
    const requestNumber = stats.requests;
    stats.inFlight += 1;
    const connection = { gone: false };
    const entry: RequestLogEntry = {
      receivedAt: Date.now(),
      prompt: '',
      pictures: 0,
      params: {},
      attempt: 0,
      fault: null,
      status: null,
      endedAt: null,
      closedBy: null,
    };
    if (requestLog.length >= REQUEST_LOG_LIMIT) requestLog = requestLog.slice(REQUEST_LOG_LIMIT / 2);
    requestLog.push(entry);
    res.on('close', () => {
      stats.inFlight -= 1;
      if (!res.writableFinished) connection.gone = true;
      entry.endedAt = Date.now();
      entry.status = res.headersSent ? res.statusCode : null;
      // A connection we destroyed on purpose (truncated bodies) is the server's doing, not the client's.
      entry.closedBy = res.writableFinished || serverDropped.has(res) ? 'server' : 'client';
    });
    // Knobs turned while this request waits apply to the next one, not to this.
    const k = knobs;
    const attemptMap = attempts;

    const body = await readJson(req);
    checkApiKey(req, k);
    const request = parseInferenceRequest(api, body, modelName);
    // The bucket refuses before anything else, as a provider's gateway does: no attempt is counted.
    const bucketWaitMs = takeBucketToken(k);
    if (bucketWaitMs !== null) {
      stats.bucketRefused += 1;
      Object.assign(entry, { prompt: request.prompt, fault: 'rate_limited' });
      setRetryAfter(res, bucketWaitMs / 1000);
      throw new HttpError(
        429,
        `Rate limit reached for ${modelName}: ${k.bucketRatePerSecond} requests per second; retry after ${bucketWaitMs} ms.`,
        'requests',
        'rate_limit_exceeded',
      );
    }
    const attempt = nextAttempt(attemptMap, k, request.prompt);

    const fault = chooseFault(k, request.prompt, attempt);
    Object.assign(entry, {
      prompt: request.prompt,
      pictures: request.pictures.length,
      params: requestParams(body),
      attempt,
      fault: fault?.kind ?? null,
    });
    if (fault?.kind === 'hang') return; // the socket stays open until the client gives up
    // The latency knob is the server's whole time to answer, counted from the request's arrival:
    // reading and parsing the body is part of it, not added on top.
    if (!(await pauseUntil(res, connection, arrivedAt + responseDelayMs(k, request.prompt, attempt)))) return;

    if (fault?.kind === 'error') {
      if (fault.status === 429) setRetryAfter(res, k.retryAfterSeconds);
      throw new HttpError(
        fault.status,
        `injected failure: HTTP ${fault.status} (attempt ${attempt} for this prompt)`,
        fault.status >= 500 ? 'server_error' : 'invalid_request_error',
        null,
      );
    }
    if (fault?.kind === 'rate_limited') {
      setRetryAfter(res, fault.retryAfterSeconds);
      throw new HttpError(
        429,
        `Rate limit reached for ${modelName}; retry after ${fault.retryAfterSeconds} s.`,
        'requests',
        'rate_limit_exceeded',
      );
    }

    const correct = answersCorrectly(k, request.prompt);
    const full =
      answerSafetyPrompt(request.prompt, k.safety) ??
      answerPrompt(
        request.prompt,
        { correct, verbose: k.verbose, pick: roll(k.seed, request.prompt, 0, 'wrong-answer') },
        request.pictures,
      );
    const { text, tokens, finishReason } = limitTokens(full, request.maxTokens);
    const id = `${api === 'chat' ? 'chatcmpl' : 'cmpl'}-ref${(++created).toString(36)}`;
    const switched = k.switchAfterRequests > 0 && requestNumber > k.switchAfterRequests;
    const base = {
      id,
      object: api === 'chat' ? 'chat.completion' : 'text_completion',
      created: Math.floor(Date.now() / 1000),
      model: switched ? (k.switchedModel ?? modelName) : modelName,
    };
    const systemFingerprint = switched ? (k.switchedFingerprint ?? k.systemFingerprint) : k.systemFingerprint;
    const usage = {
      prompt_tokens: request.promptTokens,
      completion_tokens: tokens,
      total_tokens: request.promptTokens + tokens,
    };

    if (request.stream)
      return stream(
        res,
        connection,
        api,
        base,
        text,
        finishReason,
        request.includeUsage && k.reportUsage ? usage : null,
        fault,
        k,
      );

    const choices =
      fault?.kind === 'empty_choices'
        ? []
        : [
            api === 'chat'
              ? {
                  index: 0,
                  message: { role: 'assistant', content: text, refusal: null },
                  logprobs: null,
                  finish_reason: finishReason,
                }
              : { index: 0, text, logprobs: null, finish_reason: finishReason },
          ];
    const json = JSON.stringify({
      ...base,
      choices,
      ...(k.reportUsage ? { usage } : {}),
      system_fingerprint: systemFingerprint,
    });
    if (fault?.kind === 'malformed') {
      // A body that looks like JSON and is not: a bare NaN where the content should be.
      return sendRaw(res, 200, 'application/json', json.replace(JSON.stringify(text), 'NaN'));
    }
    if (fault?.kind === 'truncated') return sendTruncated(res, json);
    if (fault?.kind === 'slow_body') return sendTrickled(res, connection, json, fault.durationMs);
    sendRaw(res, 200, 'application/json', json);
    stats.answered += 1;
    stats.answeringMsTotal += performance.now() - arrivedAt;
  }

  async function stream(
    res: ServerResponse,
    connection: { gone: boolean },
    api: ApiKind,
    base: { id: string; object: string; created: number; model: string },
    text: string,
    finishReason: string,
    usage: object | null,
    fault: Fault | null,
    k: Knobs,
  ): Promise<void> {
    record(200);
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    const object = api === 'chat' ? 'chat.completion.chunk' : 'text_completion';
    const choice = (piece: string | null, finish: string | null) =>
      api === 'chat'
        ? {
            index: 0,
            delta: piece === null ? {} : { ...(piece === '' ? { role: 'assistant' } : {}), content: piece },
            logprobs: null,
            finish_reason: finish,
          }
        : { index: 0, text: piece ?? '', logprobs: null, finish_reason: finish };

    const chunks: object[] = [];
    if (fault?.kind === 'empty_choices') chunks.push({ ...base, object, choices: [] });
    else {
      if (api === 'chat') chunks.push({ ...base, object, choices: [choice('', null)] });
      for (const piece of text.match(/\s*\S+/g) ?? []) chunks.push({ ...base, object, choices: [choice(piece, null)] });
      chunks.push({ ...base, object, choices: [choice(null, finishReason)] });
    }
    if (usage) chunks.push({ ...base, object, choices: [], usage });

    const cutAt = fault?.kind === 'truncated' ? Math.max(1, Math.floor(chunks.length / 2)) : Infinity;
    // A slow stream spreads its chunks over the whole duration, however few there are.
    const chunkDelayMs =
      fault?.kind === 'slow_body'
        ? Math.max(k.streamChunkDelayMs, fault.durationMs / Math.max(1, chunks.length))
        : k.streamChunkDelayMs;
    let flushed: Promise<void> = Promise.resolve();
    for (let i = 0; i < chunks.length; i++) {
      if (i >= cutAt) {
        // Drop the connection only once the first half is on the wire, as a crashing server would.
        await flushed;
        serverDropped.add(res);
        res.destroy();
        return;
      }
      if (i > 0 && !(await pause(res, connection, chunkDelayMs))) return;
      if (connection.gone) return;
      const data = fault?.kind === 'malformed' && i === chunks.length - 1 ? '{"id": oops' : JSON.stringify(chunks[i]);
      flushed = new Promise((resolve) => res.write(`data: ${data}\n\n`, () => resolve()));
    }
    res.end('data: [DONE]\n\n');
  }

  function record(status: number) {
    stats.byStatus[status] = (stats.byStatus[status] ?? 0) + 1;
  }

  function snapshotStats(): ReferenceModelStats {
    return { ...stats, byStatus: { ...stats.byStatus } };
  }

  function sendJson(res: ServerResponse, status: number, body: unknown) {
    sendRaw(res, status, 'application/json', JSON.stringify(body));
  }

  function sendRaw(res: ServerResponse, status: number, contentType: string, body: string) {
    if (res.headersSent || res.destroyed) return;
    if (isInference(res)) record(status);
    res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  /** Declares the full length, sends half, and drops the connection. */
  function sendTruncated(res: ServerResponse, body: string) {
    record(200);
    const bytes = Buffer.from(body);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': bytes.length });
    serverDropped.add(res);
    res.write(bytes.subarray(0, Math.floor(bytes.length / 2)), () => res.destroy());
  }

  /**
   * Headers at once, then the body in small pieces spread over `durationMs`: a model that starts
   * answering promptly and then crawls, which only a timeout on the whole body catches.
   */
  async function sendTrickled(res: ServerResponse, connection: { gone: boolean }, body: string, durationMs: number) {
    record(200);
    const bytes = Buffer.from(body);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': bytes.length });
    res.flushHeaders();
    const pieces = Math.min(TRICKLE_PIECES, bytes.length);
    const size = Math.ceil(bytes.length / pieces);
    for (let offset = 0; offset < bytes.length; offset += size) {
      if (!(await pause(res, connection, durationMs / pieces))) return;
      if (connection.gone) return;
      res.write(bytes.subarray(offset, offset + size));
    }
    res.end();
  }

  const server = http.createServer((req, res) => {
    route(req, res, performance.now()).catch((error: unknown) => {
      if (error instanceof HttpError) {
        return sendJson(res, error.status, {
          error: { message: error.message, type: error.type, code: error.code, param: error.param },
        });
      }
      sendJson(res, 500, {
        error: {
          message: `reference model failure: ${(error as Error).message}`,
          type: 'server_error',
          code: null,
          param: null,
        },
      });
    });
  });
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | null = null;

  return {
    url: `http://${urlHost(host)}:${port}/v1`,
    port,
    setKnobs,
    resetKnobs,
    knobs: () => ({ ...knobs }),
    stats: snapshotStats,
    requestLog: () => requestLog.map((e) => ({ ...e })),
    clearRequestLog: () => {
      requestLog = [];
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Hung and streaming requests would otherwise hold close() open forever.
        for (const socket of sockets) socket.destroy();
      });
      return closing;
    },
  };
}

/**
 * This request's attempt number for its prompt (from 1). Only the fault knobs and jitter depend on
 * it, so a healthy model keeps no per-prompt memory; when counting, prompts are stored as digests
 * so a long run over a large dataset stays small.
 */
function nextAttempt(counts: Map<string, number>, k: Knobs, prompt: string): number {
  const needed =
    k.failFirstAttempts > 0 ||
    k.jitterMs > 0 ||
    k.errorRate > 0 ||
    k.rateLimitRate > 0 ||
    k.hangRate > 0 ||
    k.malformedRate > 0 ||
    k.truncatedRate > 0 ||
    k.emptyChoicesRate > 0 ||
    k.slowBodyRate > 0;
  if (!needed) return 1;
  const key = createHash('sha1').update(prompt).digest('base64');
  const attempt = (counts.get(key) ?? 0) + 1;
  counts.set(key, attempt);
  return attempt;
}

/** Retry-After must be whole seconds; OpenAI's retry-after-ms carries the exact value. */
function setRetryAfter(res: ServerResponse, seconds: number): void {
  res.setHeader('retry-after', String(Math.ceil(seconds)));
  res.setHeader('retry-after-ms', String(Math.round(seconds * 1000)));
}

function checkApiKey(req: IncomingMessage, k: Knobs): void {
  if (k.requiredApiKey === null) return;
  const header = req.headers.authorization ?? '';
  const given = /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim() ?? null;
  if (given === k.requiredApiKey) return;
  // Like real providers, echo what was sent: clients must keep keys out of their own error
  // messages, and this lets tests prove they do.
  throw new HttpError(
    401,
    given === null
      ? "You didn't provide an API key (Authorization: Bearer <key>)."
      : `Incorrect API key provided: ${given}.`,
    'invalid_request_error',
    'invalid_api_key',
  );
}

function requestParams(body: unknown): Record<string, unknown> {
  const { prompt: _prompt, messages: _messages, ...params } = body as Record<string, unknown>;
  return params;
}

function parseInferenceRequest(api: ApiKind, body: unknown, modelName: string): InferenceRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw badRequest('the request body must be a JSON object', null);
  const b = body as Record<string, unknown>;
  if (typeof b.model !== 'string' || b.model === '') throw badRequest('you must provide a model parameter', 'model');
  if (b.model !== modelName) throw unknownModel(b.model, modelName);
  if (b.n !== undefined && b.n !== null && b.n !== 1) throw badRequest('only n=1 is supported', 'n');
  const limit = b.max_completion_tokens ?? b.max_tokens;
  if (limit !== undefined && limit !== null && !(Number.isInteger(limit) && (limit as number) >= 1)) {
    throw badRequest(
      'max_tokens must be a positive integer',
      b.max_completion_tokens !== undefined ? 'max_completion_tokens' : 'max_tokens',
    );
  }
  const streamOptions = b.stream_options as { include_usage?: unknown } | undefined;
  const common = {
    maxTokens: (limit as number | null | undefined) ?? null,
    stream: b.stream === true,
    includeUsage: streamOptions?.include_usage === true,
  };

  if (api === 'completion') {
    const prompt = Array.isArray(b.prompt) && b.prompt.length === 1 ? b.prompt[0] : b.prompt;
    if (typeof prompt !== 'string') throw badRequest('prompt must be a string', 'prompt');
    return { api, prompt, pictures: [], promptTokens: countTokens(prompt), ...common };
  }

  if (!Array.isArray(b.messages) || b.messages.length === 0)
    throw badRequest('messages must be a non-empty array', 'messages');
  const messages = b.messages.map((m: unknown, i: number) => {
    const message = m as { role?: unknown; content?: unknown };
    if (typeof message !== 'object' || message === null || typeof message.role !== 'string')
      throw badRequest(`messages[${i}] must have a role`, `messages[${i}]`);
    return { role: message.role, content: contentText(message.content), pictures: contentPictures(message.content, i) };
  });
  const lastUser = [...messages].reverse().find((m) => m.role === 'user');
  if (!lastUser) throw badRequest('messages must include a user message', 'messages');
  return {
    api,
    prompt: lastUser.content,
    pictures: lastUser.pictures,
    promptTokens: messages.reduce((n, m) => n + countTokens(m.content), 0),
    ...common,
  };
}

/**
 * Message content is a string or a list of parts: the text parts, each picture part standing as
 * `<image N>` (numbered in order) where it was, as the question placed it.
 */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let pictures = 0;
  return content
    .map((part) => {
      const type = part && typeof part === 'object' ? (part as { type?: unknown }).type : undefined;
      if (type === 'text') return String((part as { text?: unknown }).text ?? '');
      if (type === 'image_url') return `<image ${++pictures}>`;
      return '';
    })
    .join('');
}

/** The pictures of a message's image_url parts; only base64 data URLs (this model fetches nothing). */
function contentPictures(content: unknown, index: number): Buffer[] {
  if (!Array.isArray(content)) return [];
  return content.flatMap((part, k) => {
    if (!part || typeof part !== 'object' || (part as { type?: unknown }).type !== 'image_url') return [];
    const url = (part as { image_url?: { url?: unknown } }).image_url?.url;
    const m = typeof url === 'string' ? /^data:image\/[a-z+.-]+;base64,([A-Za-z0-9+/=\s]+)$/.exec(url) : null;
    if (!m)
      throw badRequest(
        'image_url.url must be a data URL (data:image/png;base64,…); this model fetches no URLs',
        `messages[${index}].content[${k}].image_url.url`,
      );
    return [Buffer.from(m[1]!, 'base64')];
  });
}

function unknownModel(name: string, modelName: string): HttpError {
  return new HttpError(
    404,
    `The model '${name}' does not exist; this endpoint serves '${modelName}'.`,
    'invalid_request_error',
    'model_not_found',
    'model',
  );
}

function badRequest(message: string, param: string | null): HttpError {
  return new HttpError(400, message, 'invalid_request_error', null, param);
}

/** Whitespace-separated words stand in for tokens: crude, but stable and easy to reason about in tests. */
function countTokens(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

function limitTokens(
  text: string,
  maxTokens: number | null,
): { text: string; tokens: number; finishReason: 'stop' | 'length' } {
  const pieces = text.match(/\s*\S+/g) ?? [];
  if (maxTokens === null || pieces.length <= maxTokens) return { text, tokens: pieces.length, finishReason: 'stop' };
  return { text: pieces.slice(0, maxTokens).join('').trimStart(), tokens: maxTokens, finishReason: 'length' };
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES)
      throw new HttpError(
        413,
        `request body larger than ${MAX_BODY_BYTES} bytes`,
        'invalid_request_error',
        'body_too_large',
      );
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'the request body is not valid JSON', 'invalid_request_error', 'invalid_json');
  }
}

/** Waits, unless the client disconnects first; false means there is nobody left to answer. */
function pause(res: ServerResponse, connection: { gone: boolean }, ms: number): Promise<boolean> {
  return pauseUntil(res, connection, performance.now() + ms);
}

/**
 * Waits until `deadline` (performance.now() time), to within half a millisecond, the resolution
 * of Node's timers. Node starts a timer's count from the event loop's cached clock, which lags the
 * real one by whatever the current turn has taken, so a timer alone fires up to a millisecond or
 * more early; one that did is set again for the rest. Rounding the rest, rather than always
 * waiting a further whole millisecond, keeps the mean wait on the deadline instead of past it.
 */
function pauseUntil(res: ServerResponse, connection: { gone: boolean }, deadline: number): Promise<boolean> {
  if (connection.gone) return Promise.resolve(false);
  if (deadline - performance.now() < 0.5) return Promise.resolve(true);
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout;
    const onClose = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const arm = () => {
      const left = deadline - performance.now();
      if (left < 0.5) {
        res.off('close', onClose);
        return resolve(true);
      }
      timer = setTimeout(arm, Math.round(left));
    };
    res.once('close', onClose);
    arm();
  });
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}
