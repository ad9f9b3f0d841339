/**
 * Errors the query modules throw when a request names something that is not there or not valid.
 * They speak of records and fields, not HTTP: the API's error handler (api/http/errorHandler.ts) turns
 * them into problem+json, a missing record into 404 and an invalid field into 400 naming the field.
 */

/** The record is missing or belongs to someone else; which of the two is not revealed. */
export class RecordNotFound extends Error {
  override name = 'RecordNotFound';
  constructor(readonly what: string) {
    super(`${what} not found`);
  }
}

/** A value the caller sent cannot be used; `field` is its dotted path in the request. */
export class InvalidField extends Error {
  override name = 'InvalidField';
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field} ${reason}`);
  }
}

/** The record was deleted (kept for what refers to it): it can be read by an admin but no longer changed. */
export class RecordDeleted extends Error {
  override name = 'RecordDeleted';
  constructor(
    readonly what: string,
    readonly deletedAt: Date,
  ) {
    super(`${what} was deleted at ${deletedAt.toISOString()}`);
  }
}
