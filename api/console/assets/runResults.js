/* global URLSearchParams */
/**
 * A run's per-sample results (GET /v1/runs/{id}/results), a page at a time, filtered by dataset
 * and status: ID, Dataset, Sample, Label, Predict, Score, Status.
 */
import { api } from './api.js';
import { h, mount, table } from './dom.js';

const PAGE = 50;

/** A result's ID, Dataset, Sample, Label and Predict cells, as the seed's verification table shows them. */
export function sampleCells(r) {
  return [
    h('td', {}, r.id),
    h('td', {}, r.dataset),
    h('td', { class: 'text' }, r.sample),
    h('td', { class: 'text' }, r.label),
    h('td', { class: 'text' }, r.predict ?? `(failed: ${r.error ?? 'no answer'})`),
  ];
}

export function runResults(run) {
  const dataset = h('select', { id: 'results-dataset' }, h('option', { value: '' }, 'every dataset'),
    run.datasets.map((d) => h('option', { value: d.dataset }, d.dataset)));
  const status = h('select', { id: 'results-status' },
    [['', 'any status'], ['scored', 'scored'], ['failed', 'failed'], ['pending', 'pending (waiting for a judge)']].map(
      ([value, text]) => h('option', { value }, text)));
  const body = h('div', { id: 'results-page' });
  const first = h('button', { type: 'button', id: 'results-first' }, 'First page');
  const nextButton = h('button', { type: 'button', id: 'results-next' }, 'Next page');
  const where = h('p', { id: 'results-where', role: 'status' });
  let cursors = [null];

  const load = async (cursor) => {
    const q = new URLSearchParams({ limit: String(PAGE) });
    if (dataset.value) q.set('dataset', dataset.value);
    if (status.value) q.set('status', status.value);
    if (cursor) q.set('cursor', cursor);
    const page = await api('GET', `/v1/runs/${run.runId}/results?${q}`);
    mount(
      body,
      page.items.length
        ? table(
            'Per-sample results, in run order',
            ['ID', 'Dataset', 'Sample', 'Label', 'Predict', 'Score', 'Status'],
            page.items.map((r) =>
              h(
                'tr',
                {},
                ...sampleCells(r),
                h('td', {}, r.score === null ? '—' : String(r.score)),
                h('td', {}, r.status),
              ),
            ),
            { id: 'results-table' },
          )
        : h('p', {}, 'No result matches.'),
    );
    where.textContent = `Page ${cursors.length}${page.items.length ? `, ${page.items.length} results` : ''}.`;
    nextButton.disabled = !page.nextCursor;
    nextButton.dataset.cursor = page.nextCursor ?? '';
    first.disabled = cursors.length === 1;
  };
  const restart = () => {
    cursors = [null];
    return load(null);
  };
  dataset.addEventListener('change', restart);
  status.addEventListener('change', restart);
  first.addEventListener('click', restart);
  nextButton.addEventListener('click', () => {
    const cursor = nextButton.dataset.cursor;
    cursors.push(cursor);
    return load(cursor);
  });

  const section = h(
    'section',
    { id: 'results-section', 'aria-labelledby': 'results-heading' },
    h('h2', { id: 'results-heading' }, 'Results'),
    h('div', { class: 'inline' }, h('label', { for: 'results-dataset' }, 'Dataset'), dataset,
      h('label', { for: 'results-status' }, 'Status'), status),
    where,
    body,
    h('div', { class: 'actions' }, first, ' ', nextButton),
  );
  return { section, load: restart };
}
