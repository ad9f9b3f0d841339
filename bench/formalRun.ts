/**
 * One formal run through the API, as a user would make it: register a dataset of N arithmetic
 * items (JSON Lines over POST /v1/datasets), create an evaluation against the stand-in endpoint,
 * launch it and poll GET /v1/runs/{id} until it ends. Times are taken from the moment the launch
 * request is sent.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { generateArithBasic } from '../datasets/builtin/arithBasic';
import { workflowIds } from '../temporal.config';
import type { BenchStack } from './benchStack';

export interface FormalRunOptions {
  apiKey: string;
  /** Base URL of the stand-in model, ending in /v1. */
  endpoint: string;
  n: number;
  concurrency: number;
  pollMs?: number;
  log?: (line: string) => void;
  /** Called after every poll of the run, e.g. to inject a fault at some point of its progress. */
  onPoll?: (point: ProgressPoint & { runId: string; total: number }) => void | Promise<void>;
}

export interface ProgressPoint {
  atMs: number;
  done: number;
}

export interface FormalRunResult {
  runId: string;
  datasetId: string;
  n: number;
  status: string;
  done: number;
  failed: number;
  score: number | null;
  /** Seconds the API took to register the dataset (not part of the run). */
  registerSeconds: number;
  /** Wall-clock time (Date.now()) the launch request was sent. */
  launchedAtMs: number;
  /** Launch request sent → run row says started (workflow began). */
  toStartedMs: number;
  /** Launch request sent → run row says ended (status terminal, scores computed). */
  toEndedMs: number;
  /** Launch request sent → run workflow closed (after the Excel report is written). */
  toWorkflowClosedMs: number;
  /** Samples per second between 10 % and 90 % done, from the polls. */
  steadyPerSecond: number | null;
  progress: ProgressPoint[];
}

export async function registerArithmeticDataset(
  stack: BenchStack,
  apiKey: string,
  n: number,
): Promise<{ datasetId: string; seconds: number }> {
  const datasetId = `bench-${n}-${randomUUID().slice(0, 8)}`;
  const jsonl = generateArithBasic(n)
    .map((item) => JSON.stringify({ ...item, id: `q${item.id}` }))
    .join('\n');
  const t = performance.now();
  const res = await stack.request('POST', '/v1/datasets', {
    key: apiKey,
    body: { id: datasetId, name: `bench ${n}`, domain: 'nlp', task: 'arithmetic', metric: 'exact_match', jsonl },
  });
  if (res.status !== 201) throw new Error(`could not register the dataset: ${res.status} ${res.text.slice(0, 500)}`);
  return { datasetId, seconds: (performance.now() - t) / 1000 };
}

export async function runFormal(stack: BenchStack, o: FormalRunOptions): Promise<FormalRunResult> {
  const log = o.log ?? (() => {});
  const { datasetId, seconds: registerSeconds } = await registerArithmeticDataset(stack, o.apiKey, o.n);
  log(`dataset ${datasetId} (${o.n} items) registered through the API in ${registerSeconds.toFixed(1)} s`);

  const created = await stack.request('POST', '/v1/evaluations', {
    key: o.apiKey,
    body: {
      domain: 'nlp',
      modelName: `bench-${randomUUID().slice(0, 8)}`,
      datasets: [datasetId],
      deployment: { method: 'api', endpoint: o.endpoint, onlineModelName: 'proctor-reference', apiMode: 'chat' },
      robustness: false,
      modelInfo: { type: 'sft' },
      acknowledgeNoTestAnnotations: true,
      limits: { maxConcurrency: o.concurrency, maxRetryPerQuery: 3, requestTimeoutMs: 60_000 },
    },
  });
  if (created.status !== 201) throw new Error(`could not create the evaluation: ${created.status} ${created.text}`);

  const launchedAt = Date.now();
  const t0 = performance.now();
  const launched = await stack.request('POST', `/v1/evaluations/${created.body.id}/runs`, { key: o.apiKey });
  if (launched.status !== 202) throw new Error(`could not launch: ${launched.status} ${launched.text}`);
  const runId = launched.body.runId as string;
  log(`run ${runId} launched`);

  // The workflow's close is awaited alongside the polls: it comes after the report is written.
  let closedAtMs: number | null = null;
  const closed = stack.temporal.workflow
    .getHandle(workflowIds.run(runId))
    .result()
    .then(
      () => (closedAtMs = performance.now() - t0),
      () => (closedAtMs = performance.now() - t0),
    );

  const progress: ProgressPoint[] = [];
  const pollMs = o.pollMs ?? 250;
  let view: any;
  let lastLog = 0;
  for (;;) {
    const res = await stack.request('GET', `/v1/runs/${runId}`, { key: o.apiKey });
    if (res.status !== 200) throw new Error(`GET /v1/runs/${runId}: ${res.status} ${res.text}`);
    view = res.body;
    const atMs = performance.now() - t0;
    progress.push({ atMs, done: view.progress.done });
    await o.onPoll?.({ atMs, done: view.progress.done, runId, total: view.progress.total });
    if (atMs - lastLog > 10_000) {
      lastLog = atMs;
      log(`  ${(atMs / 1000).toFixed(1)} s: ${view.status}, ${view.progress.done}/${view.progress.total}`);
    }
    if (['succeeded', 'failed', 'stopped'].includes(view.status)) break;
    await sleep(pollMs);
  }
  await closed;

  const ds = view.datasets[0];
  const sinceLaunch = (iso: string | null) => (iso === null ? NaN : Date.parse(iso) - launchedAt);
  return {
    runId,
    datasetId,
    n: o.n,
    status: view.status,
    done: view.progress.done,
    failed: ds?.failed ?? 0,
    score: ds?.metrics?.score ?? null,
    registerSeconds,
    launchedAtMs: launchedAt,
    toStartedMs: sinceLaunch(view.startedAt),
    toEndedMs: sinceLaunch(view.endedAt),
    toWorkflowClosedMs: closedAtMs!,
    steadyPerSecond: steadyRate(progress, o.n),
    progress,
  };
}

function steadyRate(progress: ProgressPoint[], n: number): number | null {
  const a = progress.find((p) => p.done >= 0.1 * n);
  const b = progress.find((p) => p.done >= 0.9 * n);
  if (!a || !b || b.atMs <= a.atMs) return null;
  return ((b.done - a.done) / (b.atMs - a.atMs)) * 1000;
}
