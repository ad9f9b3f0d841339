/**
 * The rules of a private deployment that its schema cannot state: the image is one the evaluation's
 * owner may use for its domain, and the GPU type and count are ones the container hosts can give.
 * Whether the domain takes private deployment at all is checked by checkDeployment
 * (api/rules/evaluationRules.ts); these run after it. Launch applies the same rules again, since images
 * are reviewed and hosts reconfigured after an evaluation is written.
 */
import type { Db } from '../../db/client';
import type { FieldError } from '../../contracts/problem';
import type { Domain } from '../../contracts/domain';
import type { GpuType } from '../../contracts/resources';
import type { UploadCheckReport } from '../../contracts/upload';
import { getImage, type ImageRow } from '../../db/queries/images';

export interface PrivateDeploymentFields {
  imageId: string;
  gpuType: string;
  gpuCount: number;
}

/**
 * Why the owner's evaluation of this domain cannot use the image, or null when it can: preloaded
 * or the owner's own, approved (and not taken down since), and serving the domain.
 */
export function imageRefusal(
  image: ImageRow | null,
  imageId: string,
  ownerId: string,
  /** The evaluation's domain, which the image must serve; null for an evaluation image, which serves none. */
  domain: Domain | null,
): string | null {
  // Another user's image is answered as if it did not exist: ids must not tell "someone else's" from "missing".
  if (!image || (image.source !== 'platform' && image.ownerId !== ownerId))
    return `names no image ("${imageId}"); choose one from GET /v1/images`;
  if (image.status === 'pending')
    return `names image ${image.name}:${image.tag}, which is pending review; it can be used once an admin approves it`;
  if (image.status === 'rejected') {
    return `names image ${image.name}:${image.tag}, which was rejected${image.rejectReason ? ` (${image.rejectReason})` : ''}; fix it and import it again`;
  }
  if (image.status === 'taken-down') {
    return `names image ${image.name}:${image.tag}, which was taken down by an admin${image.takedownReason ? `: ${image.takedownReason}` : ''}; choose another image from GET /v1/images`;
  }
  // Only approved is usable: a status this rule does not know yet is refused, not let through.
  if (image.status !== 'approved') return `names image ${image.name}:${image.tag}, which is ${image.status}`;
  if (domain !== null && !image.domains.includes(domain)) {
    return `names image ${image.name}:${image.tag}, which serves ${image.domains.join(', ') || 'no domain'}, not ${domain}`;
  }
  return null;
}

/** The GPU type is configured and has at least as many units as asked for. */
export function gpuErrors(deployment: PrivateDeploymentFields, gpuTypes: readonly GpuType[]): FieldError[] {
  const type = gpuTypes.find((t) => t.id === deployment.gpuType);
  if (!type) {
    return [
      {
        field: 'deployment.gpuType',
        message: `must be one of ${gpuTypes.map((t) => `${t.id} (${t.label})`).join(', ')}; see GET /v1/resources`,
      },
    ];
  }
  if (deployment.gpuCount > type.total) {
    return [
      {
        field: 'deployment.gpuCount',
        message: `must be at most ${type.total}: the container hosts have ${type.total} unit${type.total === 1 ? '' : 's'} of ${type.id} in all`,
      },
    ];
  }
  return [];
}

export async function checkPrivateDeployment(
  db: Db,
  evaluation: { ownerId: string; domain: Domain },
  deployment: PrivateDeploymentFields,
  gpuTypes: readonly GpuType[],
): Promise<FieldError[]> {
  const image = await getImage(db, deployment.imageId);
  const refusal = imageRefusal(image, deployment.imageId, evaluation.ownerId, evaluation.domain);
  return [...(refusal ? [{ field: 'deployment.imageId', message: refusal }] : []), ...gpuErrors(deployment, gpuTypes)];
}

export interface ServingInputs {
  evaluationId: string;
  ownerId: string;
  domain: Domain;
  deployment: PrivateDeploymentFields;
  image: ImageRow | null;
  /** The evaluation's latest upload version and its check report; null before the first upload. */
  upload: { version: number; check: UploadCheckReport } | null;
  gpuTypes: readonly GpuType[];
}

/**
 * Why a private run cannot be launched now, every reason at once; empty when it can. The upload
 * must exist and have passed its check, the GPUs asked for must fit the model's size (seed:
 * ≤ 7B: 1, ≤ 20B: 4, > 20B: 8) and the hosts, and the image must still be usable.
 */
export function servingRefusals(inputs: ServingInputs): FieldError[] {
  const { deployment, upload } = inputs;
  const errors: FieldError[] = [];
  if (!upload) {
    errors.push({
      field: 'upload',
      message: `is missing: upload model and code first (POST /v1/evaluations/${inputs.evaluationId}/upload-token, then \`proctor upload\`)`,
    });
  } else if (!upload.check.ok) {
    const problems =
      upload.check.problems.length > 0
        ? upload.check.problems
        : [{ path: '', rule: 'check', message: 'failed its check' }];
    for (const problem of problems) {
      errors.push({
        field: 'upload',
        message: `version ${upload.version}: ${problem.path || '(root)'}: ${problem.message}; fix it and upload again`,
      });
    }
  } else if (upload.check.maxGpus !== null && deployment.gpuCount > upload.check.maxGpus) {
    errors.push({
      field: 'deployment.gpuCount',
      message:
        `must be at most ${upload.check.maxGpus} for this model: the platform allows ≤ 7B: 1, ≤ 20B: 4, > 20B: 8 GPUs, ` +
        `and this model is ${upload.check.parameterScaleBillion} B (meta.json of upload version ${upload.version})`,
    });
  }
  const refusal = imageRefusal(inputs.image, deployment.imageId, inputs.ownerId, inputs.domain);
  if (refusal) errors.push({ field: 'deployment.imageId', message: refusal });
  errors.push(
    ...gpuErrors(deployment, inputs.gpuTypes).filter((e) => !errors.some((known) => known.field === e.field)),
  );
  return errors;
}
