/* global window, CSS */
/**
 * [Create Evaluation] and [Edit] for the NLP domain with an API deployment: every field of the domain's form
 * (docs/domains.md), its rules written beside the fields, and the API's 400 answers placed on the
 * fields they name (errors[].field is a dotted path such as deployment.endpoint). The API is the
 * judge of every rule; the form checks nothing the API would not, so the two cannot disagree.
 */
import { api, ApiError } from './api.js';
import { h, mount } from './dom.js';

const NLP_NAME_RULE =
  '3–32 characters: lowercase letters, digits and hyphens; starts with a lowercase letter, ends with a lowercase letter or digit; unique on the platform.';

/** A labelled control with its hint and the place its error shows; `path` is the API's field name. */
function field(path, label, control, hint) {
  const id = `f-${path.replace(/\./g, '-')}`;
  control.id = id;
  control.dataset.field = path;
  const hintId = hint ? `${id}-hint` : null;
  const errorId = `${id}-error`;
  control.setAttribute('aria-describedby', [hintId, errorId].filter(Boolean).join(' '));
  return h(
    'div',
    { class: 'field', dataset: { fieldWrap: path } },
    h('label', { for: id }, label),
    control,
    hint ? h('p', { id: hintId, class: 'hint' }, hint) : null,
    h('p', { id: errorId, class: 'field-error', dataset: { errorFor: path } }),
  );
}

const input = (attrs = {}) => h('input', { type: 'text', ...attrs });
const select = (options, attrs = {}) =>
  h('select', attrs, options.map(([value, text]) => h('option', { value }, text)));

export function renderCreateEvaluation(main) {
  return renderForm(main, null);
}

/** [Edit]: the same form filled in from the evaluation; model name and domain cannot change. */
export async function renderEditEvaluation(main, [id]) {
  const evaluation = await api('GET', `/v1/evaluations/${id}`);
  if (evaluation.domain !== 'nlp' || evaluation.deployment.method !== 'api') {
    mount(
      main,
      h('h1', {}, 'Edit evaluation'),
      h('p', {}, 'The console edits NLP evaluations with an API deployment; edit this one through the API (PATCH /v1/evaluations/{id}).'),
    );
    return;
  }
  return renderForm(main, evaluation);
}

async function renderForm(main, evaluation) {
  const editing = evaluation !== null;
  const datasets = (await api('GET', '/v1/datasets?domain=nlp')).items.filter((d) => d.source !== 'image');
  const summary = h('div', { id: 'form-errors', role: 'alert', tabindex: '-1' });
  const c = {
    domain: select([['nlp', 'NLP']]),
    modelName: input({ required: true, autocomplete: 'off' }),
    description: h('textarea', { rows: 2, maxlength: 256 }),
    datasets: select(
      datasets.map((d) => [d.id, `${d.id} — ${d.task}, ${d.size} items, ${d.metric}${d.builtin ? '' : ' (yours)'}`]),
      { multiple: true, size: Math.min(8, Math.max(3, datasets.length)), required: true },
    ),
    endpoint: input({ type: 'url', required: true, placeholder: 'https://host/v1' }),
    onlineModelName: input({ autocomplete: 'off' }),
    apiKey: input({ type: 'password', autocomplete: 'off' }),
    apiMode: select([
      ['chat', 'chat (/chat/completions)'],
      ['completion', 'completion (/completions)'],
    ]),
    robustness: h('input', { type: 'checkbox' }),
    modelType: select([
      ['sft', 'SFT'],
      ['base', 'Base'],
    ]),
    paperUrl: input({ type: 'url' }),
    modelUrl: input({ type: 'url' }),
    maxTokens: input({ type: 'number', inputmode: 'numeric', placeholder: '512' }),
    temperature: input({ type: 'number', step: 'any', placeholder: '0' }),
    topP: input({ type: 'number', step: 'any', placeholder: '1' }),
    systemPrompt: h('textarea', { rows: 2 }),
    maxConcurrency: input({ type: 'number', placeholder: '24' }),
    maxRetryPerQuery: input({ type: 'number', placeholder: '3' }),
    requestTimeoutMs: input({ type: 'number', placeholder: '60000' }),
    acknowledge: h('input', { type: 'checkbox' }),
  };

  const form = h(
    'form',
    { id: 'create-evaluation-form', novalidate: true },
    summary,
    h(
      'fieldset',
      {},
      h('legend', {}, 'Basic information'),
      field('domain', 'Evaluation domain', c.domain, 'The console creates NLP evaluations; other domains are created through the API for now.'),
      field('modelName', 'Model name', c.modelName, NLP_NAME_RULE),
      field('description', 'Description (optional)', c.description, 'At most 256 characters.'),
      field('datasets', 'Datasets', c.datasets, 'Choose one or more (Ctrl or Shift to select several).'),
      field('robustness', 'Also evaluate robustness (a second pass over perturbed prompts)', c.robustness),
    ),
    h(
      'fieldset',
      {},
      h('legend', {}, 'API deployment'),
      field('deployment.endpoint', 'API endpoint', c.endpoint, 'The OpenAI-compatible base URL, e.g. https://host/v1.'),
      field('deployment.onlineModelName', 'Online model name (optional)', c.onlineModelName),
      field(
        'deployment.apiKey',
        'API key of the model service (optional)',
        c.apiKey,
        editing
          ? `Stored encrypted; never shown again. ${evaluation.deployment.apiKeySet ? 'Leave empty to keep the stored key (kept while the endpoint stays on the same host).' : 'None is stored.'}`
          : 'Stored encrypted; never shown again.',
      ),
      field('deployment.apiMode', 'API mode', c.apiMode),
    ),
    h(
      'fieldset',
      {},
      h('legend', {}, 'Model information'),
      field('modelInfo.type', 'Model type', c.modelType),
      field('modelInfo.paperUrl', 'Paper link (optional)', c.paperUrl),
      field('modelInfo.modelUrl', 'Model link (optional)', c.modelUrl),
    ),
    h(
      'fieldset',
      {},
      h('legend', {}, 'Inference and limits (optional; empty fields take the defaults shown)'),
      field('inference.maxTokens', 'Max tokens', c.maxTokens, '1 to 131,072.'),
      field('inference.temperature', 'Temperature', c.temperature, '0 to 2.'),
      field('inference.topP', 'Top p', c.topP, '0 to 1.'),
      field('inference.systemPrompt', 'System prompt', c.systemPrompt),
      field('limits.maxConcurrency', 'Max concurrency', c.maxConcurrency, '1 to 512 requests at once.'),
      field('limits.maxRetryPerQuery', 'Retries per query', c.maxRetryPerQuery, '0 to 16.'),
      field('limits.requestTimeoutMs', 'Request timeout (ms)', c.requestTimeoutMs, '100 to 3,600,000.'),
    ),
    field(
      'acknowledgeNoTestAnnotations',
      'I confirm the model was not trained on the test sets’ annotations',
      c.acknowledge,
    ),
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'submit', id: 'submit' }, editing ? 'Save' : 'Submit'),
      ' ',
      h('a', { href: editing ? `#/evaluations/${evaluation.id}` : '#/evaluations' }, 'Cancel'),
    ),
  );

  if (editing) fill(c, evaluation);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form, summary);
    const submit = form.querySelector('#submit');
    submit.disabled = true;
    try {
      if (editing) {
        // Model name and domain cannot change: they are not sent.
        const { domain: _domain, modelName: _name, ...changes } = body(c);
        await api('PATCH', `/v1/evaluations/${evaluation.id}`, changes);
        window.location.hash = `#/evaluations/${evaluation.id}`;
        return;
      }
      const created = await api('POST', '/v1/evaluations', body(c));
      window.location.hash = `#/evaluations/${created.id}`;
    } catch (error) {
      showErrors(form, summary, error);
    } finally {
      submit.disabled = false;
    }
  });

  mount(main, h('h1', {}, editing ? `Edit ${evaluation.modelName}` : 'Create Evaluation'), form);
}

/** The form as the evaluation stands. */
function fill(c, e) {
  const d = e.deployment;
  c.domain.disabled = true;
  c.modelName.value = e.modelName;
  c.modelName.readOnly = true;
  c.description.value = e.description;
  for (const option of c.datasets.options) option.selected = e.datasets.includes(option.value);
  c.endpoint.value = d.endpoint;
  c.onlineModelName.value = d.onlineModelName ?? '';
  c.apiMode.value = d.apiMode ?? 'chat';
  c.robustness.checked = e.robustness;
  c.modelType.value = e.modelInfo.type ?? 'sft';
  c.paperUrl.value = e.modelInfo.paperUrl ?? '';
  c.modelUrl.value = e.modelInfo.modelUrl ?? '';
  c.maxTokens.value = String(e.inference.maxTokens);
  c.temperature.value = String(e.inference.temperature);
  c.topP.value = String(e.inference.topP);
  c.systemPrompt.value = e.inference.systemPrompt ?? '';
  c.maxConcurrency.value = String(e.limits.maxConcurrency);
  c.maxRetryPerQuery.value = String(e.limits.maxRetryPerQuery);
  c.requestTimeoutMs.value = String(e.limits.requestTimeoutMs);
  c.acknowledge.checked = true;
}

/** The request body: optional fields left out when empty, numbers sent as numbers (the API does not coerce). */
function body(c) {
  const text = (el) => el.value.trim();
  const optional = (el) => (text(el) === '' ? undefined : text(el));
  const number = (el) => (text(el) === '' ? undefined : Number(text(el)));
  const defined = (o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  const inference = defined({
    maxTokens: number(c.maxTokens),
    temperature: number(c.temperature),
    topP: number(c.topP),
    systemPrompt: optional(c.systemPrompt),
  });
  const limits = defined({
    maxConcurrency: number(c.maxConcurrency),
    maxRetryPerQuery: number(c.maxRetryPerQuery),
    requestTimeoutMs: number(c.requestTimeoutMs),
  });
  return defined({
    domain: c.domain.value,
    modelName: text(c.modelName),
    description: optional(c.description),
    datasets: [...c.datasets.selectedOptions].map((o) => o.value),
    deployment: defined({
      method: 'api',
      endpoint: text(c.endpoint),
      onlineModelName: optional(c.onlineModelName),
      apiKey: optional(c.apiKey),
      apiMode: c.apiMode.value,
    }),
    robustness: c.robustness.checked,
    modelInfo: { type: c.modelType.value, paperUrl: optional(c.paperUrl) ?? null, modelUrl: optional(c.modelUrl) ?? null },
    acknowledgeNoTestAnnotations: c.acknowledge.checked,
    inference: Object.keys(inference).length ? inference : undefined,
    limits: Object.keys(limits).length ? limits : undefined,
  });
}

function clearErrors(form, summary) {
  mount(summary);
  for (const el of form.querySelectorAll('[data-error-for]')) el.textContent = '';
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
}

/**
 * Each field error beside its field (a nested name such as datasets.0 goes to its nearest field);
 * errors no field of the form names, and answers other than 400, in the summary at the top.
 */
export function showErrors(form, summary, error) {
  const unplaced = [];
  const errors = error instanceof ApiError && error.errors.length ? error.errors : [];
  let first = null;
  for (const { field, message } of errors) {
    const target = nearestField(form, field);
    if (!target) {
      unplaced.push(`${field} ${message}`);
      continue;
    }
    const slot = form.querySelector(`[data-error-for="${target}"]`);
    slot.textContent = slot.textContent ? `${slot.textContent} ${message}` : message;
    const control = form.querySelector(`[data-field="${target}"]`);
    control.setAttribute('aria-invalid', 'true');
    first ??= control;
  }
  if (!errors.length) unplaced.push(error.message);
  if (unplaced.length || errors.length) {
    mount(
      summary,
      h('p', {}, errors.length ? `The evaluation was not created: ${errors.length} field(s) to fix.` : 'The evaluation was not created.'),
      unplaced.length ? h('ul', {}, unplaced.map((m) => h('li', {}, m))) : null,
    );
  }
  (first ?? summary).focus();
}

function nearestField(form, field) {
  const parts = String(field).split('.');
  for (let n = parts.length; n > 0; n--) {
    const name = parts.slice(0, n).join('.');
    if (form.querySelector(`[data-field="${CSS.escape(name)}"]`)) return name;
  }
  return null;
}
