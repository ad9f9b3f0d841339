/**
 * A request the multimodal data server refuses, with the status it is answered with. The body is
 * `{ "error": message }`: a user's run.sh prints what it got, so the message says what to send instead.
 */
export class DataRequestError extends Error {
  override name = 'DataRequestError';

  constructor(
    readonly status: number,
    message: string,
    /** Extra response headers (Allow on a 405). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** A value the client sent, quoted for a message and cut short: a message echoes, it does not mirror. */
export function quoted(value: string): string {
  const max = 40;
  return JSON.stringify(value.length > max ? `${value.slice(0, max)}…` : value);
}
