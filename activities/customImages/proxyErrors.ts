/**
 * What the inference proxy answers when it does not pass an upstream answer on: errors shaped as
 * OpenAI shapes them (`{ error: { message, type, code } }`), so the client library inside a job's
 * image raises its usual error types with a message a user can act on. Failures to reach the model
 * are described as the batch activity describes them (inferenceErrors.ts) and never carry the key.
 */
import { APIConnectionError } from 'openai';
import { classifyInferenceError } from '../inference/inferenceErrors';

/** One answer of the proxy, before it is written. */
export interface ProxyAnswer {
  status: number;
  body: unknown;
  /** Extra response headers (Retry-After from the upstream). */
  headers?: Record<string, string>;
  /** Tokens of a successful answer, as the upstream reported or the proxy estimated them. */
  usage?: { promptTokens: number; completionTokens: number };
}

/** A request the proxy refuses or could not serve, with the status and OpenAI error type it is answered with. */
export class ProxyError extends Error {
  override name = 'ProxyError';

  constructor(
    readonly status: number,
    readonly type: string,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }

  answer(): ProxyAnswer {
    return { status: this.status, body: errorBody(this.message, this.type, this.code) };
  }
}

export function errorBody(
  message: string,
  type: string,
  code: string,
): { error: { message: string; type: string; code: string } } {
  return { error: { message, type, code } };
}

export const badRequest = (message: string, code = 'invalid_request') =>
  new ProxyError(400, 'invalid_request_error', code, message);

export const badUpstream = (message: string, code = 'bad_upstream_answer') =>
  new ProxyError(502, 'upstream_error', code, message);

export interface TransportFailureContext {
  /** What was called, for the message: "the model endpoint", "the model service". */
  what: string;
  /** The request's own timeout fired (rather than a connection or reading failure). */
  timedOut: boolean;
  timeoutMs: number;
  /** Strings that must not appear in the message (the real key). */
  secrets: (string | null)[];
}

/**
 * A request that got no usable answer: 504 when the upstream was too slow, 502 for a refused
 * network, an answer past the cap, a refused or broken connection. The kind (`denied`, `too_large`,
 * `connection`, `timeout`) is the error's code, as the batch activity names it.
 */
export function transportFailure(error: unknown, c: TransportFailureContext): ProxyError {
  if (c.timedOut)
    return new ProxyError(504, 'upstream_error', 'timeout', `${c.what} did not answer within ${c.timeoutMs} ms`);
  const classified = classifyInferenceError(
    new APIConnectionError({ message: 'Connection error.', cause: error as Error }),
    {
      secrets: c.secrets,
    },
  );
  return new ProxyError(
    502,
    'upstream_error',
    classified.kind,
    `could not get an answer from ${c.what}: ${classified.message}`,
  );
}
