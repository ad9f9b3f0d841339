/**
 * The `Idempotency-Key` header of requests that start work (IETF draft
 * "The Idempotency-Key HTTP Header Field"): a client that retries a launch after a lost answer sends
 * the same key and gets the run the first attempt made, never a second run or a second quota slot.
 */
import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { HttpProblem, badRequest, statusTitle } from './problems';
import type { IdempotentRequest } from '../../db/queries/idempotency';

export const IDEMPOTENCY_HEADER = 'idempotency-key';
export const IDEMPOTENCY_RULE = 'must be 1–255 visible ASCII characters';
const KEY = /^[\x21-\x7e]{1,255}$/;

/** For route schemas, so the OpenAPI document shows the header. */
export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      description:
        'A key of your choosing (1–255 visible ASCII characters, e.g. a UUID), unique per launch: a retry with the same key and request ' +
        'answers with the run the first request launched (header Idempotent-Replayed: true) instead of launching another.',
    }),
  ),
});

/** The same header for a route whose replay answers otherwise than a launch's; `replay` says how. */
export function idempotencyHeadersFor(replay: string) {
  return Type.Object({
    'idempotency-key': Type.Optional(
      Type.String({
        description: `A key of your choosing (1–255 visible ASCII characters, e.g. a UUID): ${replay} (header Idempotent-Replayed: true).`,
      }),
    ),
  });
}

/** The request's key and a hash of what it asks, or null when it sent none. */
export function idempotencyOf(request: FastifyRequest, userId: string): IdempotentRequest | null {
  const raw = request.headers[IDEMPOTENCY_HEADER];
  if (raw === undefined) return null;
  const key = Array.isArray(raw) ? raw.join(',') : raw;
  if (!KEY.test(key)) throw badRequest('Idempotency-Key', IDEMPOTENCY_RULE);
  const requestHash = createHash('sha256')
    .update(`${request.method} ${request.routeOptions.url ?? ''} ${request.url.split('?')[0]}\n`)
    .update(JSON.stringify(request.body ?? null))
    .digest('hex');
  return { userId, key, requestHash };
}

/** 422 for a key that was already used for a different request (another body, route or target). */
export function idempotencyKeyReused(what = 'request'): HttpProblem {
  return new HttpProblem(
    422,
    statusTitle(422),
    `this Idempotency-Key was already used for a different request; use a new key for a new ${what}`,
    [{ field: 'Idempotency-Key', message: 'was already used for a different request' }],
  );
}
