/**
 * Notices an endpoint that is down for good. Individual failures are retried per sample and then
 * recorded; but when many samples in a row fail in ways no retry fixes (refused connections, a
 * refused network, rejected credentials, unknown model), the rest of the dataset would fail the same way, so the
 * dataset is ended with that reason instead of spending hours on doomed requests.
 */
const FATAL_KINDS = new Set(['connection', 'denied', 'auth', 'not_found']);

export class EndpointBreaker {
  private consecutive = 0;
  private lastReason = '';

  constructor(private readonly threshold: number) {}

  record(outcome: { ok: true } | { ok: false; kind: string; reason: string }): void {
    if (outcome.ok || !FATAL_KINDS.has(outcome.kind)) {
      this.consecutive = 0;
      return;
    }
    this.consecutive += 1;
    this.lastReason = outcome.reason;
  }

  get tripped(): string | null {
    return this.consecutive >= this.threshold
      ? `endpoint unusable: ${this.consecutive} consecutive samples failed after retries (${this.lastReason})`
      : null;
  }
}
