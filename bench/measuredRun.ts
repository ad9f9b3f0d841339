/**
 * What the throughput, overhead and scale benchmarks share: a fresh stack with one worker process
 * and the stand-in model at a fixed latency, the raw client loop as the baseline (optional), one
 * formal run through the API, and the diagnosis of where the run's time went (CPU per process,
 * batch timeline from the Temporal history, the latency the worker saw per sample, worker memory).
 */
import { writeFile } from 'node:fs/promises';
import { workflowIds } from '../temporal.config';
import { createUser, startBenchStack } from './benchStack';
import { loadAverage } from './benchReport';
import { describeCpu, startCpuMeter, type CpuUse } from './cpuMeter';
import { runFormal, type FormalRunResult } from './formalRun';
import {
  batchTimeline,
  describeBatches,
  describePhases,
  phaseTimeline,
  runHistoryCounts,
  type BatchTiming,
  type ExecutionEvents,
} from './historyCount';
import { rawClientInChild, type RawClientKind, type RawClientResult } from './rawClient';

export interface MeasuredRunOptions {
  n: number;
  concurrency: number;
  latencyMs: number;
  /** Run the raw client loops over the same N first (the baseline). */
  raw: boolean;
  /**
   * Samples of a formal run made and thrown away before the measured one, so the measured run
   * meets a worker as it is after its first run (workflow code loaded, hot paths compiled) rather
   * than one that just started. 0 measures a cold worker.
   */
  warmup: number;
  log: (line: string) => void;
}

export interface MeasuredRun {
  loadBefore: string;
  loadAfter: string;
  /** The raw client loops (bench/rawClient.ts): node:http alone, and the OpenAI SDK. */
  raw: { http: RawClientResult; sdk: RawClientResult; sdkNodeHttp: RawClientResult } | null;
  run: FormalRunResult;
  /** Requests the stand-in received during the run (retries included). */
  requests: number;
  cpu: CpuUse;
  executions: ExecutionEvents[];
  /** Executions Temporal lists for the run's workflow IDs (a cross-check of the walked chains). */
  listedExecutions: number;
  batches: BatchTiming[];
  seenLatency: { mean: number; p50: number; p90: number; p99: number };
  /** Fraction of lane-time inside batches that was spent waiting on a request. */
  laneBusy: number;
  worker: { idleRssBytes: number; maxSampledRssBytes: number; peakRssBytes: number; rssSamples: number };
  /** Diagnostic lines for the printout. */
  notes: string[];
}

function mibText(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

export async function measuredRun(o: MeasuredRunOptions): Promise<MeasuredRun> {
  const loadBefore = loadAverage();
  const stack = await startBenchStack({ log: o.log });
  try {
    const model = await stack.startStandIn(o.latencyMs);
    const worker = await stack.startWorker();
    const startupPeakBytes = worker.peakRssBytes();
    const apiKey = await createUser(stack);

    let raw: MeasuredRun['raw'] = null;
    if (o.raw) {
      const loop = async (client: RawClientKind) => {
        o.log(`raw ${client} client: ${o.n} requests, ${o.concurrency} at a time, L = ${o.latencyMs} ms`);
        const result = await rawClientInChild({ url: model.url, n: o.n, concurrency: o.concurrency, client });
        o.log(
          `raw ${client} client: ${result.perSecond.toFixed(0)}/s, latency mean ${result.latencyMs.mean.toFixed(1)} ms, p99 ${result.latencyMs.p99.toFixed(1)} ms`,
        );
        return result;
      };
      raw = { http: await loop('http'), sdk: await loop('sdk'), sdkNodeHttp: await loop('sdk-node-http') };
    }

    if (o.warmup > 0) {
      o.log(`warm-up: a formal run of ${o.warmup} samples`);
      const warm = await runFormal(stack, { apiKey, endpoint: model.url, n: o.warmup, concurrency: o.concurrency });
      if (warm.status !== 'succeeded') throw new Error(`the warm-up run ended ${warm.status}`);
    }

    const idleRssBytes = worker.sampleRss().stop().lastBytes;
    const standInBefore = await model.stats();
    const rss = worker.sampleRss(200);
    const cpuMeter = startCpuMeter({ worker: worker.pid, 'stand-in': model.pid, temporal: stack.temporalPid });
    const run = await runFormal(stack, { apiKey, endpoint: model.url, n: o.n, concurrency: o.concurrency, log: o.log });
    const cpu = cpuMeter.stop();
    const sampled = rss.stop();
    const peakRssBytes = worker.peakRssBytes();
    const standIn = await model.stats();
    const requests = standIn.requests - standInBefore.requests;
    const standInAnswerMs =
      (standIn.answeringMsTotal - standInBefore.answeringMsTotal) /
      Math.max(1, standIn.answered - standInBefore.answered);

    const { executions, listed } = await runHistoryCounts(stack.temporal, run.runId, [run.datasetId]);
    const batches = await batchTimeline(stack.temporal, executions, workflowIds.dataset(run.runId, run.datasetId));
    const phases = await phaseTimeline(stack.temporal, executions, run.launchedAtMs);
    const [seen] = await stack.db.sql<{ mean: string; p: string[] }[]>`
      select avg(latency_ms) as mean, percentile_cont(array[0.5, 0.9, 0.99]) within group (order by latency_ms) as p
      from sample_results where run_id = ${run.runId}`;
    const [p50, p90, p99] = seen!.p.map(Number);
    if (process.env.BENCH_LATENCY_CSV) {
      // stored_ms: when the sample's group was written, in ms after launch.
      const rows = await stack.db.sql<{ position: number; latency_ms: number; stored_ms: number }[]>`
        select position, latency_ms, (extract(epoch from created_at) * 1000 - ${run.launchedAtMs})::integer as stored_ms
        from sample_results where run_id = ${run.runId} order by position`;
      await writeFile(
        process.env.BENCH_LATENCY_CSV,
        `# launched at ${run.launchedAtMs} (ms since the epoch)\nposition,latency_ms,stored_ms\n${rows.map((r) => `${r.position},${r.latency_ms},${r.stored_ms}`).join('\n')}\n`,
      );
    }
    const seenLatency = { mean: Number(seen!.mean), p50: p50!, p90: p90!, p99: p99! };
    const batchRunningMs = batches.reduce((sum, b) => sum + (b.closedMs - b.startedMs), 0);
    const laneBusy = (o.n * seenLatency.mean) / (o.concurrency * batchRunningMs);

    // Worker memory by phase: the batches, closing the dataset and the run, and the report.
    const launch = run.launchedAtMs;
    const firstBatch = phases.find((p) => p.what.endsWith('inferBatch'));
    const lastBatchEnd = Math.max(...phases.filter((p) => p.what.endsWith('inferBatch')).map((p) => p.toMs));
    const maxBetween = (fromMs: number, toMs: number) => {
      const inside = sampled.series
        .filter(([t]) => t - launch >= fromMs && t - launch <= toMs)
        .map(([, bytes]) => bytes);
      return inside.length === 0 ? 'no sample' : mibText(Math.max(...inside));
    };
    const rssByPhase =
      `worker RSS max by phase: batches ${maxBetween(firstBatch?.fromMs ?? 0, lastBatchEnd)}, ` +
      `closing the dataset and run ${maxBetween(lastBatchEnd, run.toEndedMs)}, ` +
      `report ${maxBetween(run.toEndedMs, run.toWorkflowClosedMs + 200)}`;

    const cpuPerSampleMs = (cpu.byProcess.worker! / o.n) * 1000;
    const notes = [
      `worker process: workers/main.ts (workflow code bundled by a child process at start-up)` +
        `${process.env.BENCH_WORKER_NODE_ARGS ? `, node flags: ${process.env.BENCH_WORKER_NODE_ARGS}` : ''}`,
      ...(o.warmup > 0
        ? [`measured after a warm-up formal run of ${o.warmup} samples on the same worker`]
        : ['measured on a cold worker (no warm-up run)']),
      `run ${run.status}: ${run.done}/${o.n} stored, ${run.failed} failed, score ${run.score?.toFixed(4)}; the stand-in saw ${requests} requests; ` +
        `launch → workflow began ${(run.toStartedMs / 1000).toFixed(2)} s; dataset registered through POST /v1/datasets in ${run.registerSeconds.toFixed(1)} s`,
      ...(raw
        ? [raw.http, raw.sdk, raw.sdkNodeHttp].map(
            (r) =>
              `raw ${r.client} client: ${r.perSecond.toFixed(0)} /s; latency mean ${r.latencyMs.mean.toFixed(1)} ms, p50 ${r.latencyMs.p50.toFixed(1)}, p99 ${r.latencyMs.p99.toFixed(1)}, ` +
              `max ${r.latencyMs.max.toFixed(1)}; ${r.errors} errors; client CPU ${r.cpuMsPerRequest.toFixed(3)} ms per request`,
          )
        : []),
      ...describeCpu(cpu),
      `worker CPU per sample: ${cpuPerSampleMs.toFixed(3)} ms (the whole process over the run, closing and report included)`,
      `dataset workflow: ${describeBatches(batches)}`,
      describePhases(phases),
      `run ended (API) ${(run.toEndedMs / 1000).toFixed(2)} s after launch`,
      `latency per sample as the worker saw it: mean ${seenLatency.mean.toFixed(1)} ms, p50 ${seenLatency.p50.toFixed(0)}, p90 ${seenLatency.p90.toFixed(0)}, p99 ${seenLatency.p99.toFixed(0)} ms; ` +
        `lanes busy with a request ${(laneBusy * 100).toFixed(1)} % of the time batches ran; the stand-in held each answer ${standInAnswerMs.toFixed(1)} ms on average (arrival → last byte)`,
      `worker RSS: idle ${(idleRssBytes / 2 ** 20).toFixed(0)} MiB, sampled max ${(sampled.maxBytes / 2 ** 20).toFixed(0)} MiB ` +
        `${((sampled.maxAt - run.launchedAtMs) / 1000).toFixed(1)} s after launch (${sampled.samples} samples, every 200 ms), VmHWM ${(peakRssBytes / 2 ** 20).toFixed(0)} MiB ` +
        `(${(startupPeakBytes / 2 ** 20).toFixed(0)} MiB of it already reached by the end of start-up)`,
      rssByPhase,
    ];
    return {
      loadBefore,
      loadAfter: loadAverage(),
      raw,
      run,
      requests,
      cpu,
      executions,
      listedExecutions: listed,
      batches,
      seenLatency,
      laneBusy,
      worker: { idleRssBytes, maxSampledRssBytes: sampled.maxBytes, peakRssBytes, rssSamples: sampled.samples },
      notes,
    };
  } finally {
    await stack.stop();
  }
}
