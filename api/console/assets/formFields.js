/* global CSS */
/**
 * Labelled form fields and the placing of the API's 400s on them. A control carries the API's
 * field name (`data-field`, a dotted path such as deployment.endpoint); its error shows in the
 * element whose `data-error-for` is the same name. The API names array items with brackets
 * (backbone.tasks[1].adaptation) or dots (datasets.0); both are read as dots.
 */
import { ApiError } from './api.js';
import { h, mount } from './dom.js';

/** A labelled control with its hint and the place its error shows; `path` is the API's field name. */
export function field(path, label, control, hint) {
  const id = `f-${path.replace(/\./g, '-')}`;
  control.id = id;
  control.dataset.field = path;
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  control.setAttribute('aria-describedby', [hint !== undefined ? hintId : null, errorId].filter(Boolean).join(' '));
  return h(
    'div',
    { class: 'field', dataset: { fieldWrap: path } },
    h('label', { for: id }, label),
    control,
    hint !== undefined ? h('p', { id: hintId, class: 'hint' }, hint) : null,
    h('p', { id: errorId, class: 'field-error', dataset: { errorFor: path } }),
  );
}

export const input = (attrs = {}) => h('input', { type: 'text', ...attrs });

/** A select of [value, text] pairs (a third element true disables the option). */
export const select = (options, attrs = {}) => setOptions(h('select', attrs), options);

/** Replaces a select's options, keeping the chosen value(s) that are still offered. */
export function setOptions(el, options) {
  const chosen = new Set([...el.selectedOptions].map((o) => o.value));
  mount(
    el,
    options.map(([value, text, disabled]) =>
      h('option', { value, disabled: disabled === true, selected: el.multiple && chosen.has(value) }, text),
    ),
  );
  if (!el.multiple && [...chosen].length && options.some(([v]) => chosen.has(v))) el.value = [...chosen][0];
  return el;
}

export function clearErrors(form, summary) {
  mount(summary);
  for (const el of form.querySelectorAll('[data-error-for]')) el.textContent = '';
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
}

/** backbone.tasks[1].adaptation → backbone.tasks.1.adaptation */
const dotted = (field) => String(field).replace(/\[(\d+)\]/g, '.$1');

/**
 * Each field error beside its field (a nested name such as datasets.0 goes to its nearest field
 * shown); errors no shown field names, and answers other than 400, in the summary at the top.
 */
export function showErrors(form, summary, error, what) {
  const unplaced = [];
  const errors = error instanceof ApiError && error.errors.length ? error.errors : [];
  let first = null;
  for (const { field, message } of errors) {
    const target = nearestField(form, dotted(field));
    if (!target) {
      unplaced.push(`${field} ${message}`);
      continue;
    }
    const slot = form.querySelector(`[data-error-for="${CSS.escape(target)}"]`);
    slot.textContent = slot.textContent ? `${slot.textContent} ${message}` : message;
    const control = form.querySelector(`[data-field="${CSS.escape(target)}"]`);
    control.setAttribute('aria-invalid', 'true');
    first ??= control;
  }
  if (!errors.length) unplaced.push(error.message);
  mount(
    summary,
    h(
      'p',
      {},
      errors.length
        ? `The evaluation was not ${what}: ${errors.length} field(s) to fix.`
        : `The evaluation was not ${what}.`,
    ),
    unplaced.length
      ? h(
          'ul',
          {},
          unplaced.map((m) => h('li', {}, m)),
        )
      : null,
  );
  (first ?? summary).focus();
}

function nearestField(form, field) {
  const parts = field.split('.');
  for (let n = parts.length; n > 0; n--) {
    const name = parts.slice(0, n).join('.');
    const control = form.querySelector(`[data-field="${CSS.escape(name)}"]`);
    if (control && !control.closest('[hidden]')) return name;
  }
  return null;
}
