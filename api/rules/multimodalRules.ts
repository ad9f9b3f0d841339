/**
 * What a multimodal deployment can evaluate (docs/multimodal.md): a run.sh deployment answers the
 * multimodal tasks' datasets and nothing else; visual questions also go to a chat endpoint (with
 * their pictures as content parts); retrieval and text to image need run.sh. A custom image calls a
 * model over HTTP, which a run.sh deployment is not. Checked when an evaluation is created or
 * edited, when its scoring names a custom image, and again at launch; each refusal names its field.
 */
import type { FieldError } from '../../contracts/problem';
import { PRIVATE_PROTOCOL_BY_DOMAIN, type Domain } from '../../contracts/domain';
import { isMultimodalMetric, MULTIMODAL_METRICS, type MetricName } from '../../contracts/dataset';

export interface DeploymentShape {
  domain: Domain;
  deployment: { method: string; apiMode?: string };
}

export function isRunScript(e: DeploymentShape): boolean {
  return e.deployment.method === 'private' && PRIVATE_PROTOCOL_BY_DOMAIN[e.domain] === 'run-script';
}

export const RUN_SCRIPT_CUSTOM_IMAGE =
  'a custom evaluation image calls a model over HTTP, and a multimodal private deployment is a run.sh job with no HTTP service; use an API deployment or remove customImage from the scoring configuration';

/** The evaluation's datasets (in its order) that its deployment cannot answer; none when a custom image scores them. */
export function multimodalDatasetErrors(
  e: DeploymentShape,
  datasets: readonly { id: string; metric: MetricName; source?: string }[],
): FieldError[] {
  const runScript = isRunScript(e);
  return datasets.flatMap((d, index): FieldError[] => {
    const field = `datasets[${index}]`;
    if (d.source === 'image') return [];
    if (runScript)
      return isMultimodalMetric(d.metric)
        ? []
        : [
            {
              field,
              message: `dataset ${d.id} is scored by ${d.metric}; a multimodal private deployment (run.sh) answers datasets of the tasks vqa, retrieval and t2i (metrics ${MULTIMODAL_METRICS.join(', ')})`,
            },
          ];
    if (!isMultimodalMetric(d.metric)) return [];
    // A visual question goes to a chat endpoint with its pictures as content parts.
    if (d.metric === 'vqa_accuracy' && e.deployment.method === 'api')
      return (e.deployment.apiMode ?? 'chat') === 'chat'
        ? []
        : [
            {
              field: 'deployment.apiMode',
              message: `dataset ${d.id} asks questions about pictures, which only a chat endpoint takes (as content parts); set deployment.apiMode to chat`,
            },
          ];
    return [
      {
        field,
        message:
          `dataset ${d.id} (${d.metric}) is answered through the multimodal data server, which only a multimodal private deployment (checkpoint.pth and run.sh) uses; ` +
          `${e.deployment.method === 'predictions' ? 'uploaded predictions' : 'an API deployment'} cannot be evaluated on it`,
      },
    ];
  });
}
