/**
 * What a private run serves its model with: the evaluation's latest upload version (see
 * uploads.ts), the image, the GPUs, frozen into RunConfig.serving at launch.
 */
import type { ServingPlan } from '../../contracts/run';
import type { PrivateDeployment } from '../../contracts/evaluation';
import type { Static } from '@sinclair/typebox';
import type { ImageRow } from './images';
import type { UploadVersionRow } from './uploads';

/** The plan a launch freezes, from the inputs the launch checked. */
export function freezeServingPlan(
  deployment: Static<typeof PrivateDeployment>,
  image: Pick<ImageRow, 'id' | 'runRef'>,
  upload: Pick<UploadVersionRow, 'version' | 'storagePath'>,
): ServingPlan {
  return {
    imageId: image.id,
    imageRef: image.runRef,
    uploadVersion: upload.version,
    uploadPath: upload.storagePath,
    priority: deployment.priority,
    gpuType: deployment.gpuType,
    gpuCount: deployment.gpuCount,
  };
}
