/**
 * Exponential back-off with full jitter: the wait before retry n is uniform in
 * [0, min(cap, base·factorⁿ)], so many lanes failing together do not come back together. When the
 * server says how long to wait (Retry-After) and that is longer, we wait that long instead, within
 * a cap so one odd header cannot park a sample for an hour. Every wait ends at once on abort.
 */

export interface BackoffOptions {
  /** Upper bound of the first wait. */
  baseMs?: number;
  factor?: number;
  /** Upper bound of any jittered wait. */
  capMs?: number;
  /** Upper bound of a wait the server asked for. */
  retryAfterCapMs?: number;
  /** [0, 1); injectable so tests can pin the jitter. */
  random?: () => number;
  /** Told before each wait; for logs and tests. */
  onRetry?: (info: { retry: number; delayMs: number; failure: unknown }) => void;
}

export const DEFAULT_BACKOFF = { baseMs: 500, factor: 2, capMs: 30_000, retryAfterCapMs: 60_000 } as const;

/**
 * The back-off of a run's inference: its maxRetryDelayMs (run_eval's max_retrying_delay) bounds
 * every wait, the jittered ones and those a server asks for alike. A run frozen before that limit
 * existed keeps the built-in caps.
 */
export function runBackoff(limits: { maxRetryDelayMs?: number }): BackoffOptions {
  const cap = limits.maxRetryDelayMs;
  return cap === undefined ? {} : { capMs: cap, retryAfterCapMs: cap };
}

/** The wait before retry number `retry` (1 for the first retry). */
export function backoffDelayMs(retry: number, retryAfterMs: number | null, o: BackoffOptions = {}): number {
  const base = o.baseMs ?? DEFAULT_BACKOFF.baseMs;
  const factor = o.factor ?? DEFAULT_BACKOFF.factor;
  const cap = o.capMs ?? DEFAULT_BACKOFF.capMs;
  const random = o.random ?? Math.random;
  const ceiling = Math.min(cap, base * factor ** Math.max(0, retry - 1));
  const jittered = random() * ceiling;
  if (retryAfterMs === null || !Number.isFinite(retryAfterMs)) return jittered;
  return Math.max(jittered, Math.min(Math.max(0, retryAfterMs), o.retryAfterCapMs ?? DEFAULT_BACKOFF.retryAfterCapMs));
}

/** Resolves true after `ms`, or false as soon as `signal` aborts (never rejects). */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export type AttemptOutcome<T, F> =
  { ok: true; value: T } | { ok: false; failure: F; retryable: boolean; retryAfterMs: number | null };

export interface RetryResult<T, F> {
  /** The outcome of the last attempt made. */
  outcome: AttemptOutcome<T, F>;
  attempts: number;
  /** The signal aborted during a wait, so the retries left were not made. */
  aborted: boolean;
}

/**
 * Runs `attempt` until it succeeds, fails in a way not worth retrying, or `maxRetries` retries are
 * used up. Attempts report failures as values rather than throwing, so nothing here needs to know
 * what the failures mean.
 */
export async function retryWithBackoff<T, F>(
  attempt: (attemptNumber: number) => Promise<AttemptOutcome<T, F>>,
  o: { maxRetries: number; signal: AbortSignal; backoff?: BackoffOptions },
): Promise<RetryResult<T, F>> {
  let attempts = 0;
  for (;;) {
    attempts += 1;
    const outcome = await attempt(attempts);
    if (outcome.ok || !outcome.retryable || attempts > o.maxRetries) return { outcome, attempts, aborted: false };
    const delayMs = backoffDelayMs(attempts, outcome.retryAfterMs, o.backoff);
    o.backoff?.onRetry?.({ retry: attempts, delayMs, failure: outcome.failure });
    if (!(await abortableSleep(delayMs, o.signal))) return { outcome, attempts, aborted: true };
  }
}
