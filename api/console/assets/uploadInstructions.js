/* global window */
/**
 * [Upload Model & Code] on a private evaluation's page: what the upload must hold (the domain's
 * layout from GET /v1/domains), [Get upload token] (POST /v1/evaluations/{id}/upload-token; the
 * token is shown once) with the exact commands that upload a directory with it, and the upload
 * versions (GET /v1/evaluations/{id}/uploads) with each version's check: every problem's path and
 * message.
 */
import { api } from './api.js';
import { h, mount, table, when } from './dom.js';

export function uploadSection(evaluation, domain) {
  const id = evaluation.id;
  const layout = domain.upload;
  const tokenBox = h('div', { id: 'upload-token-box', 'aria-live': 'polite' });
  const versions = h('div', { id: 'upload-versions' });
  const get = h('button', { type: 'button', id: 'get-upload-token' }, 'Get upload token');
  get.addEventListener('click', async () => {
    get.disabled = true;
    try {
      const issued = await api('POST', `/v1/evaluations/${id}/upload-token`);
      showToken(tokenBox, issued);
    } catch (error) {
      mount(tokenBox, h('p', { role: 'alert' }, `No token was issued: ${error.message}`));
    } finally {
      get.disabled = false;
    }
  });
  const refresh = h('button', { type: 'button', id: 'refresh-uploads' }, 'Refresh versions');
  refresh.addEventListener('click', () => renderVersions(versions, id));

  const section = h(
    'section',
    { id: 'upload', 'aria-labelledby': 'upload-heading' },
    h('h2', { id: 'upload-heading' }, 'Upload Model & Code'),
    layout
      ? [
          h('p', {}, `A ${domain.label} upload is a directory holding:`),
          table(
            `What a ${domain.label} upload holds (each is checked when it arrives)`,
            ['Path', 'What it is'],
            layout.files.map((f) =>
              h(
                'tr',
                {},
                h('td', {}, h('code', {}, f.kind === 'directory' ? `${f.path}/` : f.path)),
                h('td', {}, f.what),
              ),
            ),
            { id: 'upload-layout' },
          ),
          h('p', { class: 'hint' }, layout.note),
        ]
      : null,
    h(
      'p',
      {},
      get,
      ' ',
      h(
        'span',
        { class: 'hint' },
        'A token is shown once, is for this evaluation only, and expires; a new token starts a new line of versions.',
      ),
    ),
    tokenBox,
    h('div', { class: 'inline' }, h('h3', {}, 'Upload versions'), refresh),
    versions,
  );
  renderVersions(versions, id);
  return section;
}

function showToken(box, issued) {
  const server = window.location.origin;
  const proctor = `npm run proctor -- upload --server=${server} --token=${issued.token} DIR`;
  const flageval = `flageval-serving upload --host=${server} --token=${issued.token} DIR`;
  mount(
    box,
    h('p', {}, 'Upload token (copy it now; it is not shown again): ', h('code', { id: 'upload-token' }, issued.token)),
    h(
      'p',
      { class: 'hint' },
      `Expires ${when(issued.expiresAt)}. DIR is the directory holding the files above; its contents become the upload's root.`,
    ),
    h('p', {}, 'With the project’s CLI (from a checkout of this repository):'),
    h('pre', {}, h('code', { id: 'upload-command' }, proctor)),
    h('p', {}, 'Or with the seed’s CLI (pip install flageval-serving):'),
    h('pre', {}, h('code', { id: 'upload-command-flageval' }, flageval)),
    h(
      'p',
      { class: 'hint' },
      'To replace or add files later, use cp with the same token (npm run proctor -- cp --server=… --token=… FILE /); each upload or cp makes a new version, and a run keeps the version it was launched with.',
    ),
  );
}

async function renderVersions(el, id) {
  let items;
  try {
    items = await api('GET', `/v1/evaluations/${id}/uploads`);
  } catch (error) {
    mount(el, h('p', { role: 'alert' }, `The versions could not be read: ${error.message}`));
    return;
  }
  if (!items.length) {
    mount(el, h('p', { id: 'no-uploads' }, 'Nothing uploaded yet.'));
    return;
  }
  mount(
    el,
    items.map((v) =>
      h(
        'div',
        { class: 'upload-version', dataset: { version: v.version } },
        h(
          'p',
          {},
          h('strong', {}, `Version ${v.version}`),
          ` — ${v.kind}${v.derivedFrom !== null ? ` on version ${v.derivedFrom}` : ''}, ${v.files} files, ${v.bytes.toLocaleString()} bytes, ${when(v.createdAt)}: `,
          h(
            'span',
            { class: v.check.ok ? 'check-ok' : 'check-bad', dataset: { check: v.check.ok ? 'ok' : 'problems' } },
            v.check.ok ? 'layout check passed' : `layout check found ${v.check.problems.length} problem(s)`,
          ),
        ),
        v.check.problems.length
          ? table(
              `Problems of version ${v.version}`,
              ['Path', 'Rule', 'Problem'],
              v.check.problems.map((p) =>
                h('tr', {}, h('td', {}, h('code', {}, p.path || '/')), h('td', {}, p.rule), h('td', {}, p.message)),
              ),
              { class: 'problems' },
            )
          : null,
      ),
    ),
  );
}
