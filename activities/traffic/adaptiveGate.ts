/**
 * The waiting room in front of one run's endpoint: a request starts when fewer than the AIMD limit
 * are in flight and no Retry-After pause is running; otherwise it queues, first come first served.
 * Every finished request tells the limit how it went (aimdLimit.ts), so the room widens while the
 * endpoint answers and narrows when it refuses with 429.
 */
import { AimdLimit } from './aimdLimit';
import { abortedError } from '../inference/inferenceErrors';

export interface GateTicket {
  /** The AIMD round the request was sent in. */
  round: number;
}

export type GateOutcome = { kind: 'ok' } | { kind: 'rate_limited'; retryAfterMs: number | null } | { kind: 'other' };

interface Waiter {
  resolve: (ticket: GateTicket) => void;
  reject: (error: unknown) => void;
  signal: AbortSignal;
  onAbort: () => void;
}

export class AdaptiveGate {
  private inFlight = 0;
  private readonly waiters: Waiter[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    readonly limit: AimdLimit,
    private readonly now: () => number = Date.now,
  ) {}

  get active(): number {
    return this.inFlight;
  }

  get queued(): number {
    return this.waiters.length;
  }

  /** Resolves when the request may start; rejects with an 'aborted' InferenceError when `signal` aborts first. */
  enter(signal: AbortSignal): Promise<GateTicket> {
    if (signal.aborted) return Promise.reject(abortedError());
    if (this.waiters.length === 0 && this.mayStart()) return Promise.resolve(this.start());
    return new Promise<GateTicket>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        signal,
        onAbort: () => {
          const at = this.waiters.indexOf(waiter);
          if (at >= 0) this.waiters.splice(at, 1);
          reject(abortedError());
        },
      };
      signal.addEventListener('abort', waiter.onAbort, { once: true });
      this.waiters.push(waiter);
      this.pump();
    });
  }

  /** The request that `ticket` let in has ended. */
  leave(ticket: GateTicket, outcome: GateOutcome): void {
    this.inFlight -= 1;
    if (outcome.kind === 'ok') this.limit.onSuccess();
    else if (outcome.kind === 'rate_limited') this.limit.onRateLimited(this.now(), outcome.retryAfterMs, ticket.round);
    this.pump();
  }

  private mayStart(): boolean {
    return this.inFlight < this.limit.limit && this.limit.pauseLeft(this.now()) === 0;
  }

  private start(): GateTicket {
    this.inFlight += 1;
    return { round: this.limit.currentRound };
  }

  private pump(): void {
    while (this.waiters.length > 0 && this.mayStart()) {
      const waiter = this.waiters.shift()!;
      waiter.signal.removeEventListener('abort', waiter.onAbort);
      waiter.resolve(this.start());
    }
    const pause = this.limit.pauseLeft(this.now());
    if (this.waiters.length > 0 && pause > 0 && this.timer === null) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.pump();
      }, pause);
    }
  }
}
