/**
 * Throughput against the physical limit: a stand-in endpoint that answers every request after a
 * fixed latency L, asked with concurrency C, can at best serve C/L requests per second. A formal
 * run of N samples through the API and Temporal is timed from its launch request to its end and
 * compared with that ideal, and with a plain client loop (bench/rawClient.ts) that sends the same
 * requests the same way with nothing in between, measured in the same run.
 *
 *   node --import tsx bench/throughput.ts [--n=20000] [--concurrency=128] [--latency-ms=100] [--warmup=1000] [--repeat=1] [--raw=1]
 *
 * `--repeat=K` measures K runs, each on a fresh stack, and judges the median: on a shared VM one
 * run's ratio moves by a percent or so from run to run. `--raw=0` skips the raw loops (quick A/B).
 */
import { numberArg, printTable, type Figure } from './benchReport';
import { measuredRun, type MeasuredRun } from './measuredRun';
import type { RawClientResult } from './rawClient';

const N = numberArg('n', 20_000);
const C = numberArg('concurrency', 128);
const L = numberArg('latency-ms', 100);
const TARGET = 0.95;
const WARMUP = numberArg('warmup', 1_000);
const REPEAT = Math.max(1, numberArg('repeat', 1));
const RAW = numberArg('raw', 1) > 0;
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
if (L <= 0) throw new Error('--latency-ms must be above 0 (bench/overhead.ts measures an instant endpoint)');

const measured: MeasuredRun[] = [];
for (let i = 0; i < REPEAT; i++) {
  if (REPEAT > 1) log(`measurement ${i + 1} of ${REPEAT}`);
  // The raw loops measure the stand-in and the machine, which do not change between repeats.
  measured.push(await measuredRun({ n: N, concurrency: C, latencyMs: L, raw: RAW && i === 0, warmup: WARMUP, log }));
}
const byTime = [...measured].sort((a, b) => a.run.toEndedMs - b.run.toEndedMs);
const m = byTime[Math.floor((byTime.length - 1) / 2)]!;
const { run } = m;
const raw = measured[0]!.raw;
const ideal = C / (L / 1000);
// The physical limit as measured: C over the stand-in's per-request latency seen by the raw loop.
const measuredLimit = raw ? C / (raw.http.latencyMs.mean / 1000) : null;
const rate = (ms: number) => N / (ms / 1000);
const toEnd = rate(run.toEndedMs);
const toClosed = rate(run.toWorkflowClosedMs);
// Every measured run must have stored every sample, not only the median one.
const allStored = measured.every((r) => r.run.status === 'succeeded' && r.run.done === N);
const figures: Figure[] = [
  {
    figure: 'ideal C/L',
    measured: `${ideal.toFixed(0)} samples/s`,
    baseline: `${N} in ${(N / ideal).toFixed(2)} s`,
    ratio: null,
    target: '',
    pass: null,
  },
  ...(raw ? rawFigures(raw) : []),
  {
    figure: 'Proctor, launch → run ended',
    measured: `${toEnd.toFixed(0)} /s (${(run.toEndedMs / 1000).toFixed(2)} s)`,
    baseline: `${ideal.toFixed(0)} /s ideal`,
    ratio: toEnd / ideal,
    target: `≥ ${TARGET * 100} % of ideal`,
    pass: toEnd / ideal >= TARGET && allStored,
  },
  ...(raw && measuredLimit
    ? [
        {
          figure: 'Proctor, launch → run ended, vs measured limit',
          measured: `${toEnd.toFixed(0)} /s`,
          baseline: `${measuredLimit.toFixed(0)} /s = C / ${raw.http.latencyMs.mean.toFixed(1)} ms`,
          ratio: toEnd / measuredLimit,
          target: `≥ ${TARGET * 100} % of limit`,
          pass: toEnd / measuredLimit >= TARGET && allStored,
        },
      ]
    : []),
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
const ratios = measured.map((r) => `${((rate(r.run.toEndedMs) / ideal) * 100).toFixed(1)} %`);
printTable(`Throughput: N = ${N}, C = ${C}, L = ${L} ms`, figures, [
  `command: node --import tsx bench/throughput.ts --n=${N} --concurrency=${C} --latency-ms=${L} --warmup=${WARMUP} --repeat=${REPEAT}`,
  ...(REPEAT > 1
    ? [
        `${REPEAT} measurements, each on a fresh stack, launch → run ended against C/L, in order: ${ratios.join(', ')}; the figures below are the median run's`,
      ]
    : []),
  `load average (1/5/15 min): before ${measured[0]!.loadBefore}, after ${measured[measured.length - 1]!.loadAfter}`,
  ...(raw && m !== measured[0] ? measured[0]!.notes.filter((n) => n.startsWith('raw ')) : []),
  ...m.notes,
]);

function rawFigures(r: NonNullable<MeasuredRun['raw']>): Figure[] {
  const loops: [string, RawClientResult][] = [
    ['raw node:http loop (no Proctor): the limit here', r.http],
    ['raw OpenAI SDK loop over built-in fetch (no Proctor)', r.sdk],
    ['raw OpenAI SDK loop over node:http (no Proctor; what Proctor sends with)', r.sdkNodeHttp],
  ];
  return loops.map(([figure, loop]) => ({
    figure,
    measured: `${loop.perSecond.toFixed(0)} /s (${(loop.elapsedMs / 1000).toFixed(2)} s)`,
    baseline: `${ideal.toFixed(0)} /s ideal`,
    ratio: loop.perSecond / ideal,
    target: 'info',
    pass: null,
  }));
}
