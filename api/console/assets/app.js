/* global document, window */
/**
 * The console's shell: a hash router (#/evaluations, #/evaluations/new, #/evaluations/<id>[/edit],
 * #/runs/<id>, #/reviews, #/reviews/<id>, #/images, #/images/<id>, #/sign-in), the navigation
 * for the signed-in caller's role (from GET /v1/me), and sign-out. Each page is a module exporting
 * render(main, params, me) that may return a cleanup function (the run page stops polling with it).
 */
import { api, ApiError, session } from './api.js';
import { h, mount } from './dom.js';
import { renderSignIn } from './signIn.js';
import { renderEvaluationList } from './evaluations.js';
import { renderCreateEvaluation, renderEditEvaluation } from './evaluationForm.js';
import { renderEvaluation } from './evaluation.js';
import { renderRun } from './run.js';
import { renderReviewQueue } from './reviews.js';
import { renderReviewScoring } from './reviewScoring.js';
import { renderImageQueue, renderImageReview } from './images.js';

/** What each role can do here; reviewers and admins are refused (403) on users' evaluations and runs otherwise. */
const PAGES = [
  { pattern: /^#\/evaluations$/, render: renderEvaluationList, roles: ['user', 'admin'] },
  { pattern: /^#\/evaluations\/new$/, render: renderCreateEvaluation, roles: ['user', 'admin'] },
  { pattern: /^#\/evaluations\/([\w-]+)$/, render: renderEvaluation, roles: ['user', 'admin'] },
  { pattern: /^#\/evaluations\/([\w-]+)\/edit$/, render: renderEditEvaluation, roles: ['user', 'admin'] },
  { pattern: /^#\/runs\/([\w-]+)$/, render: renderRun, roles: ['user', 'admin'] },
  { pattern: /^#\/reviews$/, render: renderReviewQueue, roles: ['reviewer', 'admin'] },
  { pattern: /^#\/reviews\/([\w-]+)$/, render: renderReviewScoring, roles: ['reviewer', 'admin'] },
  { pattern: /^#\/images$/, render: renderImageQueue, roles: ['admin'] },
  { pattern: /^#\/images\/([\w-]+)$/, render: renderImageReview, roles: ['admin'] },
];

const main = () => document.getElementById('main');
let me = null;
let cleanup = null;
/** Counts navigations: a page still loading when the user moved on is dropped, not shown over the new one. */
let navigation = 0;

async function route() {
  const current = ++navigation;
  if (cleanup) cleanup();
  cleanup = null;
  const hash = window.location.hash || '#/';
  if (!session.key()) {
    me = null;
    renderNav();
    if (hash !== '#/sign-in') window.location.hash = '#/sign-in';
    else renderSignIn(main(), onSignedIn);
    return;
  }
  if (hash === '#/sign-in') {
    window.location.hash = '#/';
    return;
  }
  if (!me) {
    try {
      me = await api('GET', '/v1/me');
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return;
      if (current === navigation) mount(main(), h('p', { role: 'alert' }, `Could not reach the API: ${error.message}`));
      return;
    }
    if (current !== navigation) return;
  }
  renderNav();
  if (hash === '#/') {
    window.location.hash = me.role === 'reviewer' ? '#/reviews' : '#/evaluations';
    return;
  }
  const page = PAGES.find((p) => p.pattern.test(hash));
  const el = main();
  if (!page || !page.roles.includes(me.role)) {
    mount(el, h('h1', {}, 'Not found'), h('p', {}, 'There is no such page in the console.'));
    el.focus();
    return;
  }
  mount(el, h('p', {}, 'Loading…'));
  // The page renders into a container of its own, shown only if it is still the page asked for.
  const container = h('div', { class: 'page' });
  const params = hash.match(page.pattern).slice(1);
  let stop = null;
  try {
    stop = (await page.render(container, params, me)) ?? null;
  } catch (error) {
    showError(container, error);
  }
  if (current !== navigation) {
    if (stop) stop();
    return;
  }
  cleanup = stop;
  mount(el, container);
  // A page may name where the focus starts (data-focus); otherwise the new content gets it.
  (container.querySelector('[data-focus]') ?? el).focus();
}

/** A page that could not load its data: 404s look alike whether the thing is missing or someone else's. */
export function showError(el, error) {
  if (error instanceof ApiError && error.status === 404) {
    mount(el, h('h1', {}, 'Not found'), h('p', { role: 'alert' }, error.message));
  } else {
    mount(el, h('h1', {}, 'Something went wrong'), h('p', { role: 'alert' }, error.message));
  }
}

function renderNav() {
  const nav = document.getElementById('nav');
  const who = document.getElementById('who');
  if (!me) {
    mount(nav);
    mount(who);
    return;
  }
  const links = [];
  if (me.role === 'user' || me.role === 'admin') links.push(['#/evaluations', 'Evaluations']);
  if (me.role === 'reviewer' || me.role === 'admin') links.push(['#/reviews', 'Reviews']);
  if (me.role === 'admin') links.push(['#/images', 'Image approvals']);
  const current = window.location.hash;
  mount(
    nav,
    h(
      'ul',
      {},
      links.map(([href, text]) =>
        h('li', {}, h('a', { href, 'aria-current': current.startsWith(href) ? 'page' : null }, text)),
      ),
      h('li', {}, h('a', { href: '/leaderboard/nlp' }, 'Leaderboards')),
    ),
  );
  mount(
    who,
    h('span', { 'data-role': me.role }, `${me.name} (${me.role})`),
    ' ',
    h('button', { type: 'button', id: 'sign-out', onclick: signOut }, 'Sign out'),
  );
}

function onSignedIn(meView) {
  me = meView;
  window.location.hash = '#/';
}

function signOut() {
  session.signOut();
  me = null;
  window.location.hash = '#/sign-in';
}

window.addEventListener('hashchange', route);
route();
