/**
 * A CV or Audio backbone evaluated on one dataset (docs/backbones.md): this container host makes
 * sure it has the dataset's files, writes job.json and runs the platform's fine-tune job in the
 * evaluation's image (the upload at /upload, the data at /data, the package at /platform, all
 * read-only; /output writable). The job freezes the backbone, checks its outputs against meta.json,
 * trains the task's preset head and scores the test split. Its epochs reach the run's logs as they
 * finish; once it exits 0 its metrics and per-item predictions are read back through the guarded
 * readers and stored: one sample row per test item (a verification's 1–3 drawn items), the
 * dataset's score and the job's report (head, epochs, curve, every metric) beside it.
 *
 * A retry finds what the earlier attempt left: a job still running is adopted (docker/containerJob),
 * one gone is run again into the same output directory and resumes after its last finished epoch
 * (the job keeps a checkpoint of its head), stored rows are not stored twice and log lines carry
 * keys that make a second copy a no-op.
 */
import { createHash } from 'node:crypto';
import { open, readFile, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityDeps } from '../activityDeps';
import { runJobOnHost } from '../containerJobs/runContainerJob';
import { requireServing } from '../serving/servingFailed';
import { ensureBackboneData } from './backboneData';
import { withBackboneReport } from './backboneMetrics';
import { findBackboneDataset, type BackboneDatasetSpec } from '../../datasets/builtin/backbone/backboneDatasets';
import { BackboneMetrics, type BackboneDomain } from '../../contracts/backbone';
import {
  BACKBONE_PACKAGE_DIR,
  BB_DATA_MOUNT,
  BB_JOB_FILE,
  BB_PLATFORM_MOUNT,
  BB_UPLOAD_MOUNT,
  backboneCommand,
  backboneEnv,
  backboneJobFile,
  jobSeed,
} from '../../docker/backboneJob';
import { JobOutputError, readJobOutput, readJobOutputJson } from '../../storage/jobOutputs';
import { versionDir } from '../../storage/uploadLayout';
import { computeDatasetMetrics, getRun, getRunDataset, recordRunningDatasetMetrics } from '../../db/queries/runRecords';
import { appendRunLogs, type RunLogLine } from '../../db/queries/runLogs';
import { storeSampleResults } from '../../db/queries/sampleResults';
import { storePerturbedRows } from '../../db/queries/perturbedResults';
import { robustnessWanted } from '../robustness/robustnessPlan';
import { TERMINAL_STATUSES, type RunDatasetPlan } from '../../contracts/run';
import { containerHostQueue, ERROR_TYPES } from '../../temporal.config';
import { Value } from '@sinclair/typebox/value';

export interface BackboneJobInput {
  runId: string;
  datasetId: string;
}

export interface BackboneJobResult {
  /** Why the dataset failed, in words for the model's author; null when its results were stored. */
  failure: string | null;
}

const DEFAULT_TIMEOUT_MS = 4 * 3_600_000;
const PREDICTIONS_MAX_BYTES = 16 * 2 ** 20;

export function createBackboneJobActivities(deps: ActivityDeps) {
  const { db } = deps;

  return {
    /** Any container host takes the job; the dataset then talks to that host's own queue. */
    async placeBackboneJob(_input: { runId: string }): Promise<{ hostQueue: string }> {
      return { hostQueue: containerHostQueue(requireServing(deps.serving, 'container settings').containers.hostId) };
    },

    async runBackboneJob({ runId, datasetId }: BackboneJobInput): Promise<BackboneJobResult> {
      const run = await getRun(db, runId);
      const serving = run.config.serving;
      const plan = run.config.datasets.find((d) => d.datasetId === datasetId);
      if (!serving || !plan || (run.config.domain !== 'cv' && run.config.domain !== 'audio'))
        throw ApplicationFailure.nonRetryable(
          `run ${runId} has no backbone deployment or no dataset ${datasetId}`,
          ERROR_TYPES.invalidConfiguration,
        );
      const domain: BackboneDomain = run.config.domain;
      const current = await getRunDataset(db, runId, datasetId);
      if (TERMINAL_STATUSES.includes(current.status)) return { failure: null };

      const spec = findBackboneDataset(datasetId);
      if (!spec || spec.domain !== domain)
        return {
          failure: `dataset ${datasetId} is not a ${domain} built-in: a backbone is fine-tuned on the platform's own datasets only (GET /v1/datasets?domain=${domain})`,
        };
      const choice = run.config.backbone?.tasks.find((t) => t.task === spec.task);
      if (!choice)
        return {
          failure: `dataset ${datasetId} is a ${spec.task} dataset, which is not among the evaluation's tasks (${(run.config.backbone?.tasks ?? []).map((t) => t.task).join(', ') || 'none'})`,
        };

      const settings = requireServing(deps.serving, 'container settings');
      const uploadDir = versionDir(settings.uploads.dir, serving.uploadPath);
      const jobsDir = settings.containers.jobsDir ?? path.join(path.dirname(settings.uploads.dir), 'jobs');
      const data = await ensureBackboneData(deps, jobsDir, spec, runId);
      if (!data.ok) return { failure: data.failure };

      const jobKey = `bb-${datasetId}`;
      const outputDir = path.join(jobsDir, runId, jobKey);
      const type = settings.containers.gpuTypes.find((t) => t.id === serving.gpuType);
      const gpu = type?.driver ? { driver: type.driver, count: serving.gpuCount } : null;
      const job = backboneJobFile({
        domain,
        task: spec.task,
        adaptation: choice.adaptation,
        mode: run.type,
        seed: jobSeed(runId, datasetId),
        gpu: gpu !== null,
        threads: settings.containers.cpus,
        batchSizes: domain === 'cv' ? await metaBatchSizes(uploadDir, spec.task) : {},
        testIndices: plan.sampleIndices,
        robustness: domain === 'cv' && (await robustnessWanted(db, run, plan)),
      });
      await mkdir(outputDir, { recursive: true });
      await writeFile(path.join(outputDir, BB_JOB_FILE), `${JSON.stringify(job, null, 2)}\n`);

      await appendRunLogs(db, [
        {
          runId,
          datasetId,
          level: 'info',
          message:
            `fine-tuning ${spec.task} (${choice.adaptation}) on ${datasetId} (${data.hash}) in ${serving.imageRef}: ` +
            `${job.mode}, ${job.epochs} epoch(s)${job.subset ? `, at most ${job.subset} items a split` : ''}, ` +
            (gpu ? `${gpu.count} ${serving.gpuType} GPU(s)` : 'CPU'),
          dedupeKey: `bb-job-start:${datasetId}`,
        },
      ]);
      const progress = progressReader(deps, runId, datasetId, outputDir);
      const summary = await runJobOnHost(
        deps,
        {
          runId,
          jobKey,
          imageRef: serving.imageRef,
          command: backboneCommand(domain),
          env: backboneEnv(settings.containers.cpus),
          workingDir: '/output',
          inputs: [
            { hostPath: uploadDir, containerPath: BB_UPLOAD_MOUNT },
            { hostPath: data.dir, containerPath: BB_DATA_MOUNT },
            { hostPath: BACKBONE_PACKAGE_DIR, containerPath: BB_PLATFORM_MOUNT },
          ],
          outputDirOnHost: outputDir,
          network: 'none',
          gpu,
          limits: {
            cpus: settings.containers.cpus,
            memoryMb: settings.containers.memoryMb,
            timeoutMs: settings.containers.backboneJobTimeoutMs ?? DEFAULT_TIMEOUT_MS,
          },
        },
        { onCollect: progress },
      );
      await progress();
      const seconds = (summary.durationMs / 1000).toFixed(1);
      if (summary.outcome !== 'succeeded') {
        const failure = await jobFailure(outputDir, summary.outcome, summary.reason);
        await log(deps, runId, datasetId, 'error', `fine-tune job failed after ${seconds} s: ${failure}`, 'end');
        return { failure };
      }

      let report: BackboneMetrics;
      let predictions: Prediction[];
      try {
        report = toBackboneMetrics(await readJobOutputJson(outputDir, 'metrics.json'), summary.durationMs);
        predictions = parsePredictions(
          await readJobOutput(outputDir, 'predictions.jsonl', { maxBytes: PREDICTIONS_MAX_BYTES }),
        );
      } catch (error) {
        if (error instanceof JobOutputError || error instanceof OutputShapeError) {
          const failure = `the fine-tune job exited 0 but its outputs are unusable: ${error.message}`;
          await log(deps, runId, datasetId, 'error', failure, 'end');
          return { failure };
        }
        throw error;
      }
      await storeSampleResults(db, runId, datasetId, rowsOf(plan, spec, predictions));
      if (job.robustness) {
        const perturbed = perturbedRowsOf(plan, spec, predictions);
        if (perturbed) await storePerturbedRows(db, runId, datasetId, perturbed);
      }
      const base = await computeDatasetMetrics(db, runId, datasetId, plan.metric);
      await recordRunningDatasetMetrics(db, runId, datasetId, {
        metrics: withBackboneReport(base, report, plan.sampleIndices === null),
      });
      await log(
        deps,
        runId,
        datasetId,
        'info',
        `fine-tune job done in ${seconds} s on ${report.device}: ${report.head}, ${report.epochs} epoch(s); ` +
          report.metrics.map((m) => `${m.name} ${m.value.toFixed(4)}`).join(', '),
        'end',
      );
      return { failure: null };
    },
  };
}

export type BackboneJobActivities = ReturnType<typeof createBackboneJobActivities>;

/** meta.json's batch sizes for the task, when it gives them (the upload check vouched for their form). */
async function metaBatchSizes(uploadDir: string, task: string): Promise<{ train?: number; val?: number }> {
  try {
    const meta = JSON.parse(await readFile(path.join(uploadDir, 'meta.json'), 'utf8')) as {
      tasks?: Record<string, { train_batch_size?: number; val_batch_size?: number }>;
    };
    const entry = meta.tasks?.[task];
    return {
      ...(Number.isInteger(entry?.train_batch_size) ? { train: entry!.train_batch_size } : {}),
      ...(Number.isInteger(entry?.val_batch_size) ? { val: entry!.val_batch_size } : {}),
    };
  } catch {
    return {}; // the job reports an unreadable meta.json itself, precisely
  }
}

async function log(
  deps: ActivityDeps,
  runId: string,
  datasetId: string,
  level: RunLogLine['level'],
  message: string,
  key: string,
): Promise<void> {
  await appendRunLogs(deps.db, [{ runId, datasetId, level, message, dedupeKey: `bb-job-${key}:${datasetId}` }]);
}

/**
 * Copies the job's progress.jsonl into the run's logs as lines appear: each phase once, each epoch
 * once (its key holds the epoch, so a resumed or adopted job adds nothing twice).
 */
function progressReader(deps: ActivityDeps, runId: string, datasetId: string, outputDir: string) {
  let offset = 0;
  let partial = '';
  return async () => {
    let handle;
    try {
      handle = await open(path.join(outputDir, 'progress.jsonl'), 'r');
    } catch {
      return;
    }
    try {
      const { size } = await handle.stat();
      if (size < offset) offset = 0;
      if (size === offset) return;
      const buffer = Buffer.alloc(Math.min(size - offset, 1 << 20));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
      offset += bytesRead;
      const text = partial + buffer.subarray(0, bytesRead).toString('utf8');
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      const entries: RunLogLine[] = [];
      for (const line of lines) {
        const entry = progressLine(line);
        if (entry)
          entries.push({ runId, datasetId, level: 'info', ...entry, dedupeKey: `${entry.dedupeKey}:${datasetId}` });
      }
      await appendRunLogs(deps.db, entries);
    } finally {
      await handle.close();
    }
  };
}

function progressLine(line: string): { message: string; dedupeKey: string } | null {
  let e: Record<string, unknown>;
  try {
    e = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return null;
  }
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  if (e.event === 'epoch' && Number.isInteger(e.epoch)) {
    const loss = num(e.trainLoss);
    const metric = num(e.valMetric);
    const name = typeof e.valMetricName === 'string' ? e.valMetricName.slice(0, 40) : 'metric';
    const secs = num(e.seconds);
    return {
      message:
        `epoch ${String(e.epoch)}/${String(e.epochs)}: train loss ${loss === null ? '?' : loss.toFixed(4)}, ` +
        `val ${name} ${metric === null ? '?' : metric.toFixed(4)}${secs === null ? '' : ` (${secs.toFixed(1)} s)`}`,
      dedupeKey: `bb-epoch:${String(e.epoch)}`,
    };
  }
  if (e.event === 'log' && typeof e.message === 'string') {
    const message = e.message.slice(0, 500);
    return {
      message: `fine-tune job: ${message}`,
      dedupeKey: `bb-log:${createHash('sha1').update(message).digest('hex')}`,
    };
  }
  if (e.event === 'phase' && typeof e.phase === 'string')
    return { message: `fine-tune job: ${e.phase.slice(0, 40)}`, dedupeKey: `bb-phase:${e.phase.slice(0, 40)}` };
  return null;
}

/** The job's own words when it wrote error.json; the runner's otherwise (timeout, OOM, a crash). */
async function jobFailure(outputDir: string, outcome: string, reason: string): Promise<string> {
  try {
    const e = (await readJobOutputJson(outputDir, 'error.json', { maxBytes: 64 * 1024 })) as {
      code?: unknown;
      message?: unknown;
    };
    if (typeof e.message === 'string')
      return `${typeof e.code === 'string' ? `${e.code.slice(0, 40)}: ` : ''}${e.message.slice(0, 2_000)}`;
  } catch {
    // no error.json, or an unusable one: the runner's reason stands
  }
  if (outcome === 'out_of_memory') return `the fine-tune job ran out of memory: ${reason}`;
  if (outcome === 'timed_out') return `the fine-tune job ran out of time: ${reason}`;
  return `the fine-tune job failed: ${reason}`;
}

class OutputShapeError extends Error {}

function toBackboneMetrics(raw: unknown, durationMs: number): BackboneMetrics {
  const r = raw as Record<string, unknown>;
  const metricsObject = r.metrics;
  if (typeof metricsObject !== 'object' || metricsObject === null || Array.isArray(metricsObject))
    throw new OutputShapeError('metrics.json has no metrics object');
  const metrics = Object.entries(metricsObject as Record<string, unknown>)
    .filter((e): e is [string, number] => typeof e[1] === 'number' && Number.isFinite(e[1]))
    .map(([name, value]) => ({ name: name.slice(0, 64), value }));
  const curve = Array.isArray(r.curve)
    ? (r.curve as Record<string, unknown>[]).flatMap((c) =>
        Number.isInteger(c.epoch) && typeof c.trainLoss === 'number' && typeof c.valMetric === 'number'
          ? [{ epoch: c.epoch as number, trainLoss: c.trainLoss, valMetric: c.valMetric }]
          : [],
      )
    : [];
  const samples = (r.samples ?? {}) as Record<string, unknown>;
  const report = {
    task: r.task,
    adaptation: r.adaptation,
    head: typeof r.head === 'string' ? r.head.slice(0, 64) : 'unknown',
    epochs: Number.isInteger(r.epochs) ? r.epochs : curve.length,
    metrics,
    curve,
    valMetricName: typeof r.valMetricName === 'string' ? r.valMetricName.slice(0, 40) : '',
    samples: {
      train: Number.isInteger(samples.train) ? samples.train : 0,
      val: Number.isInteger(samples.val) ? samples.val : 0,
      test: Number.isInteger(samples.test) ? samples.test : 0,
    },
    device: typeof r.device === 'string' ? r.device.slice(0, 16) : 'cpu',
    durationMs: Math.round(durationMs),
    epochSeconds: typeof r.epochSeconds === 'number' && Number.isFinite(r.epochSeconds) ? r.epochSeconds : 0,
  };
  if (!Value.Check(BackboneMetrics, report))
    throw new OutputShapeError(
      `metrics.json does not describe the job: ${[...Value.Errors(BackboneMetrics, report)]
        .slice(0, 3)
        .map((e) => `${e.path} ${e.message}`)
        .join('; ')}`,
    );
  return report;
}

interface Prediction {
  index: number;
  predict: string;
  score: number;
  /** Robustness: the answer on the corrupted picture. */
  perturbed?: { predict: string; score: number };
}

function parsePredictions(bytes: Buffer): Prediction[] {
  const out: Prediction[] = [];
  const lines = bytes.toString('utf8').split('\n');
  lines.forEach((line, n) => {
    if (line.trim() === '') return;
    let p: Record<string, unknown>;
    try {
      p = JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new OutputShapeError(`predictions.jsonl line ${n + 1} is not JSON`);
    }
    if (!Number.isInteger(p.index) || typeof p.predict !== 'string')
      throw new OutputShapeError(`predictions.jsonl line ${n + 1} needs an integer index and a predict string`);
    const score =
      typeof p.score === 'number' && Number.isFinite(p.score)
        ? p.score
        : p.correct === true
          ? 1
          : p.correct === false
            ? 0
            : NaN;
    if (Number.isNaN(score))
      throw new OutputShapeError(`predictions.jsonl line ${n + 1} needs correct (true/false) or a score`);
    const perturbed =
      typeof p.perturbedPredict === 'string' &&
      typeof p.perturbedScore === 'number' &&
      Number.isFinite(p.perturbedScore)
        ? { predict: p.perturbedPredict.slice(0, 1_000), score: p.perturbedScore }
        : undefined;
    out.push({
      index: p.index as number,
      predict: p.predict.slice(0, 1_000),
      score,
      ...(perturbed ? { perturbed } : {}),
    });
  });
  return out;
}

/** One row per planned test item, in the plan's order; an item the job did not answer fails with that reason. */
function rowsOf(plan: RunDatasetPlan, spec: BackboneDatasetSpec, predictions: readonly Prediction[]) {
  const byIndex = new Map(predictions.map((p) => [p.index, p]));
  const indices = plan.sampleIndices ?? Array.from({ length: spec.splits.test }, (_, i) => i);
  return indices.map((sampleIdx, position) => {
    const p = byIndex.get(sampleIdx);
    return {
      sampleIdx,
      position,
      predict: p?.predict ?? null,
      score: p ? p.score : null,
      status: p ? ('scored' as const) : ('failed' as const),
      error: p ? null : `the fine-tune job wrote no prediction for test item ${sampleIdx}`,
      outputLength: p ? p.predict.length : 0,
      latencyMs: 0,
      attempts: 1,
    };
  });
}

/** What a corrupted test picture is, as the perturbed rows' prompt (docs/backbones.md, "Robustness"). */
export const CORRUPTED_PICTURE = 'the test picture with its contrast and brightness changed and sensor noise added';

/**
 * The robustness pass's rows: the same items answered on corrupted pictures. Null when the job
 * wrote no perturbed answers (a job of an older platform): the dataset then has no robustness figures.
 */
function perturbedRowsOf(plan: RunDatasetPlan, spec: BackboneDatasetSpec, predictions: readonly Prediction[]) {
  if (!predictions.some((p) => p.perturbed)) return null;
  return rowsOf(
    plan,
    spec,
    predictions.map((p) => ({ ...p, ...(p.perturbed ?? { predict: '', score: NaN }) })),
  ).map((row) => ({
    ...row,
    ...(Number.isNaN(row.score)
      ? { score: null, status: 'failed' as const, error: 'no answer on the corrupted picture' }
      : {}),
    prompt: CORRUPTED_PICTURE,
  }));
}
