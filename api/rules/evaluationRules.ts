/**
 * The rules of an evaluation that its schema cannot state: the domain's model-name rule and the
 * name's uniqueness, datasets the owner can see and that belong to the domain, the deployment
 * methods the domain takes, URLs that really are URLs, a private deployment's image and GPUs
 * (api/rules/privateDeploymentRules.ts), and the acknowledgement. Each check returns
 * every violation it finds, so a client fixes a form in one round trip.
 */
import { multimodalDatasetErrors, type DeploymentShape } from './multimodalRules';
import type { Db } from '../../db/client';
import type { FieldError } from '../../contracts/problem';
import { DOMAIN_RULES, MODEL_NAME_RULES, type Domain } from '../../contracts/domain';
import type { Deployment, ModelInfo } from '../../contracts/evaluation';
import { getVisibleDatasets } from '../../db/queries/datasets';
import { unavailableBuiltinReason } from './unavailableDatasets';
import { isModelNameTaken } from '../../db/queries/evaluations';
import type { GpuType } from '../../contracts/resources';
import { checkPrivateDeployment } from './privateDeploymentRules';
import type { EndpointNetworkPolicy } from '../../config/endpointNetworks';
import { backboneDatasetErrors } from './backboneRules';

export const NAME_TAKEN = 'is already taken (model names are unique across the platform, regardless of case)';

export async function checkModelName(db: Db, domain: Domain, modelName: string): Promise<FieldError[]> {
  const rule = MODEL_NAME_RULES[domain];
  if (!rule.pattern.test(modelName))
    return [{ field: 'modelName', message: `${rule.rule} (rule of domain ${domain})` }];
  return (await isModelNameTaken(db, modelName)) ? [{ field: 'modelName', message: NAME_TAKEN }] : [];
}

/**
 * Datasets as the evaluation's owner sees them (an admin editing someone's evaluation gets no
 * wider choice), since runs of the evaluation read them as the owner.
 */
export async function checkDatasets(
  db: Db,
  ownerId: string,
  domain: Domain,
  ids: readonly string[],
): Promise<FieldError[]> {
  const visible = new Map(
    (await getVisibleDatasets(db, { userId: ownerId, isAdmin: false }, ids)).map((d) => [d.id, d]),
  );
  return ids.flatMap((id, index): FieldError[] => {
    const dataset = visible.get(id);
    if (!dataset)
      return [{ field: `datasets[${index}]`, message: unavailableBuiltinReason(id) ?? `unknown dataset "${id}"` }];
    if (dataset.domain !== domain)
      return [{ field: `datasets[${index}]`, message: `belongs to domain ${dataset.domain}, not ${domain}` }];
    return [];
  });
}

/**
 * The multimodal rules (multimodalRules.ts) for the datasets and deployment the evaluation will
 * have; call once the datasets are known to be visible.
 */
export async function checkDatasetsFit(
  db: Db,
  ownerId: string,
  evaluation: DeploymentShape,
  ids: readonly string[],
): Promise<FieldError[]> {
  const byId = new Map((await getVisibleDatasets(db, { userId: ownerId, isAdmin: false }, ids)).map((d) => [d.id, d]));
  return multimodalDatasetErrors(
    evaluation,
    ids.flatMap((id) => {
      const d = byId.get(id);
      return d ? [{ id, metric: d.metric, source: d.source }] : [];
    }),
  );
}

/** A backbone evaluation's datasets against its tasks (backboneRules.ts); call once the datasets are visible. */
export async function checkBackboneDatasets(
  db: Db,
  ownerId: string,
  tasks: readonly { task: string }[],
  ids: readonly string[],
): Promise<FieldError[]> {
  const visible = await getVisibleDatasets(db, { userId: ownerId, isAdmin: false }, ids);
  return backboneDatasetErrors(tasks, visible, ids);
}

export function checkDeployment(
  domain: Domain,
  deployment: Deployment,
  networks?: EndpointNetworkPolicy,
): FieldError[] {
  // A method the domain does not take is the domain rules' refusal (domainRules.ts); uploaded
  // predictions need nothing more (docs/evaluation-modes.md).
  if (!DOMAIN_RULES[domain].deploymentMethods.includes(deployment.method)) return [];
  if (deployment.method === 'predictions') return [];
  if (deployment.method === 'api' && !isHttpUrl(deployment.endpoint)) {
    return [{ field: 'deployment.endpoint', message: 'must be an http(s) URL with a host, e.g. http://host:8000/v1' }];
  }
  const refused = deployment.method === 'api' && networks ? refusedEndpoint(deployment.endpoint, networks) : null;
  return refused ? [{ field: 'deployment.endpoint', message: refused }] : [];
}

/**
 * Why a user-named URL may not be called, when its host is an address in a refused network; null
 * otherwise. A host name is checked where it is resolved, by the worker as it connects.
 */
export function refusedEndpoint(url: string, networks: EndpointNetworkPolicy): string | null {
  let hostname: string;
  try {
    hostname = new URL(url).hostname;
  } catch {
    return null;
  }
  const refused = networks.refusingHost(hostname);
  return refused
    ? `must not point at ${refused.address}, which is in a network this platform does not call (${refused.network})`
    : null;
}

/** Only a method the domain takes is checked further (a private one against images and GPU types). */
export async function checkDeploymentOf(
  db: Db,
  evaluation: { ownerId: string; domain: Domain },
  deployment: Deployment,
  gpuTypes: readonly GpuType[],
  networks?: EndpointNetworkPolicy,
): Promise<FieldError[]> {
  const errors = checkDeployment(evaluation.domain, deployment, networks);
  if (errors.length > 0 || deployment.method !== 'private') return errors;
  if (!DOMAIN_RULES[evaluation.domain].deploymentMethods.includes('private')) return [];
  return checkPrivateDeployment(db, evaluation, deployment, gpuTypes);
}

export function checkModelInfo(modelInfo: ModelInfo): FieldError[] {
  return (['paperUrl', 'modelUrl'] as const).flatMap((key): FieldError[] => {
    const url = modelInfo[key];
    return url != null && !isHttpUrl(url)
      ? [{ field: `modelInfo.${key}`, message: 'must be an http(s) URL with a host' }]
      : [];
  });
}

/** The seed's checkbox: test-set annotations were not used in training or in submitted results. */
export function checkAcknowledgement(acknowledged: boolean | undefined): FieldError[] {
  return acknowledged === false ? [{ field: 'acknowledgeNoTestAnnotations', message: 'must be true' }] : [];
}

const FORM_ORDER = [
  'domain',
  'modelName',
  'description',
  'backbone',
  'datasets',
  'deployment',
  'robustness',
  'modelInfo',
  'acknowledgeNoTestAnnotations',
  'inference',
  'limits',
];

/** Errors in the order of the form's fields (stable within a field), as a client shows them. */
export function inFormOrder(errors: readonly FieldError[]): FieldError[] {
  const rank = (field: string) => {
    const at = FORM_ORDER.indexOf(field.split(/[.[]/)[0]!);
    return at < 0 ? FORM_ORDER.length : at;
  };
  return errors
    .map((error, i) => ({ error, i }))
    .sort((a, b) => rank(a.error.field) - rank(b.error.field) || a.i - b.i)
    .map((e) => e.error);
}

export function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}

/** Scheme, host and port: where a stored API key would be sent. */
export function endpointOrigin(endpoint: string): string | null {
  try {
    return new URL(endpoint).origin;
  } catch {
    return null;
  }
}
