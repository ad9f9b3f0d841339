/* global Option */
/**
 * Between the evaluation form and the API: the request body the form makes (only what the domain's
 * form has; optional fields left out when empty; numbers sent as numbers, since the API does not
 * coerce), and the form filled in from an evaluation.
 */
const text = (el) => el.value.trim();
const optional = (el) => (text(el) === '' ? undefined : text(el));
const number = (el) => (text(el) === '' ? undefined : Number(text(el)));
const defined = (o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
const orNone = (o) => (Object.keys(o).length ? o : undefined);

/** `d` is the domain's entry of GET /v1/domains; `tasks` the evaluation-task chooser. */
export function requestBody(c, d, tasks) {
  const method = c.method.value;
  const deployment =
    method === 'api'
      ? defined({
          method,
          endpoint: text(c.endpoint),
          onlineModelName: optional(c.onlineModelName),
          apiKey: optional(c.apiKey),
          apiMode: c.apiMode.value,
        })
      : method === 'private'
        ? defined({
            method,
            imageId: c.imageId.value,
            gpuType: c.gpuType.value,
            gpuCount: number(c.gpuCount),
            priority: c.priority.value,
          })
        : { method };
  const finetune = d.privateProtocol === 'finetune';
  return defined({
    domain: c.domain.value,
    modelName: text(c.modelName),
    description: optional(c.description),
    datasets: [...c.datasets.selectedOptions].map((o) => o.value),
    deployment,
    robustness: d.robustness && c.robustness.checked,
    modelInfo: defined({
      type: d.modelTypes.length ? c.modelType.value : undefined,
      paperUrl: optional(c.paperUrl) ?? null,
      modelUrl: optional(c.modelUrl) ?? null,
    }),
    acknowledgeNoTestAnnotations: c.acknowledge.checked,
    backbone: d.tasks.length ? { tasks: tasks.chosen() } : undefined,
    inference: finetune
      ? undefined
      : orNone(
          defined({
            maxTokens: number(c.maxTokens),
            temperature: number(c.temperature),
            topP: number(c.topP),
            systemPrompt: optional(c.systemPrompt),
          }),
        ),
    limits: finetune
      ? undefined
      : orNone(
          defined({
            maxConcurrency: number(c.maxConcurrency),
            maxRetryPerQuery: number(c.maxRetryPerQuery),
            requestTimeoutMs: number(c.requestTimeoutMs),
          }),
        ),
  });
}

/** The form as the evaluation stands (the domain already chosen and its form shown). */
export function fillForm(c, tasks, e) {
  const d = e.deployment;
  c.modelName.value = e.modelName;
  c.modelName.readOnly = true;
  c.description.value = e.description;
  if (e.backbone) tasks.set(e.backbone.tasks);
  c.method.value = d.method;
  if (d.method === 'api') {
    c.endpoint.value = d.endpoint;
    c.onlineModelName.value = d.onlineModelName ?? '';
    c.apiMode.value = d.apiMode ?? 'chat';
  } else if (d.method === 'private') {
    // The stored image may no longer be listed (taken down, or no longer serving the domain): kept as an option, so
    // saving other fields does not change it and the API says what is wrong with it.
    if (![...c.imageId.options].some((o) => o.value === d.imageId))
      c.imageId.append(new Option(`${d.imageId} (stored; not an approved image of this domain now)`, d.imageId));
    c.imageId.value = d.imageId;
    c.gpuType.value = d.gpuType;
    c.gpuCount.value = String(d.gpuCount);
    c.priority.value = d.priority;
  }
  c.robustness.checked = e.robustness;
  if (e.modelInfo.type) c.modelType.value = e.modelInfo.type;
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
