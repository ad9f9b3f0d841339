/**
 * Proctor's own cost per sample: against an instant stand-in endpoint (L = 0) the endpoint is no
 * limit, so samples per second through one worker process (inferred, scored and stored) measure
 * the orchestration itself. The raw client loop over the same requests is the machine's limit for
 * the stand-in and the client library alone, measured in the same run.
 *
 *   node --import tsx bench/overhead.ts [--n=20000] [--concurrency=128] [--warmup=1000]
 */
import { numberArg, printTable, type Figure } from './benchReport';
import { measuredRun } from './measuredRun';

const N = numberArg('n', 20_000);
const C = numberArg('concurrency', 128);
const TARGET = 2_000;
const WARMUP = numberArg('warmup', 1_000);
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

const m = await measuredRun({ n: N, concurrency: C, latencyMs: 0, raw: true, warmup: WARMUP, log });
const { run, raw } = m;
const rate = (ms: number) => N / (ms / 1000);
const toEnd = rate(run.toEndedMs);
const figures: Figure[] = [
  {
    figure: 'raw node:http loop (no Proctor): the limit here',
    measured: `${raw!.http.perSecond.toFixed(0)} /s (${(raw!.http.elapsedMs / 1000).toFixed(2)} s)`,
    baseline: '',
    ratio: null,
    target: 'info',
    pass: null,
  },
  {
    figure: 'raw OpenAI SDK loop over built-in fetch (no Proctor)',
    measured: `${raw!.sdk.perSecond.toFixed(0)} /s (${(raw!.sdk.elapsedMs / 1000).toFixed(2)} s)`,
    baseline: '',
    ratio: null,
    target: 'info',
    pass: null,
  },
  {
    figure: 'raw OpenAI SDK loop over node:http (no Proctor; what Proctor sends with)',
    measured: `${raw!.sdkNodeHttp.perSecond.toFixed(0)} /s (${(raw!.sdkNodeHttp.elapsedMs / 1000).toFixed(2)} s)`,
    baseline: '',
    ratio: null,
    target: 'info',
    pass: null,
  },
  {
    figure: 'Proctor, 1 worker, launch → run ended',
    measured: `${toEnd.toFixed(0)} /s (${(run.toEndedMs / 1000).toFixed(2)} s)`,
    baseline: `${raw!.http.perSecond.toFixed(0)} /s raw http`,
    ratio: toEnd / raw!.http.perSecond,
    target: `≥ ${TARGET} /s`,
    pass: toEnd >= TARGET && run.status === 'succeeded' && run.done === N,
  },
  {
    figure: 'Proctor, 1 worker, steady rate (10 %→90 % done)',
    measured: run.steadyPerSecond === null ? 'n/a' : `${run.steadyPerSecond.toFixed(0)} /s`,
    baseline: `${raw!.http.perSecond.toFixed(0)} /s raw http`,
    ratio: run.steadyPerSecond === null ? null : run.steadyPerSecond / raw!.http.perSecond,
    target: 'info',
    pass: null,
  },
  {
    figure: 'Proctor, 1 worker, launch → workflow closed (report written)',
    measured: `${rate(run.toWorkflowClosedMs).toFixed(0)} /s (${(run.toWorkflowClosedMs / 1000).toFixed(2)} s)`,
    baseline: `${raw!.http.perSecond.toFixed(0)} /s raw http`,
    ratio: rate(run.toWorkflowClosedMs) / raw!.http.perSecond,
    target: 'info',
    pass: null,
  },
];
printTable(`Overhead: instant endpoint (L = 0), N = ${N}, C = ${C}, one worker process`, figures, [
  `command: node --import tsx bench/overhead.ts --n=${N} --concurrency=${C} --warmup=${WARMUP}`,
  `load average (1/5/15 min): before ${m.loadBefore}, after ${m.loadAfter}`,
  ...m.notes,
]);
