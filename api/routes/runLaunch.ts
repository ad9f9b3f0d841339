/**
 * Launching runs of an evaluation: a verification (1–3 drawn samples per dataset, no quota) or a
 * formal evaluation (every sample, one slot of the owner's monthly quota). The records are written
 * in one transaction (db/queries/runLaunch.ts); the workflow is started after it commits, and a
 * start that fails is compensated: the run ends failed and the quota slot is given back.
 *
 * A private deployment launches from the evaluation's latest upload version, which must have passed
 * its check; the image, GPU type and count are checked again (images are reviewed and hosts
 * reconfigured after an evaluation is written) and frozen as the run's serving plan. All of this
 * is decided before any quota is taken.
 */
import { randomInt } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { ApiDeps } from '../apiDeps';
import type { Caller } from '../../contracts/caller';
import { LaunchFormalBody, LaunchVerificationBody, LaunchedRun, type ServingPlan } from '../../contracts/run';
import { problems } from '../openapi';
import { HttpProblem, badRequest, conflict, notFound, statusTitle, tooManyRequests } from '../problems';
import { servingRefusals } from '../privateDeploymentRules';
import { withPredictionSets } from '../predictionsPlan';
import { getImage } from '../../db/queries/images';
import { freezeServingPlan } from '../../db/queries/servingPlan';
import { latestUploadVersion } from '../../db/queries/uploads';
import { getEvaluationFor } from '../../db/queries/evaluations';
import { getVisibleDatasets } from '../../db/queries/datasets';
import {
  abandonLaunch,
  insertLaunchedRun,
  type LaunchedRunRecord,
  type EvaluationRow,
  type PlannedDataset,
  type QuotaCharge,
} from '../../db/queries/runLaunch';
import { quotaExhaustedMessage, quotaLimit, utcMonth } from '../../db/queries/quota';
import { drawSampleIndices } from '../../datasets/prng';
import { startRunWorkflow } from '../temporalGateway';
import { idempotencyKeyReused, idempotencyOf, IdempotencyHeaders } from '../idempotencyKey';
import type { IdempotentRequest } from '../../db/queries/idempotency';
import { workflowIds } from '../../temporal.config';

/** Samples drawn per dataset when the request does not say: the most of the 1–3 the product calls for. */
export const DEFAULT_VERIFICATION_SAMPLES = 3;

const EvaluationParams = Type.Object({ id: Type.String({ description: 'the evaluation id' }) });

/** `reuse: false`: a formal run that infers every dataset afresh (docs/evaluation-modes.md). */
export type LaunchKind =
  { type: 'verification'; samplesPerDataset: number; seed: number } | { type: 'formal'; reuse?: boolean };

export async function runLaunchRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  r.post(
    '/evaluations/:id/verifications',
    {
      schema: {
        summary: 'Start an inference verification',
        description:
          `Runs the evaluation on a few samples of each dataset (samplesPerDataset, 1–3, default ${DEFAULT_VERIFICATION_SAMPLES}) ` +
          'so the model and its service can be checked before a formal launch. The samples are drawn with a seed ' +
          '(random unless given; dataset at position p draws with seed + p) that is recorded with the run. Uses no quota.',
        tags: ['runs'],
        params: EvaluationParams,
        body: LaunchVerificationBody,
        headers: IdempotencyHeaders,
        response: { 202: LaunchedRun, ...problems(400, 403, 404, 409, 422, 503) },
      },
      config: { roles: ['user', 'admin'] },
      // Every field has a default, so a request without a body asks for a default verification.
      preValidation: async (request) => {
        if (request.body === undefined) request.body = {};
      },
    },
    async (request, reply) => {
      const body = request.body;
      const idempotency = idempotencyOf(request, request.caller.userId);
      const launched = await launchRun(
        deps,
        request.caller,
        request.params.id,
        {
          type: 'verification',
          samplesPerDataset: body.samplesPerDataset ?? DEFAULT_VERIFICATION_SAMPLES,
          seed: body.seed ?? randomInt(0, 2 ** 31 - 1),
        },
        idempotency,
      );
      if (launched.replayed) reply.header('idempotent-replayed', 'true');
      return reply.code(202).send(launched.run);
    },
  );

  r.post(
    '/evaluations/:id/runs',
    {
      schema: {
        summary: 'Launch a formal evaluation',
        description:
          "Evaluates every sample of every dataset. Takes one slot of the evaluation owner's monthly formal quota " +
          '(UTC calendar month); 429 when the month is used up. A dataset whose identical result (same model, dataset ' +
          'content, inference parameters, answer-changing limits and scoring) an earlier formal run of the owner finished ' +
          'is copied from that run instead of inferred again, unless the body says reuse: false. The body is optional.',
        tags: ['runs'],
        params: EvaluationParams,
        body: LaunchFormalBody,
        headers: IdempotencyHeaders,
        response: { 202: LaunchedRun, ...problems(400, 403, 404, 409, 422, 429, 503) },
      },
      config: { roles: ['user', 'admin'] },
      // Optional: a launch without a body reuses what it may.
      preValidation: async (request) => {
        if (request.body === undefined) request.body = {};
      },
    },
    async (request, reply) => {
      const kind: LaunchKind = request.body.reuse === false ? { type: 'formal', reuse: false } : { type: 'formal' };
      const launched = await launchRun(
        deps,
        request.caller,
        request.params.id,
        kind,
        idempotencyOf(request, request.caller.userId),
      );
      if (launched.replayed) reply.header('idempotent-replayed', 'true');
      return reply.code(202).send(launched.run);
    },
  );
}

async function launchRun(
  deps: ApiDeps,
  caller: Caller,
  evaluationId: string,
  kind: LaunchKind,
  idempotency: IdempotentRequest | null,
): Promise<{ run: LaunchedRun; replayed: boolean }> {
  const evaluation = await getEvaluationFor(deps.db, caller, evaluationId);
  const datasets = await planDatasets(deps, evaluation, kind);
  const serving = await planServing(deps, evaluation);
  const month = utcMonth((deps.now ?? (() => new Date()))());
  const quota: QuotaCharge | null =
    kind.type === 'formal'
      ? { userId: evaluation.ownerId, kind: 'formal', month, limit: quotaLimit(deps.env.quota, 'formal') }
      : null;

  const outcome = await insertLaunchedRun(deps.db, {
    evaluationId: evaluation.id,
    submitterId: caller.userId,
    type: kind.type,
    datasets,
    sampleSeed: kind.type === 'verification' ? kind.seed : null,
    quota,
    serving,
    idempotency,
    reuse: kind.type === 'formal' && kind.reuse !== false,
  });
  if (!outcome.ok) {
    if (outcome.reason === 'idempotency-mismatch') {
      throw idempotencyKeyReused('launch');
    }
    if (outcome.reason === 'quota-exhausted') {
      const { charge, used } = outcome;
      throw tooManyRequests(quotaExhaustedMessage(charge.kind, used, charge.limit, charge.month));
    }
    if (outcome.reason === 'evaluation-changed') throw conflict(outcome.detail);
    throw notFound('evaluation');
  }

  const { run } = outcome;
  if ('replayed' in outcome) {
    // The first request may have died between its commit and starting the workflow, or may not have
    // reached it yet: start it now. Whichever copy starts it second is told it runs already.
    if (run.status === 'queued') {
      await startRunWorkflow(deps.temporal, run).catch((error: unknown) => {
        deps.logger.warn({ runId: run.runId, err: error }, 'replayed launch could not start the run workflow');
        throw new HttpProblem(
          503,
          statusTitle(503),
          `run v${run.version} was launched by the first request with this Idempotency-Key, but the workflow service could not be reached ` +
            'to start it; retry with the same key shortly.',
        );
      });
    }
    return { run: asLaunched(run, workflowIds.run(run.runId)), replayed: true };
  }
  try {
    const { workflowId } = await startRunWorkflow(deps.temporal, run);
    deps.logger.info(
      { runId: run.runId, evaluationId: evaluation.id, type: run.type, version: run.version },
      'run launched',
    );
    return { run: asLaunched(run, workflowId), replayed: false };
  } catch (error) {
    const reason = `the run's workflow could not be started: ${errorChain(error)}`;
    deps.logger.error({ runId: run.runId, err: error }, 'run workflow start failed');
    await abandonLaunch(deps.db, run.runId, reason, quota);
    throw new HttpProblem(
      503,
      statusTitle(503),
      `run v${run.version} could not be started because the workflow service did not accept it; ` +
        `the run was marked failed${quota ? ' and the quota slot was given back' : ''}. Try again shortly.`,
    );
  }
}

function asLaunched(run: LaunchedRunRecord, workflowId: string): LaunchedRun {
  return { runId: run.runId, version: run.version, type: run.type, status: run.status, workflowId };
}

/** A private deployment's serving plan, or 409 naming everything that stands in its way; null for an API deployment. */
export async function planServing(deps: ApiDeps, evaluation: EvaluationRow): Promise<ServingPlan | null> {
  const deployment = evaluation.deployment;
  if (deployment.method !== 'private') return null;
  const [upload, image] = await Promise.all([
    latestUploadVersion(deps.db, evaluation.id),
    getImage(deps.db, deployment.imageId),
  ]);
  const errors = servingRefusals({
    evaluationId: evaluation.id,
    ownerId: evaluation.ownerId,
    domain: evaluation.domain,
    deployment,
    image,
    upload,
    gpuTypes: deps.env.containers.gpuTypes,
  });
  if (errors.length > 0) {
    throw new HttpProblem(
      409,
      statusTitle(409),
      `the run cannot be launched: ${errors.map((e) => `${e.field} ${e.message}`).join('; ')}`,
      errors,
    );
  }
  return freezeServingPlan(deployment, image!, upload!);
}

/**
 * The evaluation's datasets as the run will take them, refusing ones the owner can no longer see.
 * A comparison runs a chosen subset of them (`datasetIds`, each one of the evaluation's).
 */
export async function planDatasets(
  deps: ApiDeps,
  evaluation: EvaluationRow,
  kind: LaunchKind,
  datasetIds: readonly string[] = evaluation.datasetIds,
): Promise<PlannedDataset[]> {
  const visible = await getVisibleDatasets(deps.db, { userId: evaluation.ownerId, isAdmin: false }, [...datasetIds]);
  const byId = new Map(visible.map((d) => [d.id, d]));
  const missing = datasetIds.filter((id) => !byId.has(id));
  if (missing.length > 0) {
    throw badRequest(
      'datasets',
      `lists ${missing.join(', ')}, which no longer exist or are not visible to the evaluation's owner; edit the evaluation's datasets`,
    );
  }
  const planned = datasetIds.map((id, position) => {
    const d = byId.get(id)!;
    if (d.size === 0) throw badRequest('datasets', `lists ${id}, which has no samples`);
    const sampleIndices =
      kind.type === 'verification' ? drawSampleIndices(kind.seed + position, d.size, kind.samplesPerDataset) : null;
    return {
      datasetId: id,
      task: d.task,
      metric: d.metric,
      contentHash: d.contentHash,
      sampleIndices,
      total: sampleIndices?.length ?? d.size,
    };
  });
  return withPredictionSets(deps.db, evaluation, planned);
}

/** "Failed to start Workflow: 14 UNAVAILABLE: …": the client's message alone does not say why. */
function errorChain(error: unknown): string {
  const messages: string[] = [];
  for (let e: unknown = error; e instanceof Error && messages.length < 4; e = e.cause) messages.push(e.message);
  return messages.join(': ') || String(error);
}
