/**
 * The run page's manual-evaluation part, for runs with subjective datasets (run.review): where the
 * review stands and, while it waits for its owner, [Launch manual evaluation] with the month's
 * remaining manual quota (GET /v1/me) shown before the click. Redrawn only when the review's state
 * changes, so the button is not replaced under the pointer by the run page's refreshes.
 */
import { api } from './api.js';
import { h, mount, when } from './dom.js';

export function manualEvaluation(runId) {
  const section = h('section', { id: 'manual-evaluation', 'aria-labelledby': 'manual-heading' });
  const message = h('p', { id: 'manual-message', role: 'status' });
  let shown = null;

  const update = async (review) => {
    const state = review ? `${review.status} ${review.launchDeadline}` : 'none';
    if (state === shown) return;
    shown = state;
    if (!review) {
      mount(section);
      return;
    }
    let launch = null;
    let quota = null;
    if (review.status === 'awaiting-launch') {
      const me = await api('GET', '/v1/me');
      const left = Math.max(0, me.quota.manual.limit - me.quota.manual.used);
      quota = h(
        'p',
        { id: 'manual-quota', class: 'hint' },
        `Manual evaluations left this month (${me.quota.month}): ${left} of ${me.quota.manual.limit}.`,
      );
      launch = h(
        'button',
        { type: 'button', id: 'launch-manual', 'aria-describedby': 'manual-quota', disabled: left === 0 },
        'Launch manual evaluation',
      );
      launch.addEventListener('click', async () => {
        launch.disabled = true;
        try {
          const launched = await api('POST', `/v1/runs/${runId}/manual-evaluation`);
          message.textContent = `Manual evaluation launched: ${launched.status}.`;
          await update({ ...review, status: launched.status });
        } catch (error) {
          message.textContent = `Not launched: ${error.message}`;
          launch.disabled = false;
        }
      });
    }
    mount(
      section,
      h('h2', { id: 'manual-heading' }, 'Manual evaluation'),
      h(
        'dl',
        { class: 'params' },
        h('dt', {}, 'Status'),
        h('dd', { id: 'manual-status', dataset: { status: review.status } }, review.status),
        h('dt', {}, 'Subjective datasets'),
        h('dd', {}, review.datasets.join(', ')),
        review.launchDeadline ? [h('dt', {}, 'Launch before'), h('dd', {}, when(review.launchDeadline))] : null,
        review.note ? [h('dt', {}, 'Note'), h('dd', {}, review.note)] : null,
      ),
      launch ? h('div', { class: 'actions' }, launch, quota) : null,
      message,
    );
  };
  return { section, update };
}
