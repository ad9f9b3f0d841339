/* global document, Node */
/**
 * Building elements without HTML strings: text always goes in as text (textContent), so a model
 * name or an answer from a model can never become markup.
 */

/**
 * h('a', { href: '#/x', class: 'c', onclick: fn }, 'text', child) → an element. Attributes whose
 * value is null, undefined or false are left out; `true` sets an empty attribute.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (name === 'dataset') Object.assign(el.dataset, value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces the element's content. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A score in [0, 1] to four places, as the API's views and the leaderboard page show it. */
export function score(value) {
  return value === null || value === undefined ? '—' : value.toFixed(4);
}

export function interval(ci) {
  return ci ? `${ci.lower.toFixed(4)}–${ci.upper.toFixed(4)}` : '';
}

export function when(iso) {
  return iso ? new Date(iso).toLocaleString() : '—';
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  if (seconds < 60) return `${seconds} s`;
  const m = Math.floor(seconds / 60);
  return m < 60 ? `${m} min ${seconds % 60} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** A table with a caption, a header row and one row per item (cells are text or nodes). */
export function table(caption, headers, rows, attrs = {}) {
  return h(
    'table',
    attrs,
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, headers.map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, rows),
  );
}
