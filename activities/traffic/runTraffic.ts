/**
 * A run's traffic to its model endpoint, in this worker process. The adaptive gate (AIMD limit,
 * aimdLimit.ts) belongs to the endpoint: runs of this process that call the same base URL with the
 * same key and the same maxConcurrency pass one gate, so they back off together as one client
 * would. The gate outlives a batch, so the next batch starts where the last one left the limit; a
 * gate made for a batch that lands on another process starts from the limit the run last recorded.
 *
 * Each run reports to `run_traffic` (the run view) every couple of seconds while a batch works and
 * when it ends: the limit, its own 429s and budget waits; and a line goes to its log when the limit
 * has halved or doubled since its last such line.
 */
import type { Logger } from 'pino';
import type { Db } from '../../db/client';
import type { EndpointIdentity } from '../../db/endpointIdentity';
import { appendRunLogs } from '../../db/queries/runLogs';
import { readRunTraffic, reportRunTraffic } from '../../db/queries/runTraffic';
import { AimdLimit, isNotableChange } from './aimdLimit';
import { AdaptiveGate } from './adaptiveGate';

const REPORT_EVERY_MS = 2_000;
/** A process forgets a gate this long after its last use. */
const FORGET_AFTER_MS = 15 * 60_000;

export class RunTraffic {
  budgetWaitMs = 0;
  rateLimited = 0;
  private reportedRateLimited = 0;
  private reportedWaitMs = 0;
  private reportedLimit = -1;
  private loggedLimit: number;

  constructor(
    readonly runId: string,
    readonly maxConcurrency: number,
    readonly gate: AdaptiveGate,
  ) {
    this.loggedLimit = maxConcurrency;
  }

  /** For the batch's heartbeat (seen in the Temporal UI's pending activity). */
  snapshot(): { concurrencyLimit: number; rateLimited: number } {
    return { concurrencyLimit: this.gate.limit.limit, rateLimited: this.rateLimited };
  }

  /** Writes what changed since the last report, and a log line for a notable change of the limit. */
  async report(db: Db, datasetId: string): Promise<void> {
    const limit = this.gate.limit.limit;
    const rateLimited = this.rateLimited - this.reportedRateLimited;
    const waited = this.budgetWaitMs - this.reportedWaitMs;
    if (rateLimited === 0 && waited < 1 && limit === this.reportedLimit) return;
    this.reportedRateLimited += rateLimited;
    this.reportedWaitMs += waited;
    this.reportedLimit = limit;
    await reportRunTraffic(
      db,
      this.runId,
      { concurrencyLimit: limit, maxConcurrency: this.maxConcurrency },
      { rateLimited, budgetWaitMs: waited },
    );
    if (!isNotableChange(this.loggedLimit, limit, this.maxConcurrency)) return;
    const from = this.loggedLimit;
    this.loggedLimit = limit;
    await appendRunLogs(db, [
      {
        runId: this.runId,
        datasetId,
        level: limit < from ? 'warn' : 'info',
        message:
          `endpoint concurrency ${from} → ${limit} of ${this.maxConcurrency}` +
          (limit < from ? ' (the endpoint answers 429: too many requests)' : ' (the endpoint keeps up)') +
          `; ${this.reportedRateLimited} 429 answer(s) so far`,
        dedupeKey: `traffic:${datasetId}:${Date.now()}:${from}:${limit}`,
      },
    ]);
  }

  /** Reports every couple of seconds until the returned function is called (which reports once more). */
  reportWhileWorking(db: Db, datasetId: string, logger: Logger): () => Promise<void> {
    const report = () =>
      this.report(db, datasetId).catch((error: unknown) =>
        logger.warn({ err: error, runId: this.runId }, 'could not record the run endpoint traffic'),
      );
    const timer = setInterval(() => void report(), REPORT_EVERY_MS);
    return async () => {
      clearInterval(timer);
      await report();
    };
  }
}

const gates = new Map<string, { gate: AdaptiveGate; lastUsed: number }>();
const runs = new Map<string, { traffic: RunTraffic; lastUsed: number }>();

/**
 * The run's traffic in this process, on the gate of its endpoint (`identity`; null for a privately
 * served run, whose container is its own endpoint).
 */
export async function runTrafficFor(
  db: Db,
  runId: string,
  maxConcurrency: number,
  identity: EndpointIdentity | null,
): Promise<RunTraffic> {
  const now = Date.now();
  for (const [key, g] of gates) if (now - g.lastUsed > FORGET_AFTER_MS && g.gate.active === 0) gates.delete(key);
  for (const [key, r] of runs) if (now - r.lastUsed > FORGET_AFTER_MS) runs.delete(key);

  const gateKey = identity
    ? `${identity.baseUrl}\u0000${identity.keyFingerprint}\u0000${maxConcurrency}`
    : `run:${runId}\u0000${maxConcurrency}`;
  // Read before the look-up, so that the look-up and the creation happen without an await between
  // them: two runs starting together must not make two gates for one endpoint.
  const recorded = gates.has(gateKey) ? null : await readRunTraffic(db, runId);
  let shared = gates.get(gateKey);
  if (!shared) {
    const limit = new AimdLimit({ ceiling: maxConcurrency, initial: recorded?.concurrencyLimit });
    gates.set(gateKey, (shared = { gate: new AdaptiveGate(limit), lastUsed: now }));
  }
  shared.lastUsed = now;
  const known = runs.get(runId);
  if (known && known.traffic.gate === shared.gate) {
    known.lastUsed = now;
    return known.traffic;
  }
  const traffic = new RunTraffic(runId, maxConcurrency, shared.gate);
  runs.set(runId, { traffic, lastUsed: now });
  return traffic;
}
