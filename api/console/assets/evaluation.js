/* global window */
/**
 * An evaluation's details page: its parameters with [Edit], [Inference Verification] (where the
 * domain has it) and [Launch] (with this month's remaining formal quota from GET /v1/me shown
 * before the click), [Upload Model & Code] for a private deployment (uploadInstructions.js), and its
 * runs (versions) with [Stop] on those still going.
 */
import { api } from './api.js';
import { duration, h, mount, score, table, when } from './dom.js';
import { uploadSection } from './uploadInstructions.js';

const ACTIVE = ['queued', 'running'];

export async function renderEvaluation(main, [id]) {
  const [evaluation, me, domains, estimate] = await Promise.all([
    api('GET', `/v1/evaluations/${id}`),
    api('GET', '/v1/me'),
    api('GET', '/v1/domains'),
    api('GET', `/v1/evaluations/${id}/estimate`).catch(() => null),
  ]);
  // The image by name and tag rather than its id (it may be gone from the list: then its id).
  const image =
    evaluation.deployment.method === 'private'
      ? (await api('GET', '/v1/images')).items.find((i) => i.id === evaluation.deployment.imageId)
      : undefined;
  const domain = domains.items.find((d) => d.domain === evaluation.domain);
  const status = h('p', { id: 'action-status', role: 'status' });
  const runs = h('section', { id: 'runs', 'aria-labelledby': 'runs-heading' });

  const launchWith = async (button, path, body, what) => {
    button.disabled = true;
    status.textContent = `Starting the ${what}…`;
    try {
      const launched = await api('POST', path, body);
      window.location.hash = `#/runs/${launched.runId}`;
    } catch (error) {
      status.textContent = `The ${what} was not started: ${error.message}`;
      button.disabled = false;
    }
  };

  const verify = h('button', { type: 'button', id: 'verify' }, 'Inference Verification');
  verify.addEventListener('click', () =>
    launchWith(verify, `/v1/evaluations/${id}/verifications`, { samplesPerDataset: 3 }, 'verification'),
  );
  const { used, limit } = me.quota.formal;
  const left = Math.max(0, limit - used);
  const launch = h(
    'button',
    { type: 'button', id: 'launch', 'aria-describedby': 'quota', disabled: left === 0 },
    'Launch',
  );
  launch.addEventListener('click', () => launchWith(launch, `/v1/evaluations/${id}/runs`, {}, 'formal evaluation'));

  const d = evaluation.deployment;
  const rows = [
    ['Domain', evaluation.domain],
    ['Model name', evaluation.modelName],
    ['Description', evaluation.description || '—'],
    ['Datasets', evaluation.datasets.join(', ')],
    ['Deployment', d.method],
    ...(d.method === 'api'
      ? [
          ['API endpoint', d.endpoint],
          ['Online model name', d.onlineModelName ?? '—'],
          ['API key', d.apiKeySet ? 'set (never shown)' : 'none'],
          ['API mode', d.apiMode ?? 'chat'],
          ['Prices', d.prices ? `${d.prices.inputPerMillion} input / ${d.prices.outputPerMillion} output per million tokens${d.prices.currency ? ` (${d.prices.currency})` : ''}` : 'none'],
        ]
      : []),
    ...(d.method === 'private'
      ? [
          ['Image', image ? `${image.name}:${image.tag} (${image.status})` : d.imageId],
          ['GPU', `${d.gpuCount} × ${d.gpuType}`],
          ['Priority', d.priority],
        ]
      : []),
    ...(evaluation.backbone
      ? [['Evaluation tasks', evaluation.backbone.tasks.map((t) => `${t.task} (${t.adaptation})`).join(', ')]]
      : []),
    ['Robustness', evaluation.robustness ? 'yes' : 'no'],
    ['Model type', evaluation.modelInfo.type ?? '—'],
    // A backbone is fine-tuned, not prompted: it has no inference parameters or request limits.
    ...(domain.privateProtocol === 'finetune'
      ? []
      : [
          [
            'Inference',
            `max tokens ${evaluation.inference.maxTokens}, temperature ${evaluation.inference.temperature}, top p ${evaluation.inference.topP}`,
          ],
          ['System prompt', evaluation.inference.systemPrompt || '—'],
          [
            'Limits',
            `concurrency ${evaluation.limits.maxConcurrency}, retries ${evaluation.limits.maxRetryPerQuery}, timeout ${evaluation.limits.requestTimeoutMs} ms`,
          ],
        ]),
    ['Created', when(evaluation.createdAt)],
  ];

  mount(
    main,
    h('p', {}, h('a', { href: '#/evaluations' }, '← Evaluations')),
    h('h1', {}, evaluation.modelName),
    h(
      'dl',
      { id: 'parameters', class: 'params' },
      rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
    ),
    h('p', {}, h('a', { href: `#/evaluations/${id}/edit`, class: 'button', id: 'edit' }, 'Edit')),
    d.method === 'private' ? uploadSection(evaluation, domain) : null,
    h(
      'div',
      { class: 'actions' },
      domain.verification
        ? [verify, ' ']
        : h('p', { class: 'hint' }, `${domain.label} has no inference verification: launch a formal run.`),
      launch,
      h(
        'p',
        { id: 'quota', class: 'hint' },
        `Formal launches left this month (${me.quota.month}): ${left} of ${limit}. A verification uses none.`,
      ),
      h('p', { id: 'estimate', class: 'hint' }, estimateText(estimate)),
    ),
    status,
    runs,
  );
  await renderRuns(runs, id);
}

async function renderRuns(section, id) {
  const { items } = await api('GET', `/v1/evaluations/${id}/runs`);
  const rows = items.map((r) => {
    const stop = h('button', { type: 'button', class: 'stop', 'aria-label': `Stop version ${r.version}` }, 'Stop');
    stop.addEventListener('click', async () => {
      stop.disabled = true;
      try {
        await api('POST', `/v1/runs/${r.runId}/stop`);
      } catch {
        // 409: it ended meanwhile; the list below says how.
      }
      await renderRuns(section, id);
    });
    return h(
      'tr',
      { dataset: { runId: r.runId } },
      h('td', {}, h('a', { href: `#/runs/${r.runId}` }, `v${r.version}`)),
      h('td', {}, r.type === 'verification' ? 'inference verification' : 'formal'),
      h('td', { dataset: { status: r.status } }, r.status),
      h('td', {}, r.submitter),
      h('td', {}, when(r.createdAt)),
      h('td', {}, score(r.overallScore)),
      h('td', {}, ACTIVE.includes(r.status) ? stop : ''),
    );
  });
  mount(
    section,
    h('h2', { id: 'runs-heading' }, 'Versions'),
    items.length
      ? table(
          'Runs of this evaluation, newest first',
          ['Version', 'Type', 'Status', 'Submitter', 'Created', 'Overall score', 'Operation'],
          rows,
        )
      : h('p', {}, 'No run yet: verify first, then launch.'),
  );
}

/** The formal run as the latest verification foretells it (GET /v1/evaluations/{id}/estimate). */
function estimateText(e) {
  if (!e || !e.total) return 'Run an inference verification to see an estimate of the formal run’s time, tokens and cost.';
  const t = e.total;
  const n = (x) => Math.round(x).toLocaleString('en-US');
  const cost = t.cost ? `, cost about ${t.cost.expected.toFixed(2)}${e.currency ? ` ${e.currency}` : ''} (${t.cost.low.toFixed(2)}–${t.cost.high.toFixed(2)})` : '';
  const missing = e.missing.length ? ` Not counted: ${e.missing.join(', ')} (not in the verification).` : '';
  return (
    `Estimate from verification v${e.basedOnRun.version}: about ${duration(Math.round(t.seconds.expected))} ` +
    `(${duration(Math.round(t.seconds.low))}–${duration(Math.round(t.seconds.high))}), ` +
    `${n(t.promptTokens.expected)} prompt and ${n(t.completionTokens.expected)} completion tokens${cost}. ` +
    `From a few samples per dataset: a rough guide (docs/tokens-and-cost.md).${missing}`
  );
}
