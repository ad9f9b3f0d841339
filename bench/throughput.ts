/**
 * Throughput against the physical limit: a stand-in endpoint that answers every request after a
 * fixed latency L, asked with concurrency C, can at best serve C/L requests per second. A formal
 * run of N samples through the API and Temporal is timed from its launch request to its end and
 * compared with that ideal, and with a plain client loop (bench/rawClient.ts) that sends the same
 * requests the same way with nothing in between, measured in the same run.
 *
 *   node --import tsx bench/throughput.ts [--n=20000] [--concurrency=128] [--latency-ms=100] [--warmup=1000]
 */
import { numberArg, printTable, type Figure } from './benchReport';
import { measuredRun } from './measuredRun';

const N = numberArg('n', 20_000);
const C = numberArg('concurrency', 128);
const L = numberArg('latency-ms', 100);
const TARGET = 0.95;
const WARMUP = numberArg('warmup', 1_000);
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
if (L <= 0) throw new Error('--latency-ms must be above 0 (bench/overhead.ts measures an instant endpoint)');

const m = await measuredRun({ n: N, concurrency: C, latencyMs: L, raw: true, warmup: WARMUP, log });
const { run, raw } = m;
const ideal = C / (L / 1000);
// The physical limit as measured: C over the stand-in's per-request latency seen by the raw loop.
const measuredLimit = C / (raw!.http.latencyMs.mean / 1000);
const rate = (ms: number) => N / (ms / 1000);
const toEnd = rate(run.toEndedMs);
const toClosed = rate(run.toWorkflowClosedMs);
const figures: Figure[] = [
  { figure: 'ideal C/L', measured: `${ideal.toFixed(0)} samples/s`, baseline: `${N} in ${(N / ideal).toFixed(2)} s`, ratio: null, target: '', pass: null },
  {
    figure: 'raw node:http loop (no Proctor): the limit here',
    measured: `${raw!.http.perSecond.toFixed(0)} /s (${(raw!.http.elapsedMs / 1000).toFixed(2)} s)`,
    baseline: `${ideal.toFixed(0)} /s ideal`,
    ratio: raw!.http.perSecond / ideal,
    target: 'info',
    pass: null,
  },
  {
    figure: 'raw OpenAI SDK loop over built-in fetch (no Proctor)',
    measured: `${raw!.sdk.perSecond.toFixed(0)} /s (${(raw!.sdk.elapsedMs / 1000).toFixed(2)} s)`,
    baseline: `${ideal.toFixed(0)} /s ideal`,
    ratio: raw!.sdk.perSecond / ideal,
    target: 'info',
    pass: null,
  },
  {
    figure: 'raw OpenAI SDK loop over node:http (no Proctor; what Proctor sends with)',
    measured: `${raw!.sdkNodeHttp.perSecond.toFixed(0)} /s (${(raw!.sdkNodeHttp.elapsedMs / 1000).toFixed(2)} s)`,
    baseline: `${ideal.toFixed(0)} /s ideal`,
    ratio: raw!.sdkNodeHttp.perSecond / ideal,
    target: 'info',
    pass: null,
  },
  {
    figure: 'Proctor, launch → run ended',
    measured: `${toEnd.toFixed(0)} /s (${(run.toEndedMs / 1000).toFixed(2)} s)`,
    baseline: `${ideal.toFixed(0)} /s ideal`,
    ratio: toEnd / ideal,
    target: `≥ ${TARGET * 100} % of ideal`,
    pass: toEnd / ideal >= TARGET && run.status === 'succeeded' && run.done === N,
  },
  {
    figure: 'Proctor, launch → run ended, vs measured limit',
    measured: `${toEnd.toFixed(0)} /s`,
    baseline: `${measuredLimit.toFixed(0)} /s = C / ${raw!.http.latencyMs.mean.toFixed(1)} ms`,
    ratio: toEnd / measuredLimit,
    target: `≥ ${TARGET * 100} % of limit`,
    pass: toEnd / measuredLimit >= TARGET && run.status === 'succeeded' && run.done === N,
  },
  {
    figure: 'Proctor, launch → workflow closed (report written)',
    measured: `${toClosed.toFixed(0)} /s (${(run.toWorkflowClosedMs / 1000).toFixed(2)} s)`,
    baseline: `${ideal.toFixed(0)} /s ideal`,
    ratio: toClosed / ideal,
    target: 'info',
    pass: null,
  },
  {
    figure: 'Proctor, steady rate (10 %→90 % done)',
    measured: run.steadyPerSecond === null ? 'n/a' : `${run.steadyPerSecond.toFixed(0)} /s`,
    baseline: `${ideal.toFixed(0)} /s ideal`,
    ratio: run.steadyPerSecond === null ? null : run.steadyPerSecond / ideal,
    target: 'info',
    pass: null,
  },
];
printTable(`Throughput: N = ${N}, C = ${C}, L = ${L} ms`, figures, [
  `command: node --import tsx bench/throughput.ts --n=${N} --concurrency=${C} --latency-ms=${L} --warmup=${WARMUP}`,
  `load average (1/5/15 min): before ${m.loadBefore}, after ${m.loadAfter}`,
  ...m.notes,
]);
