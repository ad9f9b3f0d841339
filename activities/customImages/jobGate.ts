/**
 * How many of one job's requests the inference proxy forwards at once. A job's evaluation image
 * decides its own parallelism, and a runaway loop in it must not flood the user's endpoint (or take
 * every socket of the worker), so requests past the cap wait their turn, first come first served,
 * rather than failing: an evaluation that fires a thousand prompts at once still completes.
 */

/** Why a request never got its turn: the job ended, or its caller went away. */
export class GateClosedError extends Error {
  override name = 'GateClosedError';
}

interface Waiter {
  admit(): void;
  refuse(error: Error): void;
}

export class JobGate {
  #active = 0;
  #waiting: Waiter[] = [];
  #closed: Error | null = null;

  constructor(readonly maxConcurrent: number) {
    if (!Number.isInteger(maxConcurrent) || maxConcurrent < 1)
      throw new RangeError(`maxConcurrent must be a positive integer, not ${maxConcurrent}`);
  }

  /** Requests being forwarded now. */
  get active(): number {
    return this.#active;
  }

  /** Requests waiting for a turn. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * Resolves with a release function once the request may go; rejects when the gate closes or
   * `signal` aborts first. The release must be called exactly once; later calls do nothing.
   */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (this.#closed) return Promise.reject(this.#closed);
    if (signal?.aborted) return Promise.reject(new GateClosedError('the request was abandoned before its turn'));
    if (this.#active < this.maxConcurrent && this.#waiting.length === 0) {
      this.#active++;
      return Promise.resolve(this.#releaser());
    }
    return new Promise<() => void>((resolve, reject) => {
      const onAbort = () => {
        this.#waiting = this.#waiting.filter((w) => w !== waiter);
        reject(new GateClosedError('the request was abandoned before its turn'));
      };
      const waiter: Waiter = {
        admit: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(this.#releaser());
        },
        refuse: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiting.push(waiter);
    });
  }

  /** Refuses every waiting request and any later one with `error`; requests holding a turn keep it until released. */
  close(error: Error): void {
    if (this.#closed) return;
    this.#closed = error;
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const w of waiting) w.refuse(error);
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#closed ? undefined : this.#waiting.shift();
      // The turn passes straight to the next waiter, so the count never dips and lets a newcomer jump the queue.
      if (next) next.admit();
      else this.#active--;
    };
  }
}
