/* global window */
/**
 * A run's page: status, progress and ETA, per-dataset status with done/total and metrics with their
 * 95% intervals, task and overall scores — read from GET /v1/runs/{id} every 2 s until the run ends,
 * without reloading the page. [Stop] while it is queued or running; the Excel report and the JSONL
 * export as downloads once it has ended; a verification's answers as the seed's table (ID, Dataset,
 * Sample, Label, Predict), a formal run's results paged and filtered once it has ended; the log,
 * read on at each refresh; the manual evaluation of a run with subjective datasets.
 */
import { api, ApiError, download } from './api.js';
import { duration, h, interval, mount, score, table, when } from './dom.js';
import { runLog } from './runLog.js';
import { runResults, sampleCells } from './runResults.js';
import { manualEvaluation } from './manualEvaluation.js';

export const POLL_MS = 2_000;
const LOG_TAIL_MS = 20_000;
const TERMINAL = ['succeeded', 'failed', 'stopped'];

export async function renderRun(main, [runId]) {
  let run = await api('GET', `/v1/runs/${runId}`);
  let timer = null;
  let closed = false;

  const live = h('section', { id: 'live', 'aria-live': 'polite', 'aria-busy': 'false' });
  const message = h('p', { id: 'run-message', role: 'status' });
  const results = h('section', { id: 'results' });
  const stop = h('button', { type: 'button', id: 'stop' }, 'Stop');
  const report = h('button', { type: 'button', id: 'download-report' }, 'Download report (.xlsx)');
  const jsonl = h('button', { type: 'button', id: 'download-jsonl' }, 'Download results (.jsonl)');

  stop.addEventListener('click', async () => {
    stop.disabled = true;
    try {
      await api('POST', `/v1/runs/${runId}/stop`);
      message.textContent = 'Stop requested.';
    } catch (error) {
      message.textContent = `Not stopped: ${error.message}`;
    }
  });
  const saver = (button, path, fallback) =>
    button.addEventListener('click', async () => {
      button.disabled = true;
      try {
        message.textContent = `Saved ${await download(path, fallback)}.`;
      } catch (error) {
        message.textContent =
          error instanceof ApiError && error.status === 409
            ? 'The report is being written; try again in a moment.'
            : `Download failed: ${error.message}`;
      } finally {
        button.disabled = false;
      }
    });
  saver(report, `/v1/runs/${runId}/report.xlsx`, 'report.xlsx');
  saver(jsonl, `/v1/runs/${runId}/results.jsonl`, 'results.jsonl');

  const log = runLog(runId);
  const manual = manualEvaluation(runId);
  // A formal run's results, paged and filtered, once it has ended (a verification's few are the seed's table).
  const formalResults = run.type === 'formal' ? runResults(run) : null;
  let resultsShown = false;

  const update = async () => {
    const ended = TERMINAL.includes(run.status);
    stop.hidden = ended;
    stop.disabled = stop.disabled && !ended;
    report.hidden = !ended;
    jsonl.hidden = !ended;
    mount(live, ...renderLive(run));
    await manual.update(run.review);
    if (run.type === 'verification' && (ended || run.progress.done > 0)) await renderResults(results, runId);
    if (formalResults && ended && !resultsShown) {
      resultsShown = true;
      mount(results, formalResults.section);
      await formalResults.load();
    }
    await log.refresh();
  };

  // Lines are still written for a moment after the run ends (its report, its notification): the
  // log alone is read on for a while after the end.
  let endSeenAt = null;
  const schedule = () => {
    if (closed) return;
    if (TERMINAL.includes(run.status)) endSeenAt ??= Date.now();
    if (endSeenAt === null || Date.now() - endSeenAt < LOG_TAIL_MS) timer = window.setTimeout(poll, POLL_MS);
  };
  const poll = async () => {
    if (closed) return;
    try {
      if (TERMINAL.includes(run.status)) await log.refresh();
      else {
        run = await api('GET', `/v1/runs/${runId}`);
        await update();
      }
    } catch (error) {
      message.textContent = `Could not refresh: ${error.message}`;
    }
    schedule();
  };

  mount(
    main,
    h('p', {}, h('a', { href: `#/evaluations/${run.evaluationId}` }, '← The evaluation')),
    h('h1', {}, `Run v${run.version} (${run.type === 'verification' ? 'inference verification' : 'formal'})`),
    h('div', { class: 'actions' }, stop, ' ', report, ' ', jsonl),
    message,
    live,
    manual.section,
    results,
    log.section,
  );
  await update();
  schedule();
  return () => {
    closed = true;
    window.clearTimeout(timer);
  };
}

function renderLive(run) {
  const p = run.progress;
  const rows = run.datasets.map((d) =>
    h(
      'tr',
      { dataset: { dataset: d.dataset, status: d.status } },
      h('td', {}, d.task),
      h('td', {}, d.dataset),
      h('td', { class: `status ${d.status}` }, d.status, d.reusedFrom ? ` (reused from v${d.reusedFrom.version})` : ''),
      h('td', { dataset: { cell: 'done' } }, `${d.done}/${d.total}`),
      h('td', {}, String(d.failed)),
      h('td', {}, d.status === 'running' ? duration(d.etaSeconds) : '—'),
      h('td', { dataset: { cell: 'score' } }, d.metrics ? score(d.metrics.score) : '—'),
      h('td', {}, d.metrics ? interval(d.metrics.ci95) : ''),
      h('td', {}, when(d.startedAt)),
      h('td', {}, when(d.endedAt)),
    ),
  );
  return [
    h(
      'dl',
      { class: 'params' },
      h('dt', {}, 'Status'),
      h('dd', { id: 'run-status', dataset: { status: run.status } }, run.status),
      h('dt', {}, 'Progress'),
      h(
        'dd',
        {},
        h('progress', { id: 'run-progress', max: p.total || 1, value: p.done, 'aria-label': 'samples done' }),
        ` ${p.done}/${p.total} (${p.percent.toFixed(1)}%)`,
      ),
      h('dt', {}, 'Time left'),
      h('dd', { id: 'run-eta' }, TERMINAL.includes(run.status) ? '—' : duration(p.etaSeconds)),
      p.traffic
        ? [
            h('dt', {}, 'Endpoint'),
            h(
              'dd',
              { id: 'run-traffic' },
              `${p.traffic.concurrencyLimit} of ${p.traffic.maxConcurrency} requests in flight allowed` +
                (p.traffic.rateLimited > 0 ? `, ${p.traffic.rateLimited} rate-limited (429)` : '') +
                (p.traffic.budgetWaitSeconds > 0 ? `, ${p.traffic.budgetWaitSeconds} s waiting for its budget` : ''),
            ),
          ]
        : null,
      h('dt', {}, 'Submitted'),
      h('dd', {}, `${when(run.createdAt)} by ${run.submitter}`),
      h('dt', {}, 'Overall score'),
      h('dd', { id: 'overall' }, score(run.overallScore), run.overallCi95 ? ` (95% CI ${interval(run.overallCi95)})` : ''),
      run.error ? [h('dt', {}, 'Error'), h('dd', { role: 'alert' }, run.error)] : null,
      h('dt', {}, 'Tokens'),
      h('dd', { id: 'run-tokens' }, tokens(run.usage)),
      h('dt', {}, 'Cost'),
      h('dd', { id: 'run-cost' }, money(run.usage.cost, run.usage.currency)),
      run.judgeUsage
        ? [h('dt', {}, 'Judge tokens'), h('dd', { id: 'judge-tokens' }, tokens(run.judgeUsage), run.judgeUsage.cost === null ? '' : `, ${money(run.judgeUsage.cost, run.judgeUsage.currency)}`)]
        : null,
      run.warnings.length
        ? [h('dt', {}, 'Warnings'), h('dd', { id: 'run-warnings', role: 'alert' }, run.warnings.map((w) => h('p', {}, `${when(w.at)}: ${w.message}`)))]
        : null,
    ),
    table(
      'Datasets, in the order they run',
      ['Task', 'Dataset', 'Status', 'Done', 'Failed', 'Time left', 'Score', '95% interval', 'Started', 'Ended'],
      rows,
      { id: 'datasets' },
    ),
    run.taskScores.length
      ? table(
          'Task scores (mean of the finished datasets)',
          ['Task', 'Score', '95% interval', 'Datasets'],
          run.taskScores.map((t) =>
            h('tr', {}, h('td', {}, t.task), h('td', {}, score(t.score)), h('td', {}, interval(t.ci95)), h('td', {}, String(t.datasets))),
          ),
          { id: 'task-scores' },
        )
      : null,
  ];
}

/** Prompt and completion tokens, and how many samples' tokens the platform counted (docs/tokens-and-cost.md). */
function tokens(u) {
  const counted = u.countedSamples ? ` (${u.countedSamples} sample(s) counted, no usage reported)` : '';
  return `${u.promptTokens.toLocaleString('en-US')} prompt + ${u.completionTokens.toLocaleString('en-US')} completion${counted}`;
}

function money(cost, currency) {
  return cost === null || cost === undefined ? '— (no prices set)' : `${cost.toFixed(4)}${currency ? ` ${currency}` : ''}`;
}

/** A verification's answers (at most 3 per dataset, so one page of 100 holds them all). */
async function renderResults(section, runId) {
  const page = await api('GET', `/v1/runs/${runId}/results?limit=100`);
  mount(
    section,
    h('h2', {}, 'Verification results'),
    table(
      'The drawn samples and the model’s answers',
      ['ID', 'Dataset', 'Sample', 'Label', 'Predict'],
      page.items.map((r) => h('tr', {}, ...sampleCells(r))),
      { id: 'verification-results' },
    ),
  );
}
