/**
 * The CV and Audio form's "Evaluation task" (multiple choice), each task with its adaptation method
 * (the default first), as GET /v1/domains lists them. The tasks are sent in the order they are
 * listed; before each submit their controls take the API's names for that order
 * (backbone.tasks.<i>.task, backbone.tasks.<i>.adaptation) so the API's errors land on them.
 */
import { h, mount } from './dom.js';

const TASK_LABELS = {
  classification: 'Classification',
  retrieval: 'Retrieval',
  segmentation: 'Semantic segmentation',
  keyword_spotting: 'Keyword spotting',
  speaker_id: 'Speaker identification',
};
const taskLabel = (task) => TASK_LABELS[task] ?? task;

export function backboneTasks(onChange) {
  const rows = h('div', { class: 'tasks' });
  const element = h(
    'fieldset',
    {
      id: 'backbone-tasks',
      tabindex: '-1',
      dataset: { field: 'backbone.tasks' },
      'aria-describedby': 'backbone-tasks-hint backbone-tasks-error',
    },
    h('legend', {}, 'Evaluation tasks'),
    h(
      'p',
      { id: 'backbone-tasks-hint', class: 'hint' },
      'Choose one or more. For each, the platform freezes the backbone and fine-tunes a preset head with the adaptation method chosen, then scores it on the test split.',
    ),
    rows,
    h('p', { id: 'backbone-tasks-error', class: 'field-error', dataset: { errorFor: 'backbone.tasks' } }),
  );
  let entries = [];

  function render(tasks) {
    entries = tasks.map(({ task, adaptations, metric }) => {
      const id = `task-${task}`;
      const box = h('input', { type: 'checkbox', id, value: task, 'aria-describedby': `${id}-hint ${id}-error` });
      const method = h(
        'select',
        { id: `${id}-adaptation`, disabled: true, 'aria-describedby': `${id}-adaptation-error` },
        adaptations.map((a, i) => h('option', { value: a }, i === 0 ? `${a} (default)` : a)),
      );
      const taskError = h('p', { id: `${id}-error`, class: 'field-error' });
      const methodError = h('p', { id: `${id}-adaptation-error`, class: 'field-error' });
      box.addEventListener('change', () => {
        method.disabled = !box.checked;
        onChange();
      });
      const row = h(
        'div',
        { class: 'task', dataset: { task } },
        h('div', { class: 'inline' }, box, h('label', { for: id }, taskLabel(task))),
        h('p', { id: `${id}-hint`, class: 'hint' }, `Scored by ${metric}.`),
        taskError,
        h(
          'div',
          { class: 'field' },
          h('label', { for: method.id }, `Adaptation method for ${taskLabel(task)}`),
          method,
          methodError,
        ),
      );
      return { task, box, method, taskError, methodError, row };
    });
    mount(
      rows,
      entries.map((e) => e.row),
    );
  }

  /** The chosen tasks, in the order listed, as the body sends them. */
  const chosen = () => entries.filter((e) => e.box.checked).map((e) => ({ task: e.task, adaptation: e.method.value }));

  /** Names the chosen tasks' controls by their index in the body; the others by none. */
  function assignPaths() {
    let i = 0;
    for (const e of entries) {
      const pairs = [
        [e.box, e.taskError, 'task'],
        [e.method, e.methodError, 'adaptation'],
      ];
      for (const [control, slot, name] of pairs) {
        if (e.box.checked) {
          control.dataset.field = `backbone.tasks.${i}.${name}`;
          slot.dataset.errorFor = control.dataset.field;
        } else {
          delete control.dataset.field;
          delete slot.dataset.errorFor;
        }
      }
      if (e.box.checked) i++;
    }
  }

  /** Checks the stored tasks and selects their methods. */
  function set(tasks) {
    for (const e of entries) {
      const stored = tasks.find((t) => t.task === e.task);
      e.box.checked = Boolean(stored);
      e.method.disabled = !stored;
      if (stored) e.method.value = stored.adaptation;
    }
  }

  return { element, render, chosen, assignPaths, set };
}
