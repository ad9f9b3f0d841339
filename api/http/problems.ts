/**
 * Errors the API answers with, as RFC 9457 problem details. Routes throw these (query modules throw
 * domain errors, db/errors.ts, which the handler maps); the error handler in api/http/errorHandler.ts
 * writes them as application/problem+json.
 */
import { STATUS_CODES } from 'node:http';
import type { FieldError } from '../../contracts/problem';

export type { FieldError };

export class HttpProblem extends Error {
  override name = 'HttpProblem';
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly errors?: FieldError[],
    readonly type: string = 'about:blank',
  ) {
    super(detail);
  }
}

function title(status: number): string {
  return STATUS_CODES[status] ?? 'Error';
}

/** One or more invalid fields; the detail sums them up so a reader of logs sees what was wrong. */
export function validationProblem(errors: FieldError[]): HttpProblem {
  const detail = errors.map((e) => `${e.field} ${e.message}`).join('; ');
  return new HttpProblem(400, title(400), detail || 'the request is invalid', errors);
}

export function badRequest(field: string, message: string): HttpProblem {
  return validationProblem([{ field, message }]);
}

export function unauthorized(detail: string): HttpProblem {
  return new HttpProblem(401, title(401), detail);
}

export function forbidden(detail: string): HttpProblem {
  return new HttpProblem(403, title(403), detail);
}

/** The same answer whether the thing is missing or belongs to someone else: existence is not revealed. */
export function notFound(what: string): HttpProblem {
  return new HttpProblem(404, title(404), `${what} not found`);
}

export function conflict(detail: string, field?: string): HttpProblem {
  return new HttpProblem(409, title(409), detail, field ? [{ field, message: detail }] : undefined);
}

export function tooManyRequests(detail: string): HttpProblem {
  return new HttpProblem(429, title(429), detail);
}

export { title as statusTitle };
