/* global window */
/**
 * [Create Evaluation] and [Edit] for every domain. The form is built from the domain table the API
 * serves (GET /v1/domains): the deployment methods the domain takes, which API fields it requires,
 * its model types, robustness where offered, CV and Audio's evaluation tasks with their adaptation
 * methods, its model-name rule beside the field. Datasets, images and GPU types come from their own
 * lists, filtered to the domain (and, for CV and Audio, to the tasks chosen). The API is the judge of
 * every rule; its 400s are placed on the fields they name (formFields.js).
 */
import { api } from './api.js';
import { h, mount } from './dom.js';
import { clearErrors, field, input, select, setOptions, showErrors } from './formFields.js';
import { backboneTasks } from './backboneTasks.js';
import { requestBody, fillForm } from './evaluationBody.js';

const METHOD_LABELS = {
  api: 'API',
  private: 'Private deployment (upload model and code)',
  predictions: 'Uploaded predictions',
};
const SHORT_METHODS = { api: 'API', private: 'private deployment', predictions: 'uploaded predictions' };
const PROTOCOL_WORDS = {
  func: 'your model server answering POST /func',
  'run-script': 'a job running your run.sh against the platform’s data server',
  finetune: 'the platform fine-tunes its preset heads on your frozen backbone',
};

export function renderCreateEvaluation(main, _params, me) {
  return renderForm(main, null, me.id);
}

/** [Edit]: the same form filled in from the evaluation; model name and domain cannot change. */
export async function renderEditEvaluation(main, [id]) {
  const evaluation = await api('GET', `/v1/evaluations/${id}`);
  return renderForm(main, evaluation, evaluation.ownerId);
}

/** `ownerId`: whose evaluation it is; only the preloaded images and the owner's own may be used (an admin sees everyone's). */
async function renderForm(main, evaluation, ownerId) {
  const editing = evaluation !== null;
  const [domains, datasets, images, resources] = await Promise.all([
    api('GET', '/v1/domains'),
    api('GET', '/v1/datasets'),
    api('GET', '/v1/images?status=approved'),
    api('GET', '/v1/resources'),
  ]);
  const table = new Map(domains.items.map((d) => [d.domain, d]));
  const summary = h('div', { id: 'form-errors', role: 'alert', tabindex: '-1' });
  const tasks = backboneTasks(() => showDatasets());
  const c = {
    domain: select(
      domains.items.map((d) => [
        d.domain,
        d.unavailable ? `${d.label} (not available: ${d.unavailable})` : d.label,
        d.unavailable !== null,
      ]),
    ),
    modelName: input({ required: true, autocomplete: 'off' }),
    description: h('textarea', { rows: 2, maxlength: 256 }),
    datasets: select([], { multiple: true, size: 6, required: true }),
    robustness: h('input', { type: 'checkbox' }),
    method: select([]),
    endpoint: input({ type: 'url', placeholder: 'https://host/v1' }),
    onlineModelName: input({ autocomplete: 'off' }),
    apiKey: input({ type: 'password', autocomplete: 'off' }),
    apiMode: select([
      ['chat', 'chat (/chat/completions)'],
      ['completion', 'completion (/completions)'],
    ]),
    imageId: select([]),
    gpuType: select(
      resources.items.map((t) => [t.id, `${t.label} (${t.id}): ${t.free} of ${t.total} free, ${t.queued} queued`]),
    ),
    gpuCount: input({ type: 'number', inputmode: 'numeric', min: 1, max: 8, value: '1' }),
    priority: select([
      ['medium', 'medium'],
      ['high', 'high'],
      ['low', 'low'],
    ]),
    modelType: select([]),
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
  const domainRules = h('span', { id: 'domain-rules', 'aria-live': 'polite' });
  const nameRule = h('span', { id: 'model-name-rule' });
  const w = {
    domain: field('domain', 'Evaluation domain', c.domain, domainRules),
    modelName: field('modelName', 'Model name', c.modelName, nameRule),
    robustness: field('robustness', 'Also evaluate robustness (a second pass over perturbed prompts)', c.robustness),
    onlineModelName: field('deployment.onlineModelName', 'Online model name', c.onlineModelName),
    apiKey: field('deployment.apiKey', 'API key of the model service', c.apiKey, keyHint(evaluation)),
    modelType: field('modelInfo.type', 'Model type', c.modelType),
  };
  const apiPart = h(
    'fieldset',
    { id: 'api-deployment' },
    h('legend', {}, 'API deployment'),
    field('deployment.endpoint', 'API endpoint', c.endpoint, 'The OpenAI-compatible base URL, e.g. https://host/v1.'),
    w.onlineModelName,
    w.apiKey,
    field('deployment.apiMode', 'API mode', c.apiMode),
  );
  const privatePart = h(
    'fieldset',
    { id: 'private-deployment' },
    h('legend', {}, 'Private deployment'),
    h('p', { id: 'private-protocol', class: 'hint' }),
    field(
      'deployment.imageId',
      'Image',
      c.imageId,
      'Approved images that serve this domain: the preloaded ones and your own (Images).',
    ),
    field(
      'deployment.gpuType',
      'GPU type',
      c.gpuType,
      'Units free now; a run waits in the type’s queue when none is free.',
    ),
    field('deployment.gpuCount', 'GPU count', c.gpuCount, '1 to 8 units of the type (one slot of a CPU-only type).'),
    field('deployment.priority', 'Priority', c.priority, 'Queued runs start higher priority first, then oldest first.'),
    h(
      'p',
      { class: 'hint' },
      'After saving, the evaluation’s page gives an upload token and the command that uploads your model and code.',
    ),
  );
  const predictionsPart = h(
    'fieldset',
    { id: 'predictions-deployment' },
    h('legend', {}, 'Uploaded predictions'),
    h(
      'p',
      { class: 'hint' },
      'No model is called: after saving, upload each dataset’s answers (PUT /v1/evaluations/{id}/predictions/{datasetId}); runs score them.',
    ),
  );
  const inferencePart = h(
    'fieldset',
    { id: 'inference' },
    h('legend', {}, 'Inference and limits (optional; empty fields take the defaults shown)'),
    field('inference.maxTokens', 'Max tokens', c.maxTokens, '1 to 131,072.'),
    field('inference.temperature', 'Temperature', c.temperature, '0 to 2.'),
    field('inference.topP', 'Top p', c.topP, '0 to 1.'),
    field('inference.systemPrompt', 'System prompt', c.systemPrompt),
    field('limits.maxConcurrency', 'Max concurrency', c.maxConcurrency, '1 to 512 requests at once.'),
    field('limits.maxRetryPerQuery', 'Retries per query', c.maxRetryPerQuery, '0 to 16.'),
    field('limits.requestTimeoutMs', 'Request timeout (ms)', c.requestTimeoutMs, '100 to 3,600,000.'),
  );

  const current = () => table.get(c.domain.value);

  function showDatasets() {
    const d = current();
    const chosenTasks = new Set(tasks.chosen().map((t) => t.task));
    const offered = datasets.items.filter(
      (x) => x.domain === d.domain && x.source !== 'image' && (d.tasks.length === 0 || chosenTasks.has(x.task)),
    );
    setOptions(
      c.datasets,
      offered.map((x) => [x.id, `${x.id} — ${x.task}, ${x.size} items, ${x.metric}${x.builtin ? '' : ' (yours)'}`]),
    );
    c.datasets.size = Math.min(8, Math.max(3, offered.length));
  }

  function showMethod() {
    const method = c.method.value;
    apiPart.hidden = method !== 'api';
    privatePart.hidden = method !== 'private';
    predictionsPart.hidden = method !== 'predictions';
  }

  function showDomain() {
    const d = current();
    domainRules.textContent = rulesInWords(d);
    nameRule.textContent = `Rule of domain ${d.label}: ${d.modelName.rule}; unique on the platform.`;
    setOptions(
      c.method,
      d.deploymentMethods.map((m) => [m, METHOD_LABELS[m]]),
    );
    const required = (name) => d.apiRequires.includes(name);
    w.onlineModelName.querySelector('label').textContent =
      `Online model name (${required('onlineModelName') ? 'required' : 'optional'})`;
    w.apiKey.querySelector('label').textContent =
      `API key of the model service (${required('apiKey') ? 'required' : 'optional'})`;
    c.onlineModelName.required = required('onlineModelName');
    c.apiKey.required = required('apiKey') && !(editing && evaluation.deployment.apiKeySet);
    w.robustness.hidden = !d.robustness;
    if (!d.robustness) c.robustness.checked = false;
    setOptions(
      c.modelType,
      d.modelTypes.map((t) => [t, t === 'sft' ? 'SFT' : t === 'base' ? 'Base' : 'Backbone']),
    );
    w.modelType.hidden = d.modelTypes.length === 0;
    tasks.element.hidden = d.tasks.length === 0;
    tasks.render(d.tasks);
    inferencePart.hidden = d.privateProtocol === 'finetune';
    privatePart.querySelector('#private-protocol').textContent = d.privateProtocol
      ? `How it runs: ${PROTOCOL_WORDS[d.privateProtocol]}.`
      : '';
    const usable = images.items.filter(
      (i) => i.domains.includes(d.domain) && (i.source === 'platform' || i.ownerId === ownerId),
    );
    setOptions(
      c.imageId,
      usable.length
        ? usable.map((i) => [i.id, `${i.name}:${i.tag}${i.source === 'platform' ? ' (preloaded)' : ''}`])
        : [['', `No approved image serves ${d.label}`]],
    );
    showDatasets();
    showMethod();
  }

  c.domain.addEventListener('change', showDomain);
  c.method.addEventListener('change', showMethod);

  const form = h(
    'form',
    { id: 'create-evaluation-form', novalidate: true },
    summary,
    h(
      'fieldset',
      {},
      h('legend', {}, 'Basic information'),
      w.domain,
      w.modelName,
      field('description', 'Description (optional)', c.description, 'At most 256 characters.'),
      tasks.element,
      field(
        'datasets',
        'Datasets',
        c.datasets,
        'Choose one or more (Ctrl or Shift to select several). CV and Audio list the chosen tasks’ datasets.',
      ),
      w.robustness,
    ),
    h(
      'fieldset',
      {},
      h('legend', {}, 'Deployment'),
      field('deployment.method', 'Deployment method', c.method),
      apiPart,
      privatePart,
      predictionsPart,
    ),
    h(
      'fieldset',
      {},
      h('legend', {}, 'Model information'),
      w.modelType,
      field('modelInfo.paperUrl', 'Paper link (optional)', c.paperUrl),
      field('modelInfo.modelUrl', 'Model link (optional)', c.modelUrl),
    ),
    inferencePart,
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

  if (editing) {
    c.domain.value = evaluation.domain;
    c.domain.disabled = true;
  } else {
    c.domain.value = domains.items.find((d) => d.unavailable === null)?.domain ?? 'nlp';
  }
  showDomain();
  if (editing) {
    fillForm(c, tasks, evaluation);
    showDatasets();
    for (const option of c.datasets.options) option.selected = evaluation.datasets.includes(option.value);
    showMethod();
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form, summary);
    tasks.assignPaths();
    const submit = form.querySelector('#submit');
    submit.disabled = true;
    try {
      const sent = requestBody(c, current(), tasks);
      if (editing) {
        // Model name and domain cannot change: they are not sent.
        const { domain: _domain, modelName: _name, ...changes } = sent;
        await api('PATCH', `/v1/evaluations/${evaluation.id}`, changes);
        window.location.hash = `#/evaluations/${evaluation.id}`;
        return;
      }
      const created = await api('POST', '/v1/evaluations', sent);
      window.location.hash = `#/evaluations/${created.id}`;
    } catch (error) {
      showErrors(form, summary, error, editing ? 'saved' : 'created');
    } finally {
      submit.disabled = false;
    }
  });

  mount(main, h('h1', {}, editing ? `Edit ${evaluation.modelName}` : 'Create Evaluation'), form);
}

function keyHint(evaluation) {
  if (evaluation === null || evaluation.deployment.method !== 'api') return 'Stored encrypted; never shown again.';
  return `Stored encrypted; never shown again. ${evaluation.deployment.apiKeySet ? 'Leave empty to keep the stored key (kept while the endpoint stays on the same host).' : 'None is stored.'}`;
}

/** The domain's rules in a sentence, from the table. */
function rulesInWords(d) {
  const methods = d.deploymentMethods.map((m) => SHORT_METHODS[m]).join(', ');
  const api = d.deploymentMethods.includes('api')
    ? ` An API deployment ${d.apiRequires.length ? `requires ${d.apiRequires.map((r) => (r === 'apiKey' ? 'the API key' : 'the online model name')).join(' and ')}` : 'requires only its endpoint'}.`
    : '';
  const types = d.modelTypes.length ? `Model type: ${d.modelTypes.join(' or ')}.` : 'No model type.';
  return (
    `${d.label}: deployment ${d.deploymentMethods.length === 1 ? 'by ' : 'by one of '}${methods}.${api} ${types} ` +
    `${d.robustness ? 'Robustness optional.' : 'Accuracy only (no robustness).'} ` +
    `${d.verification ? 'Inference verification available.' : 'No inference verification: launch a formal run.'}` +
    `${d.tasks.length ? ' Choose the evaluation tasks, each with its adaptation method.' : ''}`
  );
}
