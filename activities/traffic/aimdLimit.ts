/**
 * How many requests a run keeps in flight to its endpoint, adapted to what the endpoint takes:
 * additive increase, multiplicative decrease (the rule TCP uses to share a link). Each answered
 * request adds 1/limit, so the limit grows by about one per round of `limit` answers; a 429 cuts
 * it by `decrease` and pauses new requests until the endpoint's Retry-After has passed. Server
 * errors (5xx), timeouts and the like do not move it: they say the endpoint is ill, not that it is
 * being asked too often, and the per-sample back-off and the breaker deal with them.
 *
 * One 429 per round cuts: the requests already in flight when the limit was cut were sent at the
 * old rate, so their 429s say nothing new (they still extend the pause). Without this a burst of
 * refusals would drive the limit to 1 at once.
 *
 * Pure: time is passed in, nothing here waits.
 */

export interface AimdOptions {
  /** The run's maxConcurrency: the limit never exceeds it. */
  ceiling: number;
  /** Where the limit starts; the ceiling by default, so an endpoint that never refuses sees no change. */
  initial?: number;
  /** Added per round of `limit` answered requests. */
  increase?: number;
  /** The factor a 429 multiplies the limit by, in (0, 1). */
  decrease?: number;
}

export const AIMD_DEFAULTS = { increase: 1, decrease: 0.5 } as const;

/**
 * Whether a move of the limit from `from` (last reported) to `to` is worth a line in a run's log:
 * it halved or doubled, or came back to the ceiling.
 */
export function isNotableChange(from: number, to: number, ceiling: number): boolean {
  return to <= from / 2 || to >= from * 2 || (to === ceiling && from !== ceiling);
}

export class AimdLimit {
  readonly ceiling: number;
  private value: number;
  private readonly increase: number;
  private readonly decrease: number;
  /** Bumped at every cut; a request remembers the round it was sent in. */
  private round = 0;
  private pausedUntilMs = 0;
  private refusals = 0;

  constructor(o: AimdOptions) {
    this.ceiling = Math.max(1, Math.floor(o.ceiling));
    this.value = clamp(o.initial ?? this.ceiling, 1, this.ceiling);
    this.increase = o.increase ?? AIMD_DEFAULTS.increase;
    const decrease = o.decrease ?? AIMD_DEFAULTS.decrease;
    if (!(decrease > 0 && decrease < 1)) throw new RangeError(`decrease must be in (0, 1), got ${decrease}`);
    this.decrease = decrease;
  }

  /** Requests allowed in flight now: a whole number from 1 to the ceiling. */
  get limit(): number {
    return Math.max(1, Math.floor(this.value));
  }

  /** The round a request sent now belongs to; hand it back with its outcome. */
  get currentRound(): number {
    return this.round;
  }

  /** 429s seen so far. */
  get rateLimited(): number {
    return this.refusals;
  }

  /** Until when (ms, the caller's clock) no new request should start; 0 when not paused. */
  get pausedUntil(): number {
    return this.pausedUntilMs;
  }

  onSuccess(): void {
    this.value = Math.min(this.ceiling, this.value + this.increase / Math.max(1, this.value));
  }

  /**
   * A 429 for a request sent in `sentInRound`. `retryAfterMs` is what the endpoint asked for (null
   * when it did not say). Returns whether the limit was cut.
   */
  onRateLimited(nowMs: number, retryAfterMs: number | null, sentInRound: number): boolean {
    this.refusals += 1;
    if (retryAfterMs !== null && Number.isFinite(retryAfterMs) && retryAfterMs > 0) {
      this.pausedUntilMs = Math.max(this.pausedUntilMs, nowMs + retryAfterMs);
    }
    if (sentInRound < this.round) return false;
    this.round += 1;
    this.value = Math.max(1, this.value * this.decrease);
    return true;
  }

  /** How long a request about to start at `nowMs` must wait for the pause to end. */
  pauseLeft(nowMs: number): number {
    return Math.max(0, this.pausedUntilMs - nowMs);
  }
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}
