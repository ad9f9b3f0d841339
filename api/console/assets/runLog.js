/**
 * A run's log (GET /v1/runs/{id}/logs), read on from where it left off each time the run page
 * refreshes; with [Follow] on, the box keeps the newest line in view.
 */
import { api } from './api.js';
import { h } from './dom.js';

const PAGE = 500;

export function runLog(runId) {
  let next = 0;
  const lines = h('ol', { id: 'log-lines', class: 'log' });
  const box = h('div', { class: 'log-box', role: 'log', tabindex: '0', 'aria-label': 'run log' }, lines);
  const follow = h('input', { type: 'checkbox', id: 'log-follow', checked: true });
  const section = h(
    'section',
    { id: 'logs', 'aria-labelledby': 'logs-heading' },
    h('h2', { id: 'logs-heading' }, 'Log'),
    h('div', { class: 'inline' }, follow, h('label', { for: 'log-follow' }, 'Follow (keep the newest line in view)')),
    box,
  );

  /** Appends every line written since the last call. */
  const refresh = async () => {
    for (;;) {
      const page = await api('GET', `/v1/runs/${runId}/logs?after=${next}&limit=${PAGE}`);
      for (const line of page.items) {
        lines.append(
          h(
            'li',
            { class: `level-${line.level}`, dataset: { id: String(line.id) } },
            h('time', { datetime: line.at }, new Date(line.at).toLocaleTimeString()),
            ` ${line.level.toUpperCase()} `,
            line.dataset ? `[${line.dataset}] ` : '',
            line.message,
          ),
        );
      }
      next = page.next;
      if (page.items.length < PAGE) break;
    }
    if (follow.checked) box.scrollTop = box.scrollHeight;
  };
  return { section, refresh };
}
