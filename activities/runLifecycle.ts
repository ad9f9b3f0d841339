/**
 * Activities that move a run and its datasets through their statuses. Each one is idempotent:
 * transitions are guarded by the current status in the database, so a retry repeats nothing.
 */
import type { ActivityDeps } from './activityDeps';
import type { Batching, DatasetMetrics, RunConfig, RunStatus } from '../contracts/run';
import { CUSTOM_IMAGE_SCORER } from '../contracts/scoringConfig';
import { batchingFor, pipelinedBatchSize } from '../temporal.config';
import {
  closeDataset,
  closeRun,
  closeUnfinishedDatasets,
  computeDatasetMetrics,
  getRun,
  getRunDataset,
  listRunDatasets,
  markDatasetRunning,
  markRunRunning,
} from '../db/queries/runRecords';
import { appendRunLogs } from '../db/queries/runLogs';
import { refundRunQuota } from '../db/queries/quota';
import { failPendingSamples } from '../db/queries/judgeSteps';
import { failUnattemptedSamples } from '../db/queries/sampleResults';
import { copyReusedResult, decideReuse } from '../db/queries/reuse';
import { TERMINAL_STATUSES } from '../contracts/run';
import { queueRunEndedMail } from './notifications/runEndedNotice';
import { holdForManualReview } from './review/heldDatasets';
import { overallInterval, taskScores, type ScoreInterval } from '../scoring/scoreAggregation';
import { codeSamplingFor, isCodeDataset } from '../scoring/codeSampling';
import { withPassAtK } from './codeScoring/datasetPassAtK';
import { robustnessWanted } from './robustness/robustnessPlan';
import { withRobustness } from './robustness/datasetRobustness';
import { withMultimodalBreakdown } from './multimodal/multimodalScoring';
import { withBackboneReport } from './backbone/backboneMetrics';
import { withSafetyBreakdown } from './judging/safetyBreakdown';
import { PRIVATE_PROTOCOL_BY_DOMAIN, type Domain } from '../contracts/domain';
import { isBackboneMetric, isMultimodalMetric, SAFETY_METRIC } from '../contracts/dataset';

export interface RunPlan {
  /** Set when the run ended before its workflow began (stopped while queued). */
  endedAs: RunStatus | null;
  datasetIds: string[];
  batching: Batching;
  /** A private deployment: the datasets run against a model container (absent in runs begun before it existed). */
  serving?: boolean;
  /** A private deployment with no model server (run.sh jobs): its datasets hold the run's container units (set only then). */
  containerUnits?: true;
  /**
   * A formal run whose model must be ready before its first dataset: `api`, its endpoint is waited
   * for (activities/inference/endpointReadiness.ts); `serving`, its container's health wait. Set
   * only then; a run that fails before its model was ready gets its quota slot back (finishRun).
   */
  readiness?: 'api' | 'serving';
}

export interface BegunDataset {
  total: number;
  /** Evaluated by the run's custom image in one container job (activities/customImages); set only then. */
  customImage?: true;
  /** Answered by a multimodal private deployment's run.sh in one container job (activities/multimodal); set only then. */
  runScript?: true;
  /** A CV or Audio backbone: one fine-tune job evaluates the dataset (set only then). */
  finetune?: true;
  judged?: true;
  code?: { n: number };
  robustness?: true;
  samplesPerBatch?: number;
}

/** A run given its batching explicitly keeps it for every dataset. */
function pipelined(config: RunConfig): { samplesPerBatch?: number } {
  return config.batching ? {} : { samplesPerBatch: pipelinedBatchSize(config.limits.maxConcurrency) };
}

/** A private deployment whose datasets each run one container job (multimodal run.sh, backbone fine-tuning). */
function jobProtocol(domain: Domain): boolean {
  const protocol = PRIVATE_PROTOCOL_BY_DOMAIN[domain];
  return protocol === 'run-script' || protocol === 'finetune';
}

export type DatasetOutcome = 'completed' | 'stopped' | 'aborted';
export type RunOutcome = 'completed' | 'stopped' | 'failed';

export function createRunLifecycleActivities({ db, logger }: ActivityDeps) {
  return {
    async beginRun({ runId }: { runId: string }): Promise<RunPlan> {
      const run = await markRunRunning(db, runId);
      const batching = run.config.batching ?? batchingFor(run.config.limits.maxConcurrency);
      if (TERMINAL_STATUSES.includes(run.status)) return { endedAs: run.status, datasetIds: [], batching };
      const datasets = await listRunDatasets(db, runId);
      const serving = run.config.serving !== undefined && PRIVATE_PROTOCOL_BY_DOMAIN[run.config.domain] === 'func';
      // Only an API deployment has an endpoint in its configuration (db/queries/runLaunch.ts).
      const readiness = run.type !== 'formal' ? null : serving ? 'serving' : run.config.endpoint ? 'api' : null;
      await appendRunLogs(db, [
        {
          runId,
          level: 'info',
          message: `${run.type} run v${run.version} started: ${datasets.length} dataset(s), ${datasets.reduce((n, d) => n + d.total, 0)} sample(s)`,
          dedupeKey: 'run-start',
        },
      ]);
      logger.info({ runId }, 'run started');
      return {
        endedAs: null,
        datasetIds: datasets.map((d) => d.datasetId),
        batching,
        // A run.sh deployment serves no model: each dataset runs its own job (beginDataset).
        serving,
        ...(run.config.serving && jobProtocol(run.config.domain) ? { containerUnits: true as const } : {}),
        ...(readiness ? { readiness } : {}),
      };
    },

    /**
     * `judged`: the dataset's metric is judge-scored, so each batch is followed by its judgeBatch (set only when true).
     * `robustness`: a formal run measuring robustness; the clean pass is followed by a perturbed one (set only then).
     * `code`: a pass_at_k dataset, each batch followed by its scoreCodeBatch in the sandbox; n completions per sample (set only then).
     * `samplesPerBatch`: this dataset's batch size when it differs from the run's (judged and code datasets).
     */
    async beginDataset({ runId, datasetId }: { runId: string; datasetId: string }): Promise<BegunDataset> {
      const row = await markDatasetRunning(db, runId, datasetId);
      const run = await getRun(db, runId);
      const plan = run.config.datasets.find((d) => d.datasetId === datasetId);
      const custom = run.config.scoring?.customImage;
      if (custom) {
        await appendRunLogs(db, [
          {
            runId,
            datasetId,
            level: 'info',
            message: `dataset ${datasetId} (${row.task}) running: evaluated by the custom image ${custom.imageName}`,
            dedupeKey: `dataset-start:${datasetId}`,
          },
        ]);
        return { total: row.total, customImage: true };
      }
      if (run.config.serving && PRIVATE_PROTOCOL_BY_DOMAIN[run.config.domain] === 'run-script') {
        const robust = await robustnessWanted(db, run, plan);
        await appendRunLogs(db, [
          {
            runId,
            datasetId,
            level: 'info',
            message:
              `dataset ${datasetId} (${row.task}) running: ${row.total} item(s), answered by run.sh ${row.task} against this dataset's data server` +
              (robust ? ', then again on perturbed items (robustness)' : ''),
            dedupeKey: `dataset-start:${datasetId}`,
          },
        ]);
        return { total: row.total, runScript: true };
      }
      if (run.config.serving && PRIVATE_PROTOCOL_BY_DOMAIN[run.config.domain] === 'finetune') {
        const choice = run.config.backbone?.tasks.find((t) => t.task === row.task);
        await appendRunLogs(db, [
          {
            runId,
            datasetId,
            level: 'info',
            message:
              `dataset ${datasetId} (${row.task}) running: the backbone frozen, a preset head fine-tuned` +
              `${choice ? ` (${choice.adaptation})` : ''} and scored on ${row.total} test item(s)`,
            dedupeKey: `dataset-start:${datasetId}`,
          },
        ]);
        return { total: row.total, finetune: true };
      }
      // Inference only: every answer is stored as it comes, and nothing scores it afterwards.
      if (run.config.inferenceOnly) {
        await appendRunLogs(db, [
          {
            runId,
            datasetId,
            level: 'info',
            message: `dataset ${datasetId} (${row.task}) running: ${row.total} sample(s), inference only (answers stored, not scored)`,
            dedupeKey: `dataset-start:${datasetId}`,
          },
        ]);
        return { total: row.total };
      }
      if (isCodeDataset(plan)) {
        const { n } = codeSamplingFor(run.config, datasetId);
        await appendRunLogs(db, [
          {
            runId,
            datasetId,
            level: 'info',
            message: `dataset ${datasetId} (${row.task}) running: ${row.total} problem(s), ${n} completion(s) each, scored in the code sandbox`,
            dedupeKey: `dataset-start:${datasetId}`,
          },
        ]);
        return { total: row.total, code: { n }, ...pipelined(run.config) };
      }
      // A safety dataset's answers are labelled after each batch, by its judge or the fallback (docs/safety.md).
      const judged = plan?.metric === SAFETY_METRIC || run.config.scoring?.datasets[datasetId]?.metric === 'judge';
      const robust = await robustnessWanted(db, run, plan);
      await appendRunLogs(db, [
        {
          runId,
          datasetId,
          level: 'info',
          message: `dataset ${datasetId} (${row.task}) running: ${row.total} sample(s)${robust ? ', then again with perturbed prompts (robustness)' : ''}`,
          dedupeKey: `dataset-start:${datasetId}`,
        },
      ]);
      // An identical finished result of an earlier formal run is copied in: inference then finds every sample stored.
      const source = await decideReuse(db, runId, datasetId);
      if (source) {
        const copied = await copyReusedResult(db, runId, datasetId, source.runId);
        await appendRunLogs(db, [
          {
            runId,
            datasetId,
            level: 'info',
            message:
              `dataset ${datasetId} reused from run ${source.runId} (v${source.version}): ${copied.samples} sample(s) (${copied.failed} failed) copied, ` +
              'not inferred again (same model, dataset content, inference and scoring configuration; launch with reuse: false for a fresh run)',
            dedupeKey: `dataset-reused:${datasetId}`,
          },
        ]);
      }
      return {
        total: row.total,
        ...(judged ? { judged, ...pipelined(run.config) } : {}),
        ...(robust ? { robustness: true as const } : {}),
      };
    },

    async finishDataset({
      runId,
      datasetId,
      outcome,
      reason,
    }: {
      runId: string;
      datasetId: string;
      outcome: DatasetOutcome;
      reason?: string | null;
    }): Promise<{ status: RunStatus }> {
      const run = await getRun(db, runId);
      const plan = run.config.datasets.find((d) => d.datasetId === datasetId);
      const current = await getRunDataset(db, runId, datasetId);
      if (TERMINAL_STATUSES.includes(current.status)) return { status: current.status };
      if (run.config.scoring?.customImage) return finishCustomImageDataset(db, current, outcome, reason ?? null);
      if (run.config.inferenceOnly) return finishAnsweredDataset(db, current, plan, outcome, reason ?? null);
      // Samples inferred but never judged end failed, so each sample is counted once, as scored or failed.
      await failPendingSamples(
        db,
        runId,
        datasetId,
        outcome === 'stopped'
          ? 'not judged: the dataset was stopped first'
          : `not judged: ${reason ?? 'judging did not finish'}`,
      );
      if (outcome === 'aborted') await failUnattempted(db, current, plan, reason);
      let metrics = isCodeDataset(plan)
        ? await withPassAtK(
            db,
            run.config,
            runId,
            datasetId,
            await computeDatasetMetrics(db, runId, datasetId, 'pass_at_k'),
          )
        : await withRobustness(
            db,
            runId,
            datasetId,
            await computeDatasetMetrics(
              db,
              runId,
              datasetId,
              // A multimodal task's dataset is scored by its task, a safety dataset by its labels, a backbone's by its
              // fine-tune job, whatever a scoring configuration says.
              isMultimodalMetric(plan?.metric) || isBackboneMetric(plan?.metric) || plan?.metric === SAFETY_METRIC
                ? plan.metric
                : (run.config.scoring?.datasets[datasetId]?.metric ?? plan?.metric ?? 'exact_match'),
            ),
          );
      // A multimodal dataset's job left its task's breakdown (activities/multimodal/multimodalJob.ts).
      if (outcome === 'completed' && current.metrics?.multimodal)
        metrics = withMultimodalBreakdown(metrics, current.metrics.multimodal);
      // A backbone dataset's job left its report (activities/backbone/backboneJob.ts).
      if (outcome === 'completed' && current.metrics?.backbone)
        metrics = withBackboneReport(metrics, current.metrics.backbone, !plan?.sampleIndices);
      if (plan?.metric === SAFETY_METRIC) metrics = await withSafetyBreakdown(db, runId, datasetId, metrics);
      // A subjective dataset under manual review stays open until its reviewers are done.
      if (outcome === 'completed' && (await holdForManualReview({ db }, runId, datasetId, metrics)))
        return { status: 'running' };
      let status: 'succeeded' | 'failed' | 'stopped';
      let error: string | null = null;
      if (outcome === 'stopped') {
        status = 'stopped';
      } else if (outcome === 'aborted') {
        status = 'failed';
        error = reason ?? 'dataset aborted';
      } else if (metrics.scored === 0 && metrics.failed > 0) {
        status = 'failed';
        error = `all ${metrics.failed} sample(s) failed${reason ? `: ${reason}` : ''}`;
      } else {
        status = 'succeeded';
      }
      const closed = await closeDataset(db, runId, datasetId, status, metrics, error);
      await appendRunLogs(db, [
        {
          runId,
          datasetId,
          level: status === 'failed' ? 'error' : 'info',
          message:
            `dataset ${datasetId} ${closed.status}: score ${metrics.score.toFixed(4)}${intervalText(metrics.ci95)} over ${metrics.scored + metrics.failed} sample(s)` +
            ` (${metrics.failed} failed)${closed.error ? ` — ${closed.error}` : ''}`,
          dedupeKey: `dataset-end:${datasetId}`,
        },
      ]);
      return { status: closed.status };
    },

    /**
     * `refund`: the run failed before its model was ready, so it inferred nothing and its formal
     * quota slot is given back (once, however often this is retried).
     */
    async finishRun({
      runId,
      outcome,
      reason,
      refund,
    }: {
      runId: string;
      outcome: RunOutcome;
      reason?: string | null;
      refund?: boolean;
    }): Promise<{ status: RunStatus; overallScore: number | null }> {
      const refunded =
        refund === true &&
        outcome === 'failed' &&
        (await refundRunQuota(
          db,
          await getRun(db, runId),
          'the run failed before its model was ready, so its formal quota slot was given back',
        ));
      if (outcome === 'stopped') await closeUnfinishedDatasets(db, runId, 'stopped', null);
      if (outcome === 'failed') await closeUnfinishedDatasets(db, runId, 'failed', reason ?? 'run failed');
      const datasets = await listRunDatasets(db, runId);
      // A failed dataset does not fail the run; a run in which no dataset succeeded has failed.
      const status: 'succeeded' | 'failed' | 'stopped' =
        outcome === 'stopped'
          ? 'stopped'
          : outcome === 'failed' || !datasets.some((d) => d.status === 'succeeded')
            ? 'failed'
            : 'succeeded';
      const error =
        status === 'failed'
          ? `${reason ?? 'no dataset succeeded'}${refunded ? '; the formal quota slot was given back' : ''}`
          : status === 'stopped'
            ? (reason ?? null)
            : null;
      const run = await closeRun(db, runId, status, error);
      await appendRunLogs(db, [
        {
          runId,
          level: run.status === 'failed' ? 'error' : 'info',
          message:
            `run ${run.status}${run.overallScore === null ? '' : `: overall score ${run.overallScore.toFixed(4)}${intervalText(overallInterval(taskScores(datasets)))}`}` +
            `${run.error ? ` — ${run.error}` : ''}`,
          dedupeKey: 'run-end',
        },
      ]);
      await queueRunEndedMail({ db, logger }, runId);
      logger.info({ runId, status: run.status }, 'run ended');
      return { status: run.status, overallScore: run.overallScore };
    },
  };
}

/**
 * A dataset a custom image evaluated: it succeeded when the job's metrics were stored
 * (customImageJob.ts), and otherwise failed with the job's reason or stopped.
 */
async function finishCustomImageDataset(
  db: ActivityDeps['db'],
  current: Awaited<ReturnType<typeof getRunDataset>>,
  outcome: DatasetOutcome,
  reason: string | null,
): Promise<{ status: RunStatus }> {
  const { runId, datasetId } = current;
  const stored = outcome === 'completed' ? current.metrics : null;
  const status = outcome === 'stopped' ? 'stopped' : stored?.custom ? 'succeeded' : 'failed';
  const error = status === 'failed' ? (reason ?? 'the custom image reported no metrics') : null;
  const metrics: DatasetMetrics = stored ?? {
    metric: CUSTOM_IMAGE_SCORER,
    score: 0,
    scored: 0,
    failed: status === 'failed' ? 1 : 0,
    avgOutputLength: 0,
    ci95: null,
    standardError: null,
  };
  const closed = await closeDataset(db, runId, datasetId, status, metrics, error);
  const reported = stored?.custom?.metrics.map((m) => `${m.name} ${m.value}`).join(', ');
  await appendRunLogs(db, [
    {
      runId,
      datasetId,
      level: closed.status === 'failed' ? 'error' : 'info',
      message: `dataset ${datasetId} ${closed.status}${reported ? `: ${reported}` : ''}${closed.error ? ` — ${closed.error}` : ''}`,
      dedupeKey: `dataset-end:${datasetId}`,
    },
  ]);
  return { status: closed.status };
}

/**
 * A dataset of an inference-only run: its answers are stored, nothing is scored and no metrics are
 * kept. It succeeded when it completed with at least one answer; failed samples keep their reason.
 */
async function finishAnsweredDataset(
  db: ActivityDeps['db'],
  current: Awaited<ReturnType<typeof getRunDataset>>,
  plan: RunConfig['datasets'][number] | undefined,
  outcome: DatasetOutcome,
  reason: string | null,
): Promise<{ status: RunStatus }> {
  const { runId, datasetId } = current;
  if (outcome === 'aborted') await failUnattempted(db, current, plan, reason);
  const { done, failed } = await getRunDataset(db, runId, datasetId);
  const answered = done - failed;
  const status = outcome === 'stopped' ? 'stopped' : outcome === 'aborted' || answered === 0 ? 'failed' : 'succeeded';
  const error =
    status !== 'failed'
      ? null
      : outcome === 'aborted'
        ? (reason ?? 'dataset aborted')
        : `all ${failed} sample(s) failed${reason ? `: ${reason}` : ''}`;
  const closed = await closeDataset(db, runId, datasetId, status, null, error);
  await appendRunLogs(db, [
    {
      runId,
      datasetId,
      level: closed.status === 'failed' ? 'error' : 'info',
      message:
        `dataset ${datasetId} ${closed.status}: ${answered} answer(s) stored, not scored (inference only), ${failed} failed` +
        (closed.error ? ` — ${closed.error}` : ''),
      dedupeKey: `dataset-end:${datasetId}`,
    },
  ]);
  return { status: closed.status };
}

function intervalText(interval: ScoreInterval | null): string {
  return interval ? ` (95% CI ${interval.lower.toFixed(4)}–${interval.upper.toFixed(4)})` : '';
}

export type RunLifecycleActivities = ReturnType<typeof createRunLifecycleActivities>;

/** A dataset given up: its samples never attempted are stored as failed, with the reason. */
async function failUnattempted(
  db: ActivityDeps['db'],
  current: Awaited<ReturnType<typeof getRunDataset>>,
  plan: RunConfig['datasets'][number] | undefined,
  reason: string | null | undefined,
): Promise<void> {
  await failUnattemptedSamples(
    db,
    current.runId,
    current.datasetId,
    current.total,
    plan?.sampleIndices,
    `not attempted: ${reason ?? 'the dataset was given up'}`,
  );
}
