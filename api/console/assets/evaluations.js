/** The evaluation list (GET /v1/evaluations, paged by its cursor) with [Create Evaluation]. */
import { api } from './api.js';
import { h, mount, table, when } from './dom.js';

export async function renderEvaluationList(main) {
  const rows = h('tbody');
  const more = h('button', { type: 'button', id: 'more', hidden: true }, 'Show more');
  let cursor = null;
  const load = async () => {
    const page = await api('GET', `/v1/evaluations?limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    for (const e of page.items) {
      rows.append(
        h(
          'tr',
          { dataset: { evaluationId: e.id } },
          h('td', {}, h('a', { href: `#/evaluations/${e.id}` }, e.modelName)),
          h('td', {}, e.domain),
          h('td', {}, e.datasets.join(', ')),
          h('td', {}, e.deployment.method),
          h('td', {}, when(e.createdAt)),
        ),
      );
    }
    cursor = page.nextCursor;
    more.hidden = !cursor;
  };
  more.addEventListener('click', () => load());
  await load();
  const list = table('Your evaluations, newest first', ['Model', 'Domain', 'Datasets', 'Deployment', 'Created'], [], {
    id: 'evaluations',
  });
  list.querySelector('tbody').replaceWith(rows);
  mount(
    main,
    h('h1', {}, 'Evaluations'),
    h('p', {}, h('a', { href: '#/evaluations/new', class: 'button', id: 'create-evaluation' }, 'Create Evaluation')),
    rows.children.length ? list : h('p', { id: 'no-evaluations' }, 'No evaluation yet.'),
    more,
  );
}
