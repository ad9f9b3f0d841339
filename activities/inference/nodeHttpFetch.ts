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

/**
 * Connections shared by every batch of the process, as fetch shares its dispatcher. Idle sockets
 * are closed after 4 s, before the 5 s keep-alive timeout common servers (Node among them) apply,
 * so a request rarely lands on a socket the server is closing.
 */
const AGENT_OPTIONS = { keepAlive: true, timeout: 4_000, maxFreeSockets: 1_024, scheduling: 'lifo' as const };
const agents = { 'http:': new http.Agent(AGENT_OPTIONS), 'https:': new https.Agent(AGENT_OPTIONS) };

/** Errors shaped as fetch shapes them, so the SDK and classifyInferenceError read them as usual. */
const fetchFailed = (cause: unknown) => new TypeError('fetch failed', { cause });
const abortError = () => new DOMException('This operation was aborted', 'AbortError');

/**
 * A fetch whose requests also end when `stop` aborts. Passing a batch-wide signal to the SDK on
 * every call makes it compose a new one per request (AbortSignal.any), which cost CPU and, held
 * through weak references until a full collection, most of the worker's major GCs (bench/README.md);
 * here every request of the batch is ended by the one listener `stop` has.
 */
export function fetchStoppedBy(stop: AbortSignal): typeof fetch {
  const inFlight = new Set<() => void>();
  stop.addEventListener('abort', () => {
    for (const end of [...inFlight]) end();
  }, { once: true });
  return ((input: string | URL | Request, init?: RequestInit) => nodeHttpFetch(input, init, { stop, inFlight })) as typeof fetch;
}

interface Stopper {
  stop: AbortSignal;
  inFlight: Set<() => void>;
}

export async function nodeHttpFetch(input: string | URL | Request, init: RequestInit = {}, stopper?: Stopper): Promise<Response> {
  const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
  const agent = agents[url.protocol as keyof typeof agents];
  if (!agent) throw fetchFailed(new Error(`unsupported protocol ${url.protocol}`));
  const signal = init.signal ?? undefined;
  if (signal?.aborted || stopper?.stop.aborted) throw abortError();
  const body = await bodyBytes(init.body);
  const headers: Record<string, string | number> = {};
  new Headers(init.headers).forEach((value, name) => (headers[name] = value));
  if (body) headers['content-length'] = body.length;

  const transport = url.protocol === 'https:' ? https : http;
  return new Promise<Response>((resolve, reject) => {
    let settled = false;
    let answered = false;
    const finish = (error: unknown, response?: Response) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      stopper?.inFlight.delete(onAbort);
      if (error) {
        request.destroy();
        reject(error);
      } else resolve(response!);
    };
    const onAbort = () => finish(abortError());
    signal?.addEventListener('abort', onAbort, { once: true });
    stopper?.inFlight.add(onAbort);

    const request = transport.request(url, { method: init.method ?? 'GET', agent, headers }, (res) => {
      answered = true;
      // The body as sent: a service that compresses anyway is still understood.
      const encoding = String(res.headers['content-encoding'] ?? '').toLowerCase();
      const stream: Readable =
        encoding === 'gzip' || encoding === 'x-gzip' ? res.pipe(zlib.createGunzip())
        : encoding === 'deflate' ? res.pipe(zlib.createInflate())
        : encoding === 'br' ? res.pipe(zlib.createBrotliDecompress())
        : res;
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const init = { status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', headers: responseHeaders(res.headers) };
        finish(null, bufferedResponse(Buffer.concat(chunks), init));
      });
      // As fetch does when a body stops short: the answer itself arrived, reading its body fails.
      const cutOff = (cause?: Error) => {
        const error = new TypeError('terminated', { cause: cause ?? Object.assign(new Error('other side closed'), { code: 'ECONNRESET' }) });
        finish(null, bufferedResponse(error, { status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', headers: responseHeaders(res.headers) }));
      };
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

function responseHeaders(raw: http.IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  return headers;
}

/**
 * A response whose body is already in memory. The SDK reads every answer with text(); serving it
 * straight from the buffer skips the web stream a Response body otherwise goes through, which
 * was a tenth of the client's CPU per request. Anyone reading `body` still gets a stream.
 */
function bufferedResponse(bytes: Buffer | Error, init: ResponseInit): Response {
  const response = new Response(null, init);
  // A Response cannot carry a body with these statuses; fetch gives null there too.
  let held: Buffer | Error | null = init.status === 204 || init.status === 205 || init.status === 304 ? null : bytes;
  const take = (): Buffer => {
    const taken = held ?? Buffer.alloc(0);
    held = null;
    if (taken instanceof Error) throw taken;
    return taken;
  };
  const text = async () => take().toString('utf8');
  const stream = (): ReadableStream<Uint8Array> => {
    try {
      const chunk = new Uint8Array(take());
      return new ReadableStream({ start: (c) => (c.enqueue(chunk), c.close()) });
    } catch (error) {
      return new ReadableStream({ start: (c) => c.error(error) });
    }
  };
  Object.defineProperties(response, {
    body: {
      get: (): ReadableStream<Uint8Array> | null => (held ? stream() : null),
    },
    bodyUsed: { get: () => held === null },
    text: { value: text },
    json: { value: async () => JSON.parse(await text()) },
    arrayBuffer: {
      value: async () => {
        const b = take();
        return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
      },
    },
  });
  return response;
}
