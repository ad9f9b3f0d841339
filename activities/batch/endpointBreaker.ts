/**
 * Notices an endpoint that is down for good. Individual failures are retried per sample and then
 * recorded; but when many samples in a row fail in ways no retry fixes (refused connections, a
 * refused network, rejected credentials, unknown model), the rest of the batch would fail the same
 * way, so it is ended with that reason instead of spending hours on doomed requests. The model
 * endpoint's batch stops and ends its dataset; a judge's batch fails the rest of its samples with
 * the reason, unasked.
 */
export const ENDPOINT_DOWN_KINDS: ReadonlySet<string> = new Set(['connection', 'denied', 'auth', 'not_found']);

export class EndpointBreaker {
  private consecutive = 0;
  private last = '';

  constructor(
    private readonly threshold: number,
    private readonly downKinds: ReadonlySet<string> = ENDPOINT_DOWN_KINDS,
  ) {}

  record(outcome: { ok: true } | { ok: false; kind: string; reason: string }): void {
    if (outcome.ok || !this.downKinds.has(outcome.kind)) {
      this.consecutive = 0;
      return;
    }
    this.consecutive += 1;
    this.last = outcome.reason;
  }

  /** `threshold` samples in a row failed in one of the down kinds. */
  get open(): boolean {
    return this.consecutive >= this.threshold;
  }

  get failedInARow(): number {
    return this.consecutive;
  }

  get lastReason(): string {
    return this.last;
  }

  /** Why the endpoint looks unusable, or null while it may still answer. */
  get tripped(): string | null {
    return this.open
      ? `endpoint unusable: ${this.consecutive} consecutive samples failed after retries (${this.last})`
      : null;
  }
}
