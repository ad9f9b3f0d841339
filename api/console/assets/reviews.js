/**
 * The reviewers' queue: manual evaluations launched and waiting for scores (GET /v1/reviews, oldest
 * first), each with its progress and a link to its scoring page.
 */
import { api } from './api.js';
import { h, mount, table, when } from './dom.js';

export async function renderReviewQueue(main) {
  const { items } = await api('GET', '/v1/reviews?status=in-review');
  mount(
    main,
    h('h1', {}, 'Review queue'),
    items.length
      ? table(
          'Manual evaluations waiting for scores, oldest first',
          ['Model', 'Run', 'Datasets', 'Scored', 'Launched'],
          items.map((r) =>
            h(
              'tr',
              { dataset: { reviewId: r.reviewId } },
              h('td', {}, h('a', { href: `#/reviews/${r.reviewId}` }, r.modelName)),
              h('td', {}, `v${r.runVersion}`),
              h('td', {}, r.datasets.join(', ')),
              h('td', {}, `${r.progress.scored}/${r.progress.total}`),
              h('td', {}, when(r.launchedAt)),
            ),
          ),
          { id: 'review-queue' },
        )
      : h('p', { id: 'queue-empty' }, 'Nothing to review: no manual evaluation is waiting for scores.'),
  );
}
