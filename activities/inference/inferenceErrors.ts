/**
 * What went wrong with one call to a model endpoint, in words a user can act on, and whether
 * trying again could help. Every error the `openai` client, fetch or our own checks can raise
 * ends up as one of a few kinds; batch/endpointBreaker.ts counts `connection`, `denied`, `auth` and
 * `not_found` as signs the endpoint is unusable, so those names are part of the contract.
 */
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError, OpenAIError } from 'openai';
import { DeniedNetworkError } from './guardedLookup';
import { AnswerTooLargeError } from './nodeHttpFetch';

export type InferenceErrorKind =
  | 'timeout'
  | 'connection'
  /** The endpoint resolves to a network the platform does not call (config/endpointNetworks.ts). */
  | 'denied'
  /** The answer was longer than a request reads (PROCTOR_MAX_ANSWER_BYTES). */
  | 'too_large'
  | 'rate_limited'
  | 'server'
  | 'auth'
  | 'not_found'
  | 'bad_request'
  | 'malformed'
  | 'empty'
  | 'aborted';

export interface ClassifiedError {
  kind: InferenceErrorKind;
  retryable: boolean;
  /** What the endpoint asked us to wait (Retry-After), if it said. */
  retryAfterMs: number | null;
  message: string;
}

const RETRYABLE: Record<InferenceErrorKind, boolean> = {
  timeout: true,
  connection: true,
  rate_limited: true,
  server: true,
  malformed: true,
  empty: true,
  auth: false,
  not_found: false,
  denied: false,
  // The same prompt at the same settings gets the same flood again.
  too_large: false,
  bad_request: false,
  aborted: false,
};

const MAX_BODY_CHARS = 200;

/** An error already classified where the facts were known (our own response checks, the model lookup). */
export class InferenceError extends Error {
  readonly retryable: boolean;

  constructor(
    readonly kind: InferenceErrorKind,
    message: string,
    readonly retryAfterMs: number | null = null,
  ) {
    super(message);
    this.name = 'InferenceError';
    this.retryable = RETRYABLE[kind];
  }
}

const ABORTED = 'abandoned: the batch was stopped before an answer arrived';

export function abortedError(): InferenceError {
  return new InferenceError('aborted', ABORTED);
}

export interface ClassifyContext {
  /** The request timeout, so a timeout can say how long we waited. */
  timeoutMs?: number;
  /** Strings that must never appear in the message (the endpoint's API key). */
  secrets?: (string | null | undefined)[];
}

export function classifyInferenceError(error: unknown, context: ClassifyContext = {}): ClassifiedError {
  const c = classify(error, context);
  return { ...c, message: redact(c.message, context.secrets ?? []) };
}

function classify(error: unknown, { timeoutMs }: ClassifyContext): ClassifiedError {
  const make = (kind: InferenceErrorKind, message: string, retryAfterMs: number | null = null): ClassifiedError => ({
    kind,
    retryable: RETRYABLE[kind],
    retryAfterMs,
    message,
  });

  if (error instanceof InferenceError) return make(error.kind, error.message, error.retryAfterMs);
  if (error instanceof APIUserAbortError || isAbortError(error)) return make('aborted', ABORTED);
  // Timeout before connection errors: the SDK's timeout error is a kind of connection error.
  if (error instanceof APIConnectionTimeoutError) {
    return make(
      'timeout',
      timeoutMs === undefined ? 'no response before the request timed out' : `no response within ${timeoutMs} ms`,
    );
  }
  // Both travel as the cause of the SDK's connection error: the transport refused, or stopped reading.
  const denied = causeOf(error, DeniedNetworkError);
  if (denied) return make('denied', denied.message);
  const tooLarge = causeOf(error, AnswerTooLargeError);
  if (tooLarge) return make('too_large', tooLarge.message);
  if (error instanceof APIConnectionError) return make('connection', connectionMessage(error));

  if (error instanceof APIError && typeof error.status === 'number') {
    const status = error.status;
    const message = `HTTP ${status} from the model endpoint: ${shortBody(error)}`;
    if (status === 429) return make('rate_limited', message, retryAfter(error.headers));
    if (status === 401 || status === 403) return make('auth', `${message} (check the API key)`);
    if (status === 404) return make('not_found', `${message} (check the endpoint URL and the online model name)`);
    if (status === 408) return make('timeout', message);
    if (status >= 500 || status === 409) return make('server', message, retryAfter(error.headers));
    return make('bad_request', message);
  }

  // A 200 whose body could not be read whole or parsed: the request reached the model, so it is
  // not a connection fault, and another try may well get a good answer.
  if (error instanceof SyntaxError)
    return make('malformed', `malformed response: the body is not valid JSON (${error.message})`);
  if (error instanceof TypeError && /terminated|aborted|closed/i.test(error.message)) {
    const code = errorCode(error);
    return make('malformed', `malformed response: the body was cut off before its end${code ? ` (${code})` : ''}`);
  }
  if (error instanceof OpenAIError) return make('malformed', `malformed response: ${error.message}`);
  return make(
    'malformed',
    `unexpected failure while calling the model endpoint: ${error instanceof Error ? error.message : String(error)}`,
  );
}

const CONNECTION_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by the endpoint',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  EPIPE: 'connection closed by the endpoint',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_SOCKET: 'connection closed by the endpoint',
  UND_ERR_CLOSED: 'connection closed',
  CERT_HAS_EXPIRED: 'TLS certificate has expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'TLS certificate is self-signed',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS certificate could not be verified',
};

function connectionMessage(error: APIConnectionError): string {
  const code = errorCode(error);
  if (code) return `${CONNECTION_CODES[code] ?? 'connection failed'} (${code})`;
  const detail = innermostMessage(error);
  // fetch refuses a fixed list of ports (9, 25, 6000, …) without ever connecting.
  if (detail === 'bad port')
    return 'connection not attempted: fetch refuses this port (bad port); serve the model on another port';
  return `connection failed${detail && detail !== error.message ? `: ${detail}` : ''}`;
}

function causeOf<T extends Error>(error: unknown, type: new (...args: never[]) => T): T | null {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current instanceof Error; depth++) {
    if (current instanceof type) return current;
    current = current.cause;
  }
  return null;
}

/** The first `code` down the cause chain (fetch hides the socket error two levels deep). */
function errorCode(error: unknown): string | null {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code !== '') return code;
    // AggregateError (several addresses tried) keeps the socket errors in `errors`.
    const errors = (current as { errors?: unknown }).errors;
    if (Array.isArray(errors) && errors.length > 0) {
      const inner = errorCode(errors[0]);
      if (inner) return inner;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return null;
}

function innermostMessage(error: unknown): string | null {
  let current: unknown = error;
  let message: string | null = null;
  for (let depth = 0; depth < 6 && current instanceof Error; depth++) {
    message = current.message || message;
    current = current.cause;
  }
  return message;
}

/** The endpoint's own explanation, short: its error.message when it sent JSON, else the text. */
function shortBody(error: APIError): string {
  const body = error.error as unknown;
  let text: string;
  if (body && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string') {
    text = (body as { message: string }).message;
  } else if (body !== undefined && body !== null) {
    text = typeof body === 'string' ? body : JSON.stringify(body);
  } else {
    // The SDK prefixes the status to the raw body; the status is already in our message.
    text = error.message.replace(new RegExp(`^${error.status}\\s*`), '');
  }
  text = text.replace(/\s+/g, ' ').trim();
  if (text === '' || text === 'status code (no body)') return '(no body)';
  return text.length > MAX_BODY_CHARS ? `${text.slice(0, MAX_BODY_CHARS)}…` : text;
}

/** Retry-After-Ms (OpenAI's own header) or Retry-After in seconds or as an HTTP date. */
export function retryAfter(headers: Headers | undefined): number | null {
  if (!headers) return null;
  const ms = Number(headers.get('retry-after-ms') ?? NaN);
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const raw = headers.get('retry-after');
  if (raw === null) return null;
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(raw);
  return Number.isNaN(date) ? null : Math.max(0, date - Date.now());
}

function isAbortError(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || (error as { code?: unknown }).code === 'ABORT_ERR');
}

/**
 * Keeps credentials out of messages that end up in logs, the database and the UI: the key itself
 * wherever the endpoint echoed it, and anything sent as a bearer token.
 */
export function redact(message: string, secrets: (string | null | undefined)[]): string {
  let out = message;
  for (const secret of secrets) {
    if (secret) out = out.split(secret).join('[redacted]');
  }
  return out.replace(/(Bearer\s+)[^\s"',;]+/gi, '$1[redacted]');
}
