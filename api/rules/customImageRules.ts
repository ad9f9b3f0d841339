/**
 * Whether an evaluation may be scored by a custom image: the image is one its owner may use, and
 * there is a model for the image to call. Checked when the scoring configuration is stored and
 * again at launch, since images are reviewed and deployments edited after it is written.
 */
import { isRunScript, RUN_SCRIPT_CUSTOM_IMAGE } from './multimodalRules';
import type { Domain } from '../../contracts/domain';
import type { FieldError } from '../../contracts/problem';
import type { CustomImageConfig } from '../../contracts/scoringConfig';
import type { ImageRow } from '../../db/queries/images';
import { imageRefusal } from './privateDeploymentRules';

export function customImageErrors(
  image: ImageRow | null,
  custom: Pick<CustomImageConfig, 'imageId'>,
  evaluation: { ownerId: string; domain: Domain; deployment: { method: string } },
): FieldError[] {
  const errors: FieldError[] = [];
  if (isRunScript(evaluation)) errors.push({ field: 'customImage', message: RUN_SCRIPT_CUSTOM_IMAGE });
  if (evaluation.deployment.method === 'predictions')
    errors.push({
      field: 'customImage',
      message:
        'cannot score an evaluation-only (predictions) deployment: the image evaluates a model it calls, and there is none',
    });
  // Domain null: catalogue domains say which private deployments an image serves, and an evaluation
  // image serves none (nor can any image be imported for an API-only domain such as safety).
  const refusal = imageRefusal(image, custom.imageId, evaluation.ownerId, null);
  if (refusal) errors.push({ field: 'customImage.imageId', message: refusal });
  return errors;
}
