/**
 * A multimodal private deployment evaluated on one dataset (docs/multimodal.md): this host starts a
 * data server for the dataset's items, runs the user's upload as the container job
 * `bash run.sh TASK 127.0.0.1 PORT` (the upload read-only at /workspace, the dataset's pictures
 * read-only at /data/images, the output directory writable at /output), and once it exits 0 reads
 * what it wrote back through the guarded readers and scores it: one sample row per question,
 * caption or prompt, and the task's breakdown on the dataset for finishDataset to close it with.
 *
 * A retry finds what the earlier attempt left: rows already stored are not stored again (the
 * table's key), a job that exited 0 is adopted (its outputs stand), and any other runs afresh: the
 * data server it asked died with that attempt.
 */
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityDeps } from '../activityDeps';
import { jobNetworkOf, runJobOnHost } from '../containerJobs/runContainerJob';
import { requireServing } from '../serving/servingFailed';
import { startDataServer, type DataServer } from './dataServer';
import { MULTIMODAL_TASKS, type MultimodalTask } from './servedDataset';
import {
  scoreMultimodalOutputs,
  withMultimodalBreakdown,
  type MultimodalSample,
  type MultimodalScored,
} from './multimodalScoring';
import { PERTURBATION_KIND, robustnessWanted, runPerturbationSeed } from '../robustness/robustnessPlan';
import { perturbItems } from '../../scoring/robustness/perturbItems';
import { storedPerturbedPositions, storePerturbedRows } from '../../db/queries/perturbedResults';
import { computeDatasetMetrics, getRun, getRunDataset, recordRunningDatasetMetrics } from '../../db/queries/runRecords';
import { getDatasetItemsPage } from '../../db/queries/datasets';
import { appendRunLogs } from '../../db/queries/runLogs';
import { storeSampleResults } from '../../db/queries/sampleResults';
import { versionDir } from '../../storage/uploadLayout';
import { JOB_OUTPUT_MOUNT } from '../../docker/containerJobSpec';
import { writeDatasetPictures } from './datasetPictures';
import { TERMINAL_STATUSES, type RunDatasetPlan, type ServingPlan } from '../../contracts/run';
import type { DatasetItem } from '../../contracts/dataset';
import { containerHostQueue, ERROR_TYPES } from '../../temporal.config';
import { MULTIMODAL_CACHE_DIR, touchCache } from '../../storage/jobsRetention';

/** Where the upload, the pictures and the weights appear inside the job. */
export const MM_UPLOAD_MOUNT = '/workspace';
export const MM_IMAGES_MOUNT = '/data/images';
const ITEMS_PAGE = 1_000;

export interface MultimodalJobInput {
  runId: string;
  datasetId: string;
}

export interface MultimodalJobResult {
  /** Why the dataset failed, in words for the model's author; null when its results were stored. */
  failure: string | null;
}

export function createMultimodalJobActivities(deps: ActivityDeps) {
  const { db } = deps;

  return {
    /** Any container host takes the job; the dataset then talks to that host's own queue. */
    async placeMultimodalJob(_input: { runId: string }): Promise<{ hostQueue: string }> {
      return { hostQueue: containerHostQueue(requireServing(deps.serving, 'container settings').containers.hostId) };
    },

    async runMultimodalJob({ runId, datasetId }: MultimodalJobInput): Promise<MultimodalJobResult> {
      const run = await getRun(db, runId);
      const serving = run.config.serving;
      const plan = run.config.datasets.find((d) => d.datasetId === datasetId);
      if (!serving || !plan)
        throw ApplicationFailure.nonRetryable(
          `run ${runId} has no private deployment or no dataset ${datasetId}`,
          ERROR_TYPES.invalidConfiguration,
        );
      const current = await getRunDataset(db, runId, datasetId);
      // Closed already: nothing to do twice (what an earlier attempt stored is skipped below).
      if (TERMINAL_STATUSES.includes(current.status)) return { failure: null };

      const task = taskOf(plan);
      if (!task)
        return { failure: `dataset ${datasetId} has task ${plan.task}; run.sh takes ${MULTIMODAL_TASKS.join(', ')}` };
      const settings = requireServing(deps.serving, 'container settings');
      const uploadDir = versionDir(settings.uploads.dir, serving.uploadPath);

      const jobsDir = settings.containers.jobsDir ?? path.join(path.dirname(settings.uploads.dir), 'jobs');
      const imagesDir = await datasetImages(deps, jobsDir, plan);
      if (typeof imagesDir !== 'string') return imagesDir;
      const items = await runItems(deps, plan);
      const job: JobPlace = { runId, datasetId, task, serving, uploadDir, imagesDir, jobsDir };

      if (!current.metrics?.multimodal) {
        const clean = await runPass(deps, job, items, 'clean');
        if (!clean.ok) return { failure: clean.failure };
        await storeSampleResults(db, runId, datasetId, rowsOf(plan, clean.scored.samples));
        const base = await computeDatasetMetrics(db, runId, datasetId, plan.metric);
        await recordRunningDatasetMetrics(db, runId, datasetId, {
          metrics: withMultimodalBreakdown(base, {
            task,
            metrics: clean.scored.breakdown,
            durationMs: Math.round(clean.durationMs),
          }),
        });
      }

      // Robustness: the same job again on perturbed questions, captions or prompts (same pictures).
      if (!(await robustnessWanted(db, run, plan))) return { failure: null };
      if ((await storedPerturbedPositions(db, runId, datasetId, 0, items.length)).size >= items.length)
        return { failure: null };
      const seed = runPerturbationSeed(runId, run.config.sampleSeed);
      const perturbed = perturbItems(items, { runSeed: seed, kind: PERTURBATION_KIND });
      const pass = await runPass(deps, job, perturbed, 'perturbed');
      const samples: MultimodalSample[] = pass.ok
        ? pass.scored.samples
        : perturbed.map(() => ({ predict: null, score: 0, status: 'failed', error: pass.failure }));
      await storePerturbedRows(
        db,
        runId,
        datasetId,
        rowsOf(plan, samples).map((row, position) => ({ ...row, prompt: perturbed[position]!.prompt })),
      );
      return { failure: null };
    },
  };
}

export type MultimodalJobActivities = ReturnType<typeof createMultimodalJobActivities>;

function taskOf(plan: RunDatasetPlan): MultimodalTask | null {
  const byMetric: Record<string, MultimodalTask> = {
    vqa_accuracy: 'vqa',
    retrieval_recall: 'retrieval',
    t2i_check: 't2i',
  };
  return byMetric[plan.metric] ?? null;
}

/** The dataset's pictures on this host, written once per content and reused by every run. */
async function datasetImages(
  { db }: ActivityDeps,
  jobsDir: string,
  plan: RunDatasetPlan,
): Promise<string | MultimodalJobResult> {
  const dir = path.join(
    jobsDir,
    MULTIMODAL_CACHE_DIR,
    `${plan.datasetId}-${plan.contentHash.replace(/^sha256:/, '').slice(0, 16)}`,
  );
  const written = await writeDatasetPictures(db, plan.datasetId, dir);
  await touchCache(dir);
  if (written === 0 && plan.metric !== 't2i_check')
    return { failure: `dataset ${plan.datasetId} has no pictures: register it with its pictures (docs/multimodal.md)` };
  return dir;
}

/** The run's items of the dataset in position order: every item, or a verification's draw. */
async function runItems({ db }: ActivityDeps, plan: RunDatasetPlan): Promise<DatasetItem[]> {
  const all: DatasetItem[] = [];
  for (let after = -1; ;) {
    const page = await getDatasetItemsPage(db, plan.datasetId, after, ITEMS_PAGE);
    if (page.length === 0) break;
    for (const row of page)
      all.push({
        id: row.itemId,
        prompt: row.prompt,
        ground_truth: row.groundTruth,
        ...(row.choices ? { choices: row.choices } : {}),
        ...(row.metadata ? { metadata: row.metadata } : {}),
      });
    after = page[page.length - 1]!.idx;
  }
  return plan.sampleIndices ? plan.sampleIndices.map((i) => all[i]!) : all;
}

interface JobPlace {
  runId: string;
  datasetId: string;
  task: MultimodalTask;
  serving: ServingPlan;
  uploadDir: string;
  imagesDir: string;
  jobsDir: string;
}

type PassResult = { ok: true; scored: MultimodalScored; durationMs: number } | { ok: false; failure: string };

/**
 * One run.sh job over `items` behind its own data server, its outputs read back and scored. The
 * perturbed pass is a job of its own (key and output directory), so neither adopts the other.
 */
async function runPass(
  deps: ActivityDeps,
  job: JobPlace,
  items: DatasetItem[],
  pass: 'clean' | 'perturbed',
): Promise<PassResult> {
  const { runId, datasetId, task, serving } = job;
  const settings = requireServing(deps.serving, 'container settings');
  const jobKey = pass === 'clean' ? `mm-${datasetId}` : `mm-${datasetId}-perturbed`;
  const outputDir = path.join(job.jobsDir, runId, jobKey);
  let server: DataServer | null = null;
  let summary;
  const network = await jobNetworkOf(deps);
  try {
    server = await startDataServer({
      dataset: { name: datasetId, task, items, imageDirInContainer: MM_IMAGES_MOUNT },
      io: { checkpointPath: `${MM_UPLOAD_MOUNT}/checkpoint.pth`, outputDir: JOB_OUTPUT_MOUNT },
      host: network.listenHost,
    });
    const type = settings.containers.gpuTypes.find((t) => t.id === serving.gpuType);
    summary = await runJobOnHost(
      deps,
      {
        runId,
        jobKey,
        imageRef: serving.imageRef,
        command: ['bash', 'run.sh', task, server.host, String(server.port)],
        workingDir: MM_UPLOAD_MOUNT,
        inputs: [
          { hostPath: job.uploadDir, containerPath: MM_UPLOAD_MOUNT },
          { hostPath: job.imagesDir, containerPath: MM_IMAGES_MOUNT },
        ],
        outputDirOnHost: outputDir,
        network: network.mode,
        gpu: type?.driver ? { driver: type.driver, count: serving.gpuCount } : null,
        limits: {
          cpus: settings.containers.cpus,
          memoryMb: settings.containers.memoryMb,
          ...(settings.containers.multimodalJobTimeoutMs
            ? { timeoutMs: settings.containers.multimodalJobTimeoutMs }
            : {}),
        },
      },
      { adoptOnlySucceeded: true },
    );
  } catch (error) {
    // A dataset the data server cannot serve fails here, not in the middle of the job.
    if (error instanceof TypeError)
      return { ok: false, failure: `dataset ${datasetId} cannot be served: ${error.message}` };
    throw error;
  } finally {
    await server?.close();
  }
  const asked = server.dataRequests();
  const which = pass === 'clean' ? '' : ' (perturbed)';
  await appendRunLogs(deps.db, [
    {
      runId,
      datasetId,
      level: summary.outcome === 'succeeded' ? 'info' : 'error',
      message:
        `run.sh ${task} on dataset ${datasetId}${which}: ${summary.reason} after ${(summary.durationMs / 1000).toFixed(1)} s; ` +
        `${asked} item request(s) to the data server (${server.requests()} in all)`,
      dedupeKey: `mm-job-end:${datasetId}${pass === 'clean' ? '' : ':perturbed'}`,
    },
  ]);
  if (summary.outcome !== 'succeeded') return { ok: false, failure: `run.sh failed: ${summary.reason}` };
  // An adopted job's requests went to the dead attempt's server; its outputs speak for it.
  if (asked === 0 && !summary.adopted)
    return {
      ok: false,
      failure: `run.sh exited 0 without asking the data server for any item (GET /get_data?index=N): its outputs cannot be answers to this dataset`,
    };
  const scored = await scoreMultimodalOutputs(task, outputDir, datasetId, items);
  if (!scored.ok) return { ok: false, failure: scored.problem };
  return { ok: true, scored, durationMs: summary.durationMs };
}

/** Sample rows in position order; a verification's positions map to its drawn items. */
function rowsOf(plan: RunDatasetPlan, samples: readonly MultimodalSample[]) {
  return samples.map((s, position) => ({
    sampleIdx: plan.sampleIndices ? plan.sampleIndices[position]! : position,
    position,
    predict: s.predict,
    score: s.status === 'scored' ? s.score : null,
    status: s.status,
    error: s.error,
    outputLength: s.predict ? s.predict.length : 0,
    latencyMs: 0,
    attempts: 1,
  }));
}
