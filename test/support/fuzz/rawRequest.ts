/**
 * HTTP requests sent exactly as written: the path and query string byte for byte (malformed
 * percent-escapes included), any or no Content-Type, a body of raw bytes, a declared length that
 * is a lie, or a body streamed until the server answers. fetch would normalise or refuse most of
 * these; a fuzz test needs to send them.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** Parsed when the response says it is JSON. */
  body: any;
}

export interface RawRequest {
  method: string;
  /** Path and query string, sent as given (ASCII only: node refuses anything else). */
  target: string;
  headers?: Record<string, string>;
  /** Sent whole, with its length declared. */
  body?: string | Buffer;
  /** A length to declare that the body does not reach: the body is sent and the request left open for the answer. */
  declaredLength?: number;
  /**
   * Streamed chunk by chunk without a declared length, up to `bytes` in all, and stopped as soon
   * as the answer arrives: how a body larger than any limit is sent without sending all of it.
   */
  stream?: { bytes: number; chunk: Buffer };
}

/** A hung request fails the test that sent it, rather than the test run. */
const TIMEOUT_MS = 30_000;

export function rawRequest(baseUrl: string, r: RawRequest): Promise<RawResponse> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    let answered = false;
    const headers: Record<string, string> = { ...r.headers };
    if (r.declaredLength !== undefined) headers['content-length'] = String(r.declaredLength);
    else if (r.body !== undefined) headers['content-length'] = String(Buffer.byteLength(r.body));
    const req = httpRequest(
      { host: url.hostname, port: url.port, method: r.method, path: r.target, headers, agent: false },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const isJson = /\bjson\b/.test(res.headers['content-type'] ?? '');
          let body: unknown = text;
          try {
            if (isJson && text) body = JSON.parse(text);
          } catch (error) {
            reject(
              new Error(
                `the server said JSON but sent ${JSON.stringify(text.slice(0, 200))}: ${(error as Error).message}`,
              ),
            );
            return;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body });
          req.destroy();
        });
      },
    );
    req.setTimeout(TIMEOUT_MS, () =>
      req.destroy(new Error(`no answer to ${r.method} ${r.target.slice(0, 200)} within ${TIMEOUT_MS / 1000} s`)),
    );
    req.on('error', (error) => {
      // Writing on after the server answered and closed is expected; the answer is what counts.
      if (!answered) reject(error);
    });
    if (r.stream) {
      const { bytes, chunk } = r.stream;
      let sent = 0;
      const pump = () => {
        while (!answered && !req.destroyed && sent < bytes) {
          const piece = sent + chunk.byteLength <= bytes ? chunk : chunk.subarray(0, bytes - sent);
          sent += piece.byteLength;
          if (!req.write(piece)) return void req.once('drain', pump);
        }
        if (!answered && !req.destroyed) req.end();
      };
      pump();
    } else if (r.declaredLength !== undefined) {
      req.write(r.body ?? '');
    } else if (r.body !== undefined) {
      req.end(r.body);
    } else {
      req.end();
    }
  });
}
