/**
 * When a mail that could not be delivered is tried again: the wait doubles from `baseMs` up to
 * `maxMs`, and after `maxAttempts` tries the mail is given up. With the defaults (30 s doubling to
 * 1 h, 30 attempts) a mail server may be down for about a day before anything is lost.
 */
export interface RetrySchedule {
  baseMs: number;
  maxMs: number;
  maxAttempts: number;
}

export const DEFAULT_RETRY_SCHEDULE: RetrySchedule = { baseMs: 30_000, maxMs: 3_600_000, maxAttempts: 30 };

/** The wait after the `attempts`-th failed try, or null when that was the last one allowed. */
export function retryDelayMs(attempts: number, schedule: RetrySchedule): number | null {
  if (attempts >= schedule.maxAttempts) return null;
  const exponent = Math.max(0, attempts - 1);
  // Capped before the power can overflow: 2^40 × any sensible base is already past any cap.
  return Math.min(schedule.maxMs, schedule.baseMs * 2 ** Math.min(exponent, 40));
}
