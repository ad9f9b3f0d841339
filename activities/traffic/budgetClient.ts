/**
 * One worker process's side of an endpoint budget (db/queries/endpointBudgets.ts). Requests to the
 * identity queue here; one take at a time asks the database for all of them at once, so the cost
 * is a round trip per take, not per request, and at most one take is in flight per process and
 * identity. Slots of finished requests are given back by the next take (which sets the lease to
 * what is held) or, when none comes, a moment later; the lease is renewed while slots are held.
 *
 * An identity with no budget costs one look-up every CONFIG_TTL_MS and nothing per request.
 */
import { randomUUID } from 'node:crypto';
import type { Db } from '../../db/client';
import type { EndpointIdentity } from '../../db/endpointIdentity';
import { findEndpointBudget, setLease, takeFromBudget, type BudgetLimits } from '../../db/queries/endpointBudgets';
import { abortedError } from '../inference/inferenceErrors';

const CONFIG_TTL_MS = 5_000;
const LEASE_TTL_MS = 30_000;
const RENEW_EVERY_MS = 10_000;
const GIVE_BACK_AFTER_MS = 20;
/** Asking again sooner than this after a short grant only adds round trips. */
const MIN_RETRY_MS = 50;
const MAX_RETRY_MS = 1_000;

/** A request's claim on the budget, handed back when it ends. */
export interface BudgetPass {
  tokens: number;
}

interface Waiter {
  tokens: number;
  resolve: (pass: BudgetPass) => void;
  reject: (error: unknown) => void;
  signal: AbortSignal;
  onAbort: () => void;
}

export class BudgetClient {
  private budget: { id: string; limits: BudgetLimits } | null = null;
  private checkedAt = -Infinity;
  private checking: Promise<void> | null = null;
  private readonly waiters: Waiter[] = [];
  private taking = false;
  private held = 0;
  private refund = 0;
  private giveBack: NodeJS.Timeout | null = null;
  private renew: NodeJS.Timeout | null = null;
  /** Ends the take loop's wait early: a slot of this process came free. */
  private wake: (() => void) | null = null;
  /** Round trips made for takes and lease updates, for measuring. */
  roundTrips = 0;

  constructor(
    private readonly db: Db,
    readonly identity: EndpointIdentity,
    private readonly holder: string,
    private readonly onError: (error: unknown) => void = () => {},
  ) {}

  /** The limits in force, as last read (null: no budget for this identity). */
  get limits(): BudgetLimits | null {
    return this.budget?.limits ?? null;
  }

  /**
   * Waits until the budget lets one more request start. Resolves null when the identity has no
   * budget (nothing to hand back); rejects as aborted when `signal` aborts first.
   */
  async enter(tokens: number, signal: AbortSignal): Promise<BudgetPass | null> {
    await this.refreshConfig();
    if (!this.budget) return null;
    if (signal.aborted) throw abortedError();
    return new Promise<BudgetPass>((resolve, reject) => {
      const waiter: Waiter = {
        tokens,
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
      void this.take();
    });
  }

  /** The request `pass` let in has ended, having spent `tokensSpent` (its prompt and answer). */
  leave(pass: BudgetPass, tokensSpent: number): void {
    this.held = Math.max(0, this.held - 1);
    this.refund += pass.tokens - tokensSpent;
    if (this.budget?.limits.maxConcurrent == null) return;
    this.wake?.();
    if (this.giveBack) return;
    this.giveBack = setTimeout(() => {
      this.giveBack = null;
      if (!this.taking && this.budget) void this.writeLease(this.budget.id);
    }, GIVE_BACK_AFTER_MS);
  }

  private async refreshConfig(): Promise<void> {
    if (performance.now() - this.checkedAt < CONFIG_TTL_MS) return;
    this.checking ??= findEndpointBudget(this.db, this.identity)
      .then((found) => {
        this.roundTrips += 1;
        this.budget = found ? { id: found.id, limits: found } : null;
        this.checkedAt = performance.now();
      })
      .catch((error: unknown) => {
        // The database is the stack's own; while it is away the budget in force stays as last read.
        this.onError(error);
        this.checkedAt = performance.now();
      })
      .finally(() => (this.checking = null));
    await this.checking;
  }

  private async take(): Promise<void> {
    if (this.taking) return;
    this.taking = true;
    try {
      while (this.waiters.length > 0 && this.budget) {
        const asked = this.waiters.length;
        const tokensEach = this.waiters.reduce((sum, w) => sum + w.tokens, 0) / asked;
        const refund = this.refund;
        this.refund = 0;
        let result;
        try {
          this.roundTrips += 1;
          result = await takeFromBudget(this.db, {
            budgetId: this.budget.id,
            holder: this.holder,
            requests: asked,
            tokensEach,
            tokenRefund: refund,
            held: this.held,
            leaseTtlMs: LEASE_TTL_MS,
          });
        } catch (error) {
          this.refund += refund;
          this.onError(error);
          await sleep(MAX_RETRY_MS);
          continue;
        }
        if (result.limits === null) {
          // Deleted while we waited: nothing to keep any more.
          this.budget = null;
          for (const w of this.waiters.splice(0)) this.admit(w, false);
          break;
        }
        this.budget.limits = result.limits;
        const counted = result.limits.maxConcurrent !== null;
        for (const w of this.waiters.splice(0, result.granted)) this.admit(w, counted);
        if (counted) this.keepRenewing();
        if (this.waiters.length > 0)
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, Math.min(MAX_RETRY_MS, Math.max(MIN_RETRY_MS, result.retryInMs)));
            // Held back by slots only: one of ours coming free is worth asking again at once.
            if (result.slotsFull)
              this.wake = () => {
                clearTimeout(timer);
                resolve();
              };
          }).finally(() => (this.wake = null));
      }
    } finally {
      this.taking = false;
    }
  }

  private admit(w: Waiter, counted: boolean): void {
    w.signal.removeEventListener('abort', w.onAbort);
    if (counted) this.held += 1;
    w.resolve({ tokens: w.tokens });
  }

  private async writeLease(budgetId: string): Promise<void> {
    try {
      this.roundTrips += 1;
      await setLease(this.db, budgetId, this.holder, this.held, LEASE_TTL_MS);
    } catch (error) {
      this.onError(error);
    }
  }

  private keepRenewing(): void {
    if (this.renew) return;
    this.renew = setInterval(() => {
      if (!this.budget) return;
      void this.writeLease(this.budget.id);
      if (this.held === 0 && this.renew) {
        clearInterval(this.renew);
        this.renew = null;
      }
    }, RENEW_EVERY_MS);
    this.renew.unref();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const clients = new WeakMap<Db, Map<string, BudgetClient>>();

/**
 * The process's client of the budget of `identity`: every run and judge of the process shares it,
 * and it holds one lease (its own random holder id) for all their requests in flight.
 */
export function budgetClientFor(db: Db, identity: EndpointIdentity, onError?: (error: unknown) => void): BudgetClient {
  let ofDb = clients.get(db);
  if (!ofDb) clients.set(db, (ofDb = new Map()));
  const key = `${identity.baseUrl}\u0000${identity.keyFingerprint}`;
  let client = ofDb.get(key);
  if (!client) ofDb.set(key, (client = new BudgetClient(db, identity, randomUUID(), onError)));
  return client;
}
