/**
 * What a launch decides before it writes anything: the datasets as the run will take them, a
 * private deployment's serving plan (image, upload version, GPUs checked again, since images are
 * reviewed and hosts reconfigured after an evaluation is written) and the quota slot a formal run
 * takes. A refusal here costs no quota and leaves no record.
 */
import type { ApiDeps } from '../apiDeps';
import type { Caller } from '../../contracts/caller';
import type { FrozenSampleLimit, ServingPlan } from '../../contracts/run';
import { HttpProblem, badRequest, statusTitle } from '../http/problems';
import { servingRefusals } from '../rules/privateDeploymentRules';
import { customImageErrors } from '../rules/customImageRules';
import { customImageOf } from '../../db/queries/scoringConfig';
import type { CustomImageConfig } from '../../contracts/scoringConfig';
import { withPredictionSets } from '../rules/predictionsPlan';
import { getImage } from '../../db/queries/images';
import { freezeServingPlan } from '../../db/queries/servingPlan';
import { latestUploadVersion } from '../../db/queries/uploads';
import { getVisibleDatasets } from '../../db/queries/datasets';
import type { EvaluationRow, LaunchRequest, PlannedDataset, QuotaCharge } from '../../db/queries/runLaunch';
import { quotaLimit } from '../../db/queries/quota';
import { drawSampleIndices } from '../../datasets/prng';
import { isRunScript, multimodalDatasetErrors, RUN_SCRIPT_CUSTOM_IMAGE } from '../rules/multimodalRules';
import { refuseLaunchByDomain } from '../rules/domainRules';

/** `reuse: false`: a formal run that infers every dataset afresh (docs/evaluation-modes.md). */
export type LaunchKind =
  | { type: 'verification'; samplesPerDataset: number; seed: number }
  | { type: 'formal'; reuse?: boolean; limit?: FrozenSampleLimit; inferenceOnly?: true };

export type PlanDeps = Pick<ApiDeps, 'db' | 'env'>;

/**
 * One run's launch as the transaction will write it. `month` is the UTC month a formal run's quota
 * slot is taken from; `datasetIds`, when given, is the chosen part of the evaluation's datasets a
 * comparison runs.
 */
export async function planRun(
  deps: PlanDeps,
  caller: Caller,
  evaluation: EvaluationRow,
  kind: LaunchKind,
  options: { month: string; datasetIds?: readonly string[] },
): Promise<LaunchRequest> {
  refuseLaunchByDomain(
    {
      domain: evaluation.domain,
      deployment: evaluation.deployment,
      apiKeySet: evaluation.apiKeyCipher !== null,
      robustness: evaluation.robustness,
      modelInfo: evaluation.modelInfo,
      backbone: evaluation.backboneTasks ? { tasks: evaluation.backboneTasks } : null,
    },
    kind.type,
  );
  if (kind.type === 'formal' && kind.inferenceOnly) refuseInferenceOnly(evaluation);
  const custom = await planCustomImage(deps, evaluation, kind);
  const datasets = (await planDatasets(deps, evaluation, kind, options.datasetIds, custom !== null)).map((d) =>
    // A custom image evaluates a dataset in one job: one unit of progress each (docs/custom-evaluation-images.md).
    custom ? { ...d, total: 1 } : d,
  );
  const serving = await planServing(deps, evaluation);
  checkMultimodalDatasets(evaluation, datasets, custom !== null);
  const quota: QuotaCharge | null =
    kind.type === 'formal'
      ? {
          userId: evaluation.ownerId,
          kind: 'formal',
          month: options.month,
          limit: quotaLimit(deps.env.quota, 'formal'),
        }
      : null;
  return {
    evaluationId: evaluation.id,
    submitterId: caller.userId,
    type: kind.type,
    datasets,
    sampleSeed: kind.type === 'verification' ? kind.seed : null,
    quota,
    serving,
    // A partial run neither reuses nor is reused: its results cover some items only. An inference-only
    // run neither: its answers carry no scores to copy, and a scored result is not what it asked for.
    reuse: kind.type === 'formal' && kind.reuse !== false && !kind.limit && !kind.inferenceOnly,
    ...(kind.type === 'formal' && kind.limit ? { limit: kind.limit } : {}),
    ...(kind.type === 'formal' && kind.inferenceOnly ? { inferenceOnly: true as const } : {}),
    ...(options.datasetIds ? { datasetSubset: true } : {}),
  };
}

/**
 * An inference-only run stores text answers to export as predictions; deployments whose answers are
 * not asked for one item at a time, or are uploaded already, have none to store (409, field mode).
 */
function refuseInferenceOnly(evaluation: EvaluationRow): void {
  const refuse = (why: string) => {
    throw new HttpProblem(409, statusTitle(409), `an inference-only run cannot be launched: ${why}`, [
      { field: 'mode', message: why },
    ]);
  };
  if (evaluation.deployment.method === 'predictions')
    refuse(
      "the evaluation's answers are uploaded predictions (deployment.method predictions): there is nothing to infer",
    );
  if (isRunScript(evaluation))
    refuse(
      'a multimodal run.sh deployment answers a whole dataset in files of one job, not as text answers that export as predictions',
    );
}

/** The multimodal rules again at launch (datasets and images change after an evaluation is written). */
function checkMultimodalDatasets(
  evaluation: EvaluationRow,
  datasets: readonly PlannedDataset[],
  customImage: boolean,
): void {
  const refuse = (message: string) => {
    throw new HttpProblem(409, statusTitle(409), `the run cannot be launched: ${message}`);
  };
  if (customImage) {
    if (isRunScript(evaluation)) refuse(RUN_SCRIPT_CUSTOM_IMAGE);
    return;
  }
  const errors = multimodalDatasetErrors(
    evaluation,
    datasets.map((d) => ({ id: d.datasetId, metric: d.metric, ...(d.fromImage ? { source: 'image' } : {}) })),
  );
  if (errors.length > 0) refuse(errors.map((e) => e.message).join('; '));
}

/**
 * The custom image the evaluation is scored by, checked again (images are reviewed and deployments
 * edited after the configuration is written), or null. Verifications are refused: the image
 * evaluates whole datasets.
 */
async function planCustomImage(
  deps: PlanDeps,
  evaluation: EvaluationRow,
  kind: LaunchKind,
): Promise<CustomImageConfig | null> {
  const custom = await customImageOf(deps.db, evaluation.id);
  if (!custom) return null;
  if (kind.type === 'verification')
    throw new HttpProblem(
      409,
      statusTitle(409),
      'a custom-image evaluation is not verified on samples: its image evaluates whole datasets and reports their metrics; ' +
        'launch a formal run (POST /v1/evaluations/{id}/runs)',
    );
  if (kind.inferenceOnly)
    throw new HttpProblem(
      409,
      statusTitle(409),
      `an inference-only run cannot be launched: the scoring configuration names a custom image (${custom.imageId}), which asks the model and scores in one job and stores no answers; remove customImage first`,
      [{ field: 'mode', message: 'cannot be inference-only while the scoring configuration names a custom image' }],
    );
  const errors = customImageErrors(await getImage(deps.db, custom.imageId), custom, evaluation);
  if (errors.length > 0)
    throw new HttpProblem(
      409,
      statusTitle(409),
      `the run cannot be launched: ${errors.map((e) => `${e.field} ${e.message}`).join('; ')}`,
      errors,
    );
  return custom;
}

/** A private deployment's serving plan, or 409 naming everything that stands in its way; null for an API deployment. */
export async function planServing(deps: PlanDeps, evaluation: EvaluationRow): Promise<ServingPlan | null> {
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

/** The items a partial run takes of a dataset: the first `count`, or a draw seeded by the limit's seed and the dataset's place. */
function limitedIndices(limit: FrozenSampleLimit, position: number, size: number): number[] {
  if (limit.sample === 'random') return drawSampleIndices((limit.seed ?? 0) + position, size, limit.count);
  return Array.from({ length: Math.min(limit.count, size) }, (_, i) => i);
}

/**
 * The evaluation's datasets as the run will take them, refusing ones the owner can no longer see.
 * A comparison runs a chosen subset of them (`datasetIds`, each one of the evaluation's).
 */
export async function planDatasets(
  deps: PlanDeps,
  evaluation: EvaluationRow,
  kind: LaunchKind,
  datasetIds: readonly string[] = evaluation.datasetIds,
  /** Scored by a custom image, which alone can run a benchmark it brings (dataset source `image`). */
  customImage = false,
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
    if (d.source === 'image' && !customImage)
      throw badRequest(
        'datasets',
        `lists ${id}, a benchmark a custom evaluation image brings; only an evaluation scored by a custom image (customImage in its scoring configuration) can run it`,
      );
    if (d.size === 0 && d.source !== 'image') throw badRequest('datasets', `lists ${id}, which has no samples`);
    const sampleIndices =
      kind.type === 'verification'
        ? drawSampleIndices(kind.seed + position, d.size, kind.samplesPerDataset)
        : kind.limit
          ? limitedIndices(kind.limit, position, d.size)
          : null;
    return {
      datasetId: id,
      task: d.task,
      metric: d.metric,
      contentHash: d.contentHash,
      sampleIndices,
      total: sampleIndices?.length ?? d.size,
      ...(d.source === 'image' ? { fromImage: true as const } : {}),
    };
  });
  return withPredictionSets(deps.db, evaluation, planned);
}
