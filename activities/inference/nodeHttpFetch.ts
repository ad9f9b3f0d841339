/**
 * The `fetch` the OpenAI SDK is given for model endpoints: node:http(s) with kept-alive
 * connections underneath, a standard Response on top. The SDK keeps doing what it is for (request
 * shape, error types, Retry-After, timeouts by abort); only the transport changes. Measured on the
 * 2-core benchmark machine (bench/README.md), Node's built-in fetch cost several times the CPU of
 * node:http per request, and at a few hundred requests a second that made the worker's event
 * loop, not the endpoint under evaluation, the limit of a run.
 */
import http from 'node:http';
import https from 'node:https';
import zlib from 'node:zlib';
import type { Readable } from 'node:stream';
import type { EndpointNetworkPolicy } from '../../config/endpointNetworks';
import { DeniedNetworkError, guardedLookup } from './guardedLookup';

/**
 * Connections shared by every batch of the process, as fetch shares its dispatcher. Idle sockets
 * are closed after 4 s, before the 5 s keep-alive timeout common servers (Node among them) apply,
 * so a request rarely lands on a socket the server is closing.
 */
const AGENT_OPTIONS = { keepAlive: true, timeout: 4_000, maxFreeSockets: 1_024, scheduling: 'lifo' as const };
type Agents = { 'http:': http.Agent; 'https:': https.Agent };
const makeAgents = (extra: http.AgentOptions = {}): Agents => ({
  'http:': new http.Agent({ ...AGENT_OPTIONS, ...extra }),
  'https:': new https.Agent({ ...AGENT_OPTIONS, ...extra }),
});
const openAgents = makeAgents();
// Requests under a network policy keep their own connections, each opened through the policy's
// lookup: a kept-alive socket is reused by host and port alone, and one opened without the check
// must not carry a request that needs it.
const guardedAgents = new WeakMap<EndpointNetworkPolicy, Agents>();
function agentsFor(networks: EndpointNetworkPolicy | null | undefined): Agents {
  if (!networks) return openAgents;
  let agents = guardedAgents.get(networks);
  if (!agents) guardedAgents.set(networks, (agents = makeAgents({ lookup: guardedLookup(networks) })));
  return agents;
}

/** Largest answer read by default, after decompression: far above any completion, far below a worker's memory. */
export const DEFAULT_MAX_ANSWER_BYTES = 32 * 2 ** 20;

/** An answer longer than the request may read; the inference error kind `too_large`. */
export class AnswerTooLargeError extends Error {
  override name = 'AnswerTooLargeError';

  constructor(readonly limitBytes: number) {
    super(`the answer was larger than ${formatBytes(limitBytes)}, which is all a request reads; it was cut off there`);
  }
}

function formatBytes(bytes: number): string {
  return bytes % 2 ** 20 === 0
    ? `${bytes / 2 ** 20} MiB`
    : bytes % 1024 === 0
      ? `${bytes / 1024} KiB`
      : `${bytes} bytes`;
}

/** How requests reach an endpoint. */
export interface EndpointTransport {
  /** The networks refused (a user-named endpoint); null or absent: any (the platform's own containers and judge). */
  networks?: EndpointNetworkPolicy | null;
  /** Largest answer read, after decompression; a longer one fails the request. */
  maxAnswerBytes?: number;
}

/** Errors shaped as fetch shapes them, so the SDK and classifyInferenceError read them as usual. */
const fetchFailed = (cause: unknown) => new TypeError('fetch failed', { cause });
const abortError = () => new DOMException('This operation was aborted', 'AbortError');

/**
 * A fetch whose requests also end when `stop` aborts. Passing a batch-wide signal to the SDK on
 * every call makes it compose a new one per request (AbortSignal.any), which cost CPU and, held
 * through weak references until a full collection, most of the worker's major GCs (bench/README.md);
 * here every request of the batch is ended by the one listener `stop` has.
 */
export function fetchStoppedBy(stop: AbortSignal, transport: EndpointTransport = {}): typeof fetch {
  const inFlight = new Set<() => void>();
  stop.addEventListener(
    'abort',
    () => {
      for (const end of [...inFlight]) end();
    },
    { once: true },
  );
  return ((input: string | URL | Request, init?: RequestInit) =>
    nodeHttpFetch(input, init, { ...transport, stop, inFlight })) as typeof fetch;
}

/** A fetch over this transport, for clients without a batch-wide stop. */
export function fetchOver(transport: EndpointTransport): typeof fetch {
  return ((input: string | URL | Request, init?: RequestInit) => nodeHttpFetch(input, init, transport)) as typeof fetch;
}

interface RequestOptions extends EndpointTransport {
  stop?: AbortSignal;
  inFlight?: Set<() => void>;
}

export async function nodeHttpFetch(
  input: string | URL | Request,
  init: RequestInit = {},
  options: RequestOptions = {},
): Promise<Response> {
  const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
  const agent = agentsFor(options.networks)[url.protocol as keyof Agents];
  if (!agent) throw fetchFailed(new Error(`unsupported protocol ${url.protocol}`));
  // An address literal is connected to without a lookup, so the policy is asked here.
  const refused = options.networks?.refusingHost(url.hostname);
  if (refused) throw fetchFailed(new DeniedNetworkError(refused.address, refused.address, refused.network));
  const maxAnswerBytes = options.maxAnswerBytes ?? DEFAULT_MAX_ANSWER_BYTES;
  const signal = init.signal ?? undefined;
  if (signal?.aborted || options.stop?.aborted) throw abortError();
  const body = await bodyBytes(init.body);
  const headers: Record<string, string | number> = {};
  // The SDK hands over a Headers already; copying it into another first was a tenth of this function.
  (init.headers instanceof Headers ? init.headers : new Headers(init.headers)).forEach(
    (value, name) => (headers[name] = value),
  );
  if (body) headers['content-length'] = body.length;

  const transport = url.protocol === 'https:' ? https : http;
  return new Promise<Response>((resolve, reject) => {
    let settled = false;
    let answered = false;
    const finish = (error: unknown, response?: Response) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      options.inFlight?.delete(onAbort);
      if (error) {
        request.destroy();
        reject(error);
      } else resolve(response!);
    };
    const onAbort = () => finish(abortError());
    signal?.addEventListener('abort', onAbort, { once: true });
    options.inFlight?.add(onAbort);

    const request = transport.request(url, { method: init.method ?? 'GET', agent, headers }, (res) => {
      answered = true;
      // The body as sent: a service that compresses anyway is still understood.
      const encoding = String(res.headers['content-encoding'] ?? '').toLowerCase();
      const stream: Readable =
        encoding === 'gzip' || encoding === 'x-gzip'
          ? res.pipe(zlib.createGunzip())
          : encoding === 'deflate'
            ? res.pipe(zlib.createInflate())
            : encoding === 'br'
              ? res.pipe(zlib.createBrotliDecompress())
              : res;
      const chunks: Buffer[] = [];
      let length = 0;
      stream.on('data', (chunk: Buffer) => {
        length += chunk.length;
        // Counted after decompression, so a small compressed bomb is stopped as early as a long body.
        if (length > maxAnswerBytes) finish(fetchFailed(new AnswerTooLargeError(maxAnswerBytes)));
        else chunks.push(chunk);
      });
      // A Response cannot be made with a status outside 200–599; fetch fails such an answer too.
      const status = res.statusCode ?? 0;
      const respond = (bytes: Buffer | Error) =>
        status >= 200 && status <= 599
          ? finish(null, new BufferedResponse(bytes, res) as unknown as Response)
          : finish(fetchFailed(new Error(`the server answered with HTTP status ${status}, which is no final status`)));
      stream.on('end', () => respond(Buffer.concat(chunks)));
      // As fetch does when a body stops short: the answer itself arrived, reading its body fails.
      const cutOff = (cause?: Error) =>
        respond(
          new TypeError('terminated', {
            cause: cause ?? Object.assign(new Error('other side closed'), { code: 'ECONNRESET' }),
          }),
        );
      stream.on('error', cutOff);
      if (stream !== res) res.on('error', cutOff);
      res.on('close', () => {
        if (!res.complete) cutOff();
      });
    });
    request.on('error', (error) => {
      if (answered) return; // the response's own handlers report a body that broke off
      finish(fetchFailed(error));
    });
    request.end(body);
  });
}

async function bodyBytes(body: RequestInit['body']): Promise<Buffer | undefined> {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return Buffer.from(body as ArrayBuffer);
  // Form data, blobs and streams: rare for completions; let the platform serialise them.
  return Buffer.from(await new Response(body).arrayBuffer());
}

/** Statuses whose response cannot carry a body; fetch gives null there. */
const NULL_BODY_STATUSES = new Set([204, 205, 304]);

/**
 * Response as this module extends it. The DOM typings declare Response's body and readers as
 * instance properties, which TypeScript will not let a subclass redefine as accessors and methods,
 * though at run time they live on the prototype like any class's.
 */
const ResponseBase = Response as unknown as new (body: null, init: ResponseInit) => { readonly headers: Headers };

/**
 * A response whose body is already in memory. The SDK reads every answer with text(); serving it
 * straight from the buffer skips the web stream a Response body otherwise goes through, which
 * was a tenth of the client's CPU per request. Anyone reading `body` still gets a stream. A
 * subclass rather than an instance patched with closures: this runs for every answer, and the
 * per-answer objects were a good part of what the worker's collector had to clear.
 */
class BufferedResponse extends ResponseBase {
  #held: Buffer | Error | null;

  constructor(bytes: Buffer | Error, res: http.IncomingMessage) {
    const status = res.statusCode ?? 0;
    super(null, { status, statusText: res.statusMessage ?? '' });
    // Raw name/value pairs, appended once, instead of a Headers built to be copied by the constructor.
    const raw = res.rawHeaders;
    for (let i = 0; i + 1 < raw.length; i += 2) this.headers.append(raw[i]!, raw[i + 1]!);
    this.#held = NULL_BODY_STATUSES.has(status) ? null : bytes;
  }

  #take(): Buffer {
    const taken = this.#held ?? Buffer.alloc(0);
    this.#held = null;
    if (taken instanceof Error) throw taken;
    return taken;
  }

  get body(): ReadableStream<Uint8Array> | null {
    if (this.#held === null) return null;
    try {
      const chunk = new Uint8Array(this.#take());
      return new ReadableStream({ start: (c) => (c.enqueue(chunk), c.close()) });
    } catch (error) {
      return new ReadableStream({ start: (c) => c.error(error) });
    }
  }

  get bodyUsed(): boolean {
    return this.#held === null;
  }

  async text(): Promise<string> {
    return this.#take().toString('utf8');
  }

  async json(): Promise<unknown> {
    return JSON.parse(this.#take().toString('utf8'));
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const b = this.#take();
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
  }
}
