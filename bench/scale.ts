/**
 * A large dataset: a formal run of 100,000 samples through the API, one worker process. Two
 * figures: the events of every workflow execution the run made (the run workflow and each link of
 * the dataset workflow's continue-as-new chain), and the worker's resident memory, sampled from
 * /proc every 200 ms during the run and as VmHWM (the peak over the process's whole life).
 *
 *   node --import tsx bench/scale.ts [--n=100000] [--concurrency=128] [--latency-ms=0] [--warmup=1000]
 */
import { mib, numberArg, printTable, type Figure } from './benchReport';
import { measuredRun } from './measuredRun';

const N = numberArg('n', 100_000);
const C = numberArg('concurrency', 128);
const L = numberArg('latency-ms', 0);
const MAX_EVENTS = 5_000;
const MAX_RSS = 500 * 2 ** 20;
const WARMUP = numberArg('warmup', 1_000);
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

const m = await measuredRun({ n: N, concurrency: C, latencyMs: L, raw: false, warmup: WARMUP, log });
const { run, executions, worker } = m;
const largest = executions.reduce((a, b) => (b.events > a.events ? b : a));
const datasetExecutions = executions.filter((e) => e.workflowId.includes('-dataset-'));
const figures: Figure[] = [
  {
    figure: 'events, largest workflow execution',
    measured: `${largest.events} (${largest.workflowId.includes('-dataset-') ? 'a dataset execution' : 'the run workflow'})`,
    baseline: `${executions.length} executions`,
    ratio: largest.events / MAX_EVENTS,
    target: `< ${MAX_EVENTS}`,
    pass: largest.events < MAX_EVENTS,
  },
  {
    figure: 'worker RSS, max sampled during the run',
    measured: mib(worker.maxSampledRssBytes),
    baseline: `${mib(worker.idleRssBytes)} idle`,
    ratio: worker.maxSampledRssBytes / MAX_RSS,
    target: `< ${mib(MAX_RSS)}`,
    pass: worker.maxSampledRssBytes < MAX_RSS,
  },
  {
    figure: 'worker RSS, VmHWM (whole process life)',
    measured: mib(worker.peakRssBytes),
    baseline: `${mib(worker.idleRssBytes)} idle`,
    ratio: worker.peakRssBytes / MAX_RSS,
    target: `< ${mib(MAX_RSS)}`,
    pass: worker.peakRssBytes < MAX_RSS,
  },
  {
    figure: 'throughput, launch → run ended',
    measured: `${(N / (run.toEndedMs / 1000)).toFixed(0)} /s (${(run.toEndedMs / 1000).toFixed(1)} s)`,
    baseline: '',
    ratio: null,
    target: 'info',
    pass: run.status === 'succeeded' && run.done === N ? null : false,
  },
];
printTable(`Scale: N = ${N}, C = ${C}, L = ${L} ms, one worker process`, figures, [
  `command: node --import tsx bench/scale.ts --n=${N} --concurrency=${C} --latency-ms=${L} --warmup=${WARMUP}`,
  `load average (1/5/15 min): before ${m.loadBefore}, after ${m.loadAfter}`,
  `events per execution: run workflow ${executions
    .filter((e) => !e.workflowId.includes('-dataset-'))
    .map((e) => e.events)
    .join(', ')}; ` +
    `dataset workflow (${datasetExecutions.length} executions in its continue-as-new chain) ${datasetExecutions.map((e) => e.events).join(', ')}; ` +
    `Temporal lists ${m.listedExecutions} executions for these workflow IDs`,
  ...m.notes,
]);
