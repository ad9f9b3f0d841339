/**
 * HTTP for the CLI, on node:http(s): a request whose body is streamed as it is produced (chunked),
 * with the bytes sent reported as they go. The server may answer before the body is complete (a
 * refused token, a limit passed): then sending stops at once and that answer is what counts.
 */
import http from 'node:http';
import https from 'node:https';

export interface HttpAnswer {
  status: number;
  /** Parsed JSON (problem+json included), or the text when the answer is not JSON. */
  body: unknown;
}

/** An answer of 4xx/5xx, with the server's own words for what went wrong. */
export class ServerProblem extends Error {
  override name = 'ServerProblem';
  constructor(
    readonly status: number,
    detail: string,
    readonly fieldErrors: { field: string; message: string }[] = [],
  ) {
    super(detail);
  }
}

export interface StreamOptions {
  method: string;
  token: string;
  contentType?: string;
  body?: AsyncIterable<Uint8Array>;
  onProgress?: (sentBytes: number) => void;
}

export async function requestJson(url: string, options: StreamOptions): Promise<unknown> {
  const answer = await send(url, options);
  if (answer.status >= 400) throw toProblem(answer);
  return answer.body;
}

async function send(url: string, options: StreamOptions): Promise<HttpAnswer> {
  const target = new URL(url);
  const transport = target.protocol === 'https:' ? https : http;
  const headers: Record<string, string> = { authorization: `Bearer ${options.token}`, accept: 'application/json' };
  if (options.contentType) headers['content-type'] = options.contentType;
  const req = transport.request(target, { method: options.method, headers });
  let answered = false;
  const answer = new Promise<HttpAnswer>((resolve, reject) => {
    req.on('response', (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve(parse(res.statusCode ?? 0, res.headers['content-type'], Buffer.concat(chunks).toString('utf8'))),
      );
      res.on('error', reject);
    });
    req.on('error', (error) => reject(unreachable(target, error)));
  });
  // Whatever happens to the upload, the answer is awaited below; this only keeps it from being unhandled meanwhile.
  answer.catch(() => {});

  if (!options.body) {
    req.end();
    return answer;
  }
  let sent = 0;
  try {
    for await (const chunk of options.body) {
      if (answered || req.destroyed) break;
      const flushed = req.write(chunk);
      sent += chunk.byteLength;
      options.onProgress?.(sent);
      if (!flushed) await drainedOrAnswered(req, answer);
    }
    if (!answered && !req.destroyed) req.end();
  } catch (error) {
    // The local side failed (a file could not be read): nothing the server holds is complete.
    req.destroy();
    throw error;
  }
  try {
    return await answer;
  } finally {
    req.destroy();
  }
}

function drainedOrAnswered(req: http.ClientRequest, answer: Promise<unknown>): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      req.off('drain', done);
      req.off('close', done);
      resolve();
    };
    req.on('drain', done);
    req.on('close', done);
    answer.then(done, done);
  });
}

function parse(status: number, contentType: string | undefined, text: string): HttpAnswer {
  if (/\bjson\b/.test(contentType ?? '') && text !== '') {
    try {
      return { status, body: JSON.parse(text) };
    } catch {
      // fall through: shown as text
    }
  }
  return { status, body: text };
}

function toProblem(answer: HttpAnswer): ServerProblem {
  const body = answer.body as { detail?: unknown; errors?: { field: string; message: string }[] } | string;
  if (typeof body === 'object' && body !== null && typeof body.detail === 'string') {
    return new ServerProblem(answer.status, body.detail, Array.isArray(body.errors) ? body.errors : []);
  }
  const text = typeof body === 'string' ? body.trim().slice(0, 500) : '';
  return new ServerProblem(answer.status, `the server answered ${answer.status}${text ? `: ${text}` : ''}`);
}

function unreachable(target: URL, error: Error): Error {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH') {
    return new Error(`cannot reach the Proctor server at ${target.origin} (${code}); set --server or PROCTOR_URL`);
  }
  return new Error(`the connection to ${target.origin} failed: ${error.message}`);
}
