/**
 * Custom evaluation images (docs/custom-evaluation-images.md): one dataset of a run evaluated by
 * running the evaluation's image once as a container job on this host. The job calls the model
 * through a per-job proxy in this worker (inferenceProxy.ts), which holds the real credentials;
 * the job is given only the proxy's URL and a token that dies with the job. Its metrics.json is
 * read back through the guarded reader and stored on the run's dataset, so the workflow's history
 * holds neither the token nor the metrics.
 *
 * A retry finds what the earlier attempt left: metrics already stored are not stored again, a job
 * that exited 0 is adopted (its outputs stand), and any other is run afresh: the proxy its token
 * belonged to died with that attempt, so one still running can only fail from then on, and one
 * that failed may have failed for that reason rather than its own.
 */
import { chmod, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { endpointSettingsOr, type ActivityDeps } from '../activityDeps';
import { jobNetworkOf, runJobOnHost } from '../containerJobs/runContainerJob';
import { requireServing } from '../serving/servingFailed';
import { createInferenceProxy, type InferenceProxy, type ProxyTarget, type ProxyUsage } from './inferenceProxy';
import { openSecret } from '../../db/secretBox';
import { getRun, getRunDataset, recordRunningDatasetMetrics } from '../../db/queries/runRecords';
import { getDatasetItemsPage } from '../../db/queries/datasets';
import { appendRunLogs } from '../../db/queries/runLogs';
import { readJobOutputJson, JobOutputError } from '../../storage/jobOutputs';
import {
  MAX_METRICS_FILE_BYTES,
  METRICS_FILE,
  EXPECTED_METRICS,
  parseCustomMetrics,
} from '../../scoring/customImageMetrics';
import { CUSTOM_IMAGE_SCORER, type FrozenCustomImage } from '../../contracts/scoringConfig';
import { TERMINAL_STATUSES, type DatasetMetrics } from '../../contracts/run';
import { containerHostQueue, ERROR_TYPES } from '../../temporal.config';
import { JOB_OUTPUT_MOUNT } from '../../docker/containerJobSpec';

export interface CustomImageJobInput {
  runId: string;
  datasetId: string;
  /** A private run's model server on this host; absent: the evaluation's API endpoint. */
  servingUrl?: string;
}

export interface CustomImageJobResult {
  /** Why the dataset failed, in words for the image's author; null when its metrics were stored. */
  failure: string | null;
}

/** Where each dataset's items appear inside the job, as JSON Lines. */
export const JOB_DATA_MOUNT = '/data';
const ITEMS_PAGE = 1_000;

let processProxy: InferenceProxy | null = null;
/** The worker's one proxy, opened on first use. */
export function jobProxy(listenHost = '127.0.0.1'): InferenceProxy {
  processProxy ??= createInferenceProxy({ host: listenHost, port: 0 });
  return processProxy;
}
/** Closes the worker's proxy, if one was opened (worker shutdown). */
export async function stopJobProxy(): Promise<void> {
  const proxy = processProxy;
  processProxy = null;
  await proxy?.stop();
}

export function createCustomImageActivities(
  deps: ActivityDeps,
  proxy: (listenHost: string) => InferenceProxy = jobProxy,
) {
  const { db, secretKey } = deps;
  const endpoints = endpointSettingsOr(deps.endpoints);

  return {
    /** Any container host takes the job; the run then talks to that host's own queue. */
    async placeCustomImageJob(_input: { runId: string }): Promise<{ hostQueue: string }> {
      return { hostQueue: containerHostQueue(requireServing(deps.serving, 'container settings').containers.hostId) };
    },

    async runCustomImageJob(input: CustomImageJobInput): Promise<CustomImageJobResult> {
      const { runId, datasetId } = input;
      const run = await getRun(db, runId);
      const custom = run.config.scoring?.customImage;
      if (!custom)
        throw ApplicationFailure.nonRetryable(
          `run ${runId} is not scored by a custom image`,
          ERROR_TYPES.invalidConfiguration,
        );
      const current = await getRunDataset(db, runId, datasetId);
      // Stored by an attempt that died before answering, or closed already: nothing to do twice.
      if (TERMINAL_STATUSES.includes(current.status) || current.metrics?.custom) return { failure: null };

      const settings = requireServing(deps.serving, 'container settings');
      const jobsDir = settings.containers.jobsDir ?? path.join(path.dirname(settings.uploads.dir), 'jobs');
      const jobKey = `eval-${datasetId}`;
      const outputDir = path.join(jobsDir, runId, jobKey);
      const fromImage = run.config.datasets.find((d) => d.datasetId === datasetId)?.fromImage === true;
      const inputs =
        custom.mountDatasets === false || fromImage
          ? []
          : [
              {
                hostPath: await writeDatasetItems(deps, path.join(jobsDir, runId, 'data'), datasetId),
                containerPath: `${JOB_DATA_MOUNT}/${datasetId}.jsonl`,
              },
            ];

      const target: ProxyTarget = input.servingUrl
        ? {
            kind: 'func',
            baseUrl: input.servingUrl,
            engine: run.config.modelName,
            requestTimeoutMs: run.config.limits.requestTimeoutMs,
            maxAnswerBytes: endpoints.maxAnswerBytes,
          }
        : {
            kind: 'openai',
            baseUrl: run.config.endpoint,
            apiKey: run.apiKeyCipher ? openSecret(secretKey, run.apiKeyCipher) : null,
            model: run.config.onlineModelName,
            requestTimeoutMs: run.config.limits.requestTimeoutMs,
            transport: endpoints,
          };
      const network = await jobNetworkOf(deps);
      const access = await proxy(network.listenHost).open(target, { label: `${runId}/${datasetId}` });
      let summary;
      try {
        summary = await runJobOnHost(
          deps,
          {
            runId,
            jobKey,
            imageRef: custom.imageRef,
            ...(custom.command ? { command: custom.command } : {}),
            env: jobEnv(custom, { runId, datasetId, modelName: run.config.modelName, mounted: inputs.length > 0 }),
            inputs,
            outputDirOnHost: outputDir,
            network: network.mode,
            limits: {
              ...(custom.limits?.timeoutSeconds ? { timeoutMs: custom.limits.timeoutSeconds * 1000 } : {}),
              ...(custom.limits?.memoryMb ? { memoryMb: custom.limits.memoryMb } : {}),
              ...(custom.limits?.cpus ? { cpus: custom.limits.cpus } : {}),
            },
          },
          {
            hostEnv: [
              `EVAL_INFERENCE_URL=${access.url}`,
              `EVAL_AUTHORIZATION_HEADER_KEY=${access.headerKey}`,
              `EVAL_AUTHORIZATION_HEADER_VALUE=${access.headerValue}`,
            ],
            secrets: [access.token],
            adoptOnlySucceeded: true,
          },
        );
      } finally {
        access.close();
        // The items' copy served this job only (a retry writes it again); the job's outputs stay.
        await Promise.all(inputs.map((input) => rm(input.hostPath, { force: true })));
      }
      const usage = access.usage();
      await appendRunLogs(db, [
        {
          runId,
          datasetId,
          level: summary.outcome === 'succeeded' ? 'info' : 'error',
          message:
            `custom image ${custom.imageName} on dataset ${datasetId}: ${summary.reason} after ${(summary.durationMs / 1000).toFixed(1)} s; ` +
            `through its proxy ${usageText(usage)}`,
          dedupeKey: `custom-image-end:${datasetId}`,
        },
      ]);
      if (summary.outcome !== 'succeeded')
        return { failure: `the custom image ${custom.imageName} failed: ${summary.reason}` };

      const parsed = await readMetrics(outputDir, custom);
      if (!parsed.ok) return { failure: parsed.problem };
      const metrics: DatasetMetrics = {
        metric: CUSTOM_IMAGE_SCORER,
        score: parsed.primary.value,
        scored: 1,
        failed: 0,
        avgOutputLength: 0,
        ci95: null,
        standardError: null,
        custom: {
          primaryMetric: parsed.primary.name,
          metrics: parsed.metrics,
          image: custom.imageName,
          durationMs: Math.round(summary.durationMs),
          usage,
        },
      };
      await recordRunningDatasetMetrics(db, runId, datasetId, { metrics, done: 1, failed: 0 });
      return { failure: null };
    },
  };
}

export type CustomImageActivities = ReturnType<typeof createCustomImageActivities>;

/** What the job is told, less the proxy's URL and token (added on the host, never recorded). */
function jobEnv(
  custom: FrozenCustomImage,
  o: { runId: string; datasetId: string; modelName: string; mounted: boolean },
): string[] {
  const platform: Record<string, string> = {
    EVAL_OUTPUT_DIR: JOB_OUTPUT_MOUNT,
    EVAL_DATASET_ID: o.datasetId,
    EVAL_MODEL_NAME: o.modelName,
    EVAL_PARAMETERS: JSON.stringify(custom.parameters ?? {}),
    EVAL_RUN_ID: o.runId,
    ...(o.mounted ? { EVAL_DATASET_PATH: `${JOB_DATA_MOUNT}/${o.datasetId}.jsonl` } : {}),
  };
  // The platform's names win; the configuration refuses EVAL_ and PROCTOR_ names anyway.
  return Object.entries({ ...custom.env, ...platform }).map(([k, v]) => `${k}=${v}`);
}

async function readMetrics(outputDir: string, custom: FrozenCustomImage) {
  let value: unknown;
  try {
    value = await readJobOutputJson(outputDir, METRICS_FILE, { maxBytes: MAX_METRICS_FILE_BYTES });
  } catch (error) {
    if (!(error instanceof JobOutputError)) throw error;
    return {
      ok: false as const,
      problem: `the custom image ${custom.imageName} exited 0 but its $EVAL_OUTPUT_DIR/${METRICS_FILE} cannot be used: ${error.message} (${EXPECTED_METRICS})`,
    };
  }
  const parsed = parseCustomMetrics(value, custom.primaryMetric);
  return parsed.ok
    ? parsed
    : {
        ok: false as const,
        problem: `the custom image ${custom.imageName} wrote a ${METRICS_FILE} that cannot be used: ${parsed.problem}`,
      };
}

/**
 * The dataset's items as JSON Lines (id, prompt, ground_truth, choices?, metadata?), written once
 * per run and host; a file another attempt finished is kept, a half-written one never is.
 */
async function writeDatasetItems({ db }: ActivityDeps, dir: string, datasetId: string): Promise<string> {
  const file = path.join(dir, `${datasetId}.jsonl`);
  try {
    if ((await stat(file)).isFile()) return file;
  } catch {
    // Not written yet.
  }
  await mkdir(dir, { recursive: true });
  await chmod(dir, 0o755);
  const partial = `${file}.${process.pid}.${Date.now()}.part`;
  const handle = await open(partial, 'w', 0o644);
  try {
    for (let after = -1; ;) {
      const page = await getDatasetItemsPage(db, datasetId, after, ITEMS_PAGE);
      if (page.length === 0) break;
      const lines = page.map((item) =>
        JSON.stringify({
          id: item.itemId,
          prompt: item.prompt,
          ground_truth: item.groundTruth,
          ...(item.choices ? { choices: item.choices } : {}),
          ...(item.metadata ? { metadata: item.metadata } : {}),
        }),
      );
      await handle.write(`${lines.join('\n')}\n`);
      after = page[page.length - 1]!.idx;
    }
  } finally {
    await handle.close();
  }
  await chmod(partial, 0o644);
  await rename(partial, file);
  return file;
}

function usageText(u: ProxyUsage): string {
  return `${u.requests} request(s) (${u.failed} failed), ${u.promptTokens} prompt and ${u.completionTokens} completion token(s)`;
}
