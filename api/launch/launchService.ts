/**
 * Launching runs, one (a verification or a formal evaluation) or several at once (a comparison's,
 * one per model), the same way:
 *
 *   1. plan: datasets, serving plan and quota charge are decided before anything is written
 *      (launchPlan.ts, comparisonPlan.ts), so a refusal costs nothing;
 *   2. one transaction writes every run, queued, with its quota slot taken
 *      (db/queries/runLaunch.ts, db/queries/comparisons.ts); any refusal rolls it all back;
 *   3. after the commit each run's workflow is started; its ID is derived from the run's, so a
 *      second start is refused and taken as success;
 *   4. a start the workflow service does not accept is compensated: the run ends failed and its
 *      quota slot is given back (abandonLaunch).
 *
 * With an Idempotency-Key, a replay answers with what the first request made. Its runs may still
 * be queued (the first request died between its commit and the start, or has not reached it yet),
 * so the replay starts them too; a replay that cannot reach Temporal answers 503 asking for a retry
 * with the same key, and compensates nothing, since the first request may yet start the run.
 */
import type { ApiDeps } from '../apiDeps';
import type { Caller } from '../../contracts/caller';
import type { CreateComparisonBody } from '../../contracts/comparison';
import type { LaunchedRun } from '../../contracts/run';
import { HttpProblem, conflict, notFound, statusTitle, tooManyRequests } from '../http/problems';
import { idempotencyKeyReused } from '../http/idempotencyKey';
import { startRunWorkflow } from '../gateways/temporalGateway';
import { getEvaluationFor } from '../../db/queries/evaluations';
import {
  abandonLaunch,
  insertLaunchedRun,
  type LaunchedRunRecord,
  type LaunchOutcome,
  type QuotaCharge,
} from '../../db/queries/runLaunch';
import { createComparison } from '../../db/queries/comparisons';
import type { IdempotentRequest } from '../../db/queries/idempotency';
import { quotaExhaustedMessage, utcMonth } from '../../db/queries/quota';
import { workflowIds } from '../../temporal.config';
import { planRun, type LaunchKind } from './launchPlan';
import { planComparison } from './comparisonPlan';

export type LaunchDeps = Pick<ApiDeps, 'db' | 'env' | 'temporal' | 'logger' | 'now'>;

export interface Launched<T> {
  result: T;
  /** The Idempotency-Key had already made it: nothing new was written. */
  replayed: boolean;
}

type Refusal = Extract<LaunchOutcome, { ok: false }>;

/** Launches one run of the caller's evaluation. */
export async function launchRun(
  deps: LaunchDeps,
  caller: Caller,
  evaluationId: string,
  kind: LaunchKind,
  idempotency: IdempotentRequest | null,
): Promise<Launched<LaunchedRun>> {
  const evaluation = await getEvaluationFor(deps.db, caller, evaluationId);
  const request = await planRun(deps, caller, evaluation, kind, { month: currentMonth(deps) });
  const outcome = await insertLaunchedRun(deps.db, { ...request, idempotency });
  if (!outcome.ok) throw launchRefused(outcome);

  const { run } = outcome;
  const replayed = 'replayed' in outcome;
  const [failed] = await startLaunched(deps, [{ run, quota: request.quota }], replayed);
  if (failed && replayed) {
    throw unavailable(
      `run v${run.version} was launched by the first request with this Idempotency-Key, but the workflow service could not be reached ` +
        'to start it; retry with the same key shortly.',
    );
  }
  if (failed) {
    throw unavailable(
      `run v${run.version} could not be started because the workflow service did not accept it; ` +
        `the run was marked failed${request.quota ? ' and the quota slot was given back' : ''}. Try again shortly.`,
    );
  }
  if (!replayed) {
    deps.logger.info(
      { runId: run.runId, evaluationId: evaluation.id, type: run.type, version: run.version },
      'run launched',
    );
  }
  const launched: LaunchedRun = {
    runId: run.runId,
    version: run.version,
    type: run.type,
    status: run.status,
    workflowId: workflowIds.run(run.runId),
  };
  return { result: launched, replayed };
}

/** Launches a comparison: one formal run per model, all or none; answers with the comparison's id. */
export async function launchComparison(
  deps: LaunchDeps,
  caller: Caller,
  body: CreateComparisonBody,
  idempotency: IdempotentRequest | null,
): Promise<Launched<string>> {
  const { models, launches } = await planComparison(deps, caller, body, currentMonth(deps));
  const outcome = await createComparison(deps.db, {
    ownerId: caller.userId,
    name: body.name,
    domain: models[0]!.domain,
    datasetIds: body.datasets,
    weights: body.weights ?? {},
    launches,
    idempotency: idempotency ? { key: idempotency.key, requestHash: idempotency.requestHash } : null,
  });
  if (!outcome.ok) {
    if (outcome.reason === 'idempotency-mismatch') throw idempotencyKeyReused('comparison');
    const { index, refusal } = outcome;
    const what = `the launch of evaluationIds[${index}] was refused, so no model of the comparison was launched`;
    if (refusal.reason === 'quota-exhausted') {
      const { charge, used } = refusal;
      throw tooManyRequests(
        `a comparison of ${models.length} models takes ${models.length} formal quota slots; ${what}: ${quotaExhaustedMessage(charge.kind, used, charge.limit, charge.month)}`,
      );
    }
    if (refusal.reason === 'evaluation-changed')
      throw conflict(`${what}: ${refusal.detail}`, `evaluationIds[${index}]`);
    if (refusal.reason === 'evaluation-missing') throw notFound('evaluation');
    throw idempotencyKeyReused('comparison');
  }

  const replayed = 'replayed' in outcome;
  const failed = await startLaunched(
    deps,
    outcome.runs.map((run, position) => ({ run, quota: launches[position]?.quota ?? null })),
    replayed,
  );
  const names = failed.map((run) => run.modelName).join(', ');
  if (failed.length > 0 && replayed) {
    throw unavailable(
      `comparison ${outcome.comparisonId} was created by the first request with this Idempotency-Key, but the workflow service could not ` +
        `be reached to start the runs of ${names}; retry with the same key shortly.`,
    );
  }
  if (failed.length > 0) {
    throw unavailable(
      `comparison ${outcome.comparisonId} was created, but the workflow service did not accept the runs of ${names}; ` +
        'those runs were marked failed and their quota slots given back. Try again shortly.',
    );
  }
  if (!replayed) {
    deps.logger.info(
      { comparisonId: outcome.comparisonId, runs: outcome.runs.map((r) => r.runId) },
      'comparison launched',
    );
  }
  return { result: outcome.comparisonId, replayed };
}

/**
 * Starts the workflows of runs the launch's transaction wrote (or a replay found), and answers with
 * the runs whose start failed, in the order given. A fresh launch's failed start is compensated
 * here; a replay's is left to the first request and to a retry with the same key.
 */
async function startLaunched(
  deps: LaunchDeps,
  launched: readonly { run: LaunchedRunRecord; quota: QuotaCharge | null }[],
  replayed: boolean,
): Promise<LaunchedRunRecord[]> {
  const failed = await Promise.all(
    launched.map(async ({ run, quota }): Promise<LaunchedRunRecord | null> => {
      // A run the first request's workflow has already picked up needs nothing.
      if (replayed && run.status !== 'queued') return null;
      try {
        await startRunWorkflow(deps.temporal, run);
        return null;
      } catch (error) {
        if (replayed) {
          deps.logger.warn({ runId: run.runId, err: error }, 'replayed launch could not start the run workflow');
          return run;
        }
        deps.logger.error({ runId: run.runId, err: error }, 'run workflow start failed');
        await abandonLaunch(deps.db, run.runId, `the run's workflow could not be started: ${errorChain(error)}`, quota);
        return run;
      }
    }),
  );
  return failed.filter((run): run is LaunchedRunRecord => run !== null);
}

function launchRefused(refusal: Refusal): HttpProblem {
  switch (refusal.reason) {
    case 'idempotency-mismatch':
      return idempotencyKeyReused('launch');
    case 'quota-exhausted': {
      const { charge, used } = refusal;
      return tooManyRequests(quotaExhaustedMessage(charge.kind, used, charge.limit, charge.month));
    }
    case 'evaluation-changed':
      return conflict(refusal.detail);
    case 'evaluation-missing':
      return notFound('evaluation');
  }
}

function unavailable(detail: string): HttpProblem {
  return new HttpProblem(503, statusTitle(503), detail);
}

function currentMonth(deps: LaunchDeps): string {
  return utcMonth((deps.now ?? (() => new Date()))());
}

/** "Failed to start Workflow: 14 UNAVAILABLE: …": the client's message alone does not say why. */
function errorChain(error: unknown): string {
  const messages: string[] = [];
  for (let e: unknown = error; e instanceof Error && messages.length < 4; e = e.cause) messages.push(e.message);
  return messages.join(': ') || String(error);
}
