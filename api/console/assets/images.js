/**
 * Admins' image approvals: the imported images waiting for review (GET /v1/images?status=pending),
 * and one image's review page — its details, its Dockerfile line by line with the lines the image
 * rules warned about highlighted and the warning beside them, [Approve], and [Reject] with a reason
 * (the API's 400 shown on the reason field).
 */
import { api, ApiError } from './api.js';
import { h, mount, table, when } from './dom.js';

export async function renderImageQueue(main) {
  const { items } = await api('GET', '/v1/images?status=pending&source=user');
  mount(
    main,
    h('h1', {}, 'Image approvals'),
    items.length
      ? table(
          'Imported images waiting for review, newest first',
          ['Image', 'Pulled from', 'Domains', 'Imported'],
          items.map((i) =>
            h(
              'tr',
              { dataset: { imageId: i.id } },
              h('td', {}, h('a', { href: `#/images/${i.id}` }, `${i.name}:${i.tag}`)),
              h('td', {}, i.url),
              h('td', {}, i.domains.join(', ')),
              h('td', {}, when(i.createdAt)),
            ),
          ),
          { id: 'image-queue' },
        )
      : h('p', { id: 'images-empty' }, 'No image is waiting for review.'),
  );
}

/** Warnings say "line N: …"; those without a line are listed above the file. */
function warningsByLine(warnings) {
  const byLine = new Map();
  const general = [];
  for (const w of warnings) {
    const m = /^line (\d+): (.*)$/s.exec(w.message);
    if (m) byLine.set(Number(m[1]), [...(byLine.get(Number(m[1])) ?? []), m[2]]);
    else general.push(w.message);
  }
  return { byLine, general };
}

export async function renderImageReview(main, [id]) {
  const image = await api('GET', `/v1/images/${id}`);
  const { byLine, general } = warningsByLine(image.warnings);
  const status = h('p', { id: 'image-status', role: 'status' }, `Status: ${image.status}`);
  const reason = h('textarea', {
    id: 'reject-reason',
    rows: 2,
    maxlength: 1024,
    'aria-describedby': 'reject-reason-hint reject-reason-error',
  });
  const reasonError = h('p', { id: 'reject-reason-error', class: 'field-error' });
  const approve = h('button', { type: 'button', id: 'approve' }, 'Approve');
  const reject = h('button', { type: 'submit', id: 'reject', class: 'stop' }, 'Reject');
  const pending = image.status === 'pending';
  approve.disabled = reject.disabled = !pending;

  const decided = (view) => {
    status.textContent = `Status: ${view.status}${view.rejectReason ? ` (${view.rejectReason})` : ''}`;
    approve.disabled = reject.disabled = true;
  };
  approve.addEventListener('click', async () => {
    approve.disabled = true;
    try {
      decided(await api('POST', `/v1/images/${id}/approve`));
    } catch (error) {
      status.textContent = `Not approved: ${error.message}`;
      approve.disabled = false;
    }
  });
  const rejectForm = h(
    'form',
    { id: 'reject-form', novalidate: true },
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'reject-reason' }, 'Reason for rejecting (shown to the owner)'),
      reason,
      h('p', { id: 'reject-reason-hint', class: 'hint' }, '1–1,024 characters.'),
      reasonError,
    ),
    reject,
  );
  rejectForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    reasonError.textContent = '';
    reason.removeAttribute('aria-invalid');
    reject.disabled = true;
    try {
      decided(await api('POST', `/v1/images/${id}/reject`, { reason: reason.value.trim() }));
    } catch (error) {
      const onReason = error instanceof ApiError ? error.errors.find((e) => e.field === 'reason') : null;
      if (onReason) {
        reasonError.textContent = onReason.message;
        reason.setAttribute('aria-invalid', 'true');
        reason.focus();
      } else status.textContent = `Not rejected: ${error.message}`;
      reject.disabled = false;
    }
  });

  const lines = image.dockerfile.split('\n');
  if (lines.at(-1) === '') lines.pop();
  mount(
    main,
    h('p', {}, h('a', { href: '#/images' }, '← Image approvals')),
    h('h1', {}, `${image.name}:${image.tag}`),
    h(
      'dl',
      { class: 'params' },
      [
        ['Pulled from', image.url],
        ['Domains', image.domains.join(', ')],
        ['Framework', image.framework || '—'],
        ['Hardware', image.hardware || '—'],
        ['Description', image.description || '—'],
        ['Imported', when(image.createdAt)],
      ].map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
    ),
    status,
    h('h2', {}, 'Dockerfile'),
    h(
      'p',
      { id: 'warning-count' },
      image.warnings.length
        ? `${image.warnings.length} warning(s) from the image rules; the lines are highlighted.`
        : 'The image rules raised no warning.',
    ),
    general.length ? h('ul', { class: 'warnings' }, general.map((m) => h('li', {}, m))) : null,
    h(
      'ol',
      { class: 'dockerfile', id: 'dockerfile' },
      lines.map((text, n) => {
        const warnings = byLine.get(n + 1);
        return h(
          'li',
          { class: warnings ? 'flagged' : null, dataset: { line: String(n + 1) } },
          h('code', {}, text || ' '),
          warnings ? warnings.map((w) => h('p', { class: 'warning' }, h('strong', {}, 'Warning: '), w)) : null,
        );
      }),
    ),
    h('h2', {}, 'Decision'),
    h('div', { class: 'actions' }, approve),
    rejectForm,
  );
}
