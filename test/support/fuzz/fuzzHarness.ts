/**
 * How the fuzz test sends and judges: a request to an operation as its target reaches it, a send
 * that throws naming the request when the answer breaks the expectation, properties run with a
 * seed of their own that collect failures (with the replay seed and path) instead of stopping at
 * the first, and what a batch of requests changed in the store.
 */
import fc from 'fast-check';
import type { TestApi } from '../apiServer';
import type { FuzzTarget } from './fuzzTargets';
import { pathWith, type OperationInputs } from './openApiInputs';
import { complaints, type Expectation } from './problemAnswer';
import { rawRequest, type RawRequest, type RawResponse } from './rawRequest';
import { fingerprintChanges, storeFingerprint } from './storeFingerprint';

export interface RequestParts extends Pick<RawRequest, 'stream' | 'declaredLength'> {
  body?: string | Buffer;
  /** After the `?`, as sent. */
  query?: string;
  /** Added to (or, when undefined, removed from) the target's headers. */
  headers?: Record<string, string | undefined>;
}

export interface FuzzHarness {
  requestTo(op: OperationInputs, parts?: RequestParts): RawRequest;
  sendExpecting(request: RawRequest, expected: Expectation, what?: string): Promise<RawResponse>;
  /** Runs the property; a failure is added to `failures` rather than thrown, so every operation is tried. */
  holds<T>(
    label: string,
    arbitrary: fc.Arbitrary<T>,
    predicate: (value: T) => Promise<void>,
    failures: string[],
    runs?: number,
  ): Promise<void>;
  /** What the batch changed in the store, '' for nothing. */
  storeChangesBy(batch: () => Promise<void>): Promise<string>;
}

export function fuzzHarness(
  api: TestApi,
  targets: Record<string, FuzzTarget>,
  options: { seed: number; runs: number },
): FuzzHarness {
  return {
    requestTo(op, parts = {}) {
      const t = targets[op.key];
      if (!t) throw new Error(`no fuzz target for ${op.key}`);
      const headers: Record<string, string> = { authorization: `Bearer ${t.credential}`, ...t.headers };
      if (parts.body !== undefined) headers['content-type'] = 'application/json';
      for (const [name, value] of Object.entries(parts.headers ?? {})) {
        if (value === undefined) delete headers[name];
        else headers[name] = value;
      }
      const target = `${pathWith(op.path, t.params ?? {})}${parts.query ? `?${parts.query}` : ''}`;
      return {
        method: op.method,
        target,
        headers,
        body: parts.body,
        stream: parts.stream,
        declaredLength: parts.declaredLength,
      };
    },

    async sendExpecting(request, expected, what = '') {
      const res = await rawRequest(api.url, request);
      const found = complaints(res, expected);
      if (found.length > 0) {
        throw new Error(
          `${found.join('; ')}${what ? ` (${what})` : ''}\n  request: ${shown(request)}\n  answer: ${res.status} ${res.text.slice(0, 400)}`,
        );
      }
      return res;
    },

    async holds(label, arbitrary, predicate, failures, runs = options.runs) {
      // Each property its own seed, derived from the run's: adding one does not change what the others draw.
      const seed = (options.seed + [...label].reduce((h, ch) => (h * 31 + ch.charCodeAt(0)) | 0, 0)) | 0;
      const details = await fc.check(fc.asyncProperty(arbitrary, predicate), { seed, numRuns: runs });
      if (!details.failed) return;
      const thrown = details.errorInstance;
      // A broken rule names its request; anything else is the test's own failure, shown with its stack.
      const error =
        thrown instanceof Error
          ? thrown.message.includes('request:')
            ? thrown.message
            : String(thrown.stack)
          : String(thrown);
      failures.push(
        `${label}: failed after ${details.numRuns} run(s), shrunk ${details.numShrinks} time(s); ` +
          `replay with seed ${details.seed}, path "${details.counterexamplePath}"\n  ${error.slice(0, 2_000)}`,
      );
    },

    async storeChangesBy(batch) {
      const before = await storeFingerprint(api.deps.db);
      await batch();
      return fingerprintChanges(before, await storeFingerprint(api.deps.db));
    },
  };
}

/** The request as a failure shows it: method, target, content type and the body with its escapes visible. */
export function shown(r: RawRequest): string {
  const body = r.body === undefined ? '' : typeof r.body === 'string' ? r.body : r.body.toString('latin1');
  const preview =
    body.length > 400 ? `${JSON.stringify(body.slice(0, 400))}… (${body.length} characters)` : JSON.stringify(body);
  const type = r.headers?.['content-type'];
  return [
    `${r.method} ${r.target.length > 300 ? `${r.target.slice(0, 300)}…` : r.target}`,
    type === undefined ? ' (no content type)' : ` [${type}]`,
    r.body === undefined ? '' : ` body ${preview}`,
    r.stream ? ` (${r.stream.bytes} bytes streamed)` : '',
    r.declaredLength !== undefined ? ` (declared length ${r.declaredLength})` : '',
  ].join('');
}
