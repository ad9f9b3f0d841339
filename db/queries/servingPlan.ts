/**
 * What a private run serves its model with: the evaluation's latest upload version, the image, the
 * GPUs. Launch reads the inputs here and freezes them into RunConfig.serving; activities read the
 * frozen plan and the upload version it pins.
 */
import { and, desc, eq } from 'drizzle-orm';
import type { Db } from '../client';
import { runs, uploadVersions } from '../schema';
import type { ServingPlan } from '../../contracts/run';
import type { PrivateDeployment } from '../../contracts/evaluation';
import type { Static } from '@sinclair/typebox';
import type { ImageRow } from './images';

export type UploadVersionRow = typeof uploadVersions.$inferSelect;

/** The newest upload version of the evaluation (the highest number), or null before the first upload. */
export async function latestUploadVersion(db: Db, evaluationId: string): Promise<UploadVersionRow | null> {
  const [row] = await db
    .select()
    .from(uploadVersions)
    .where(eq(uploadVersions.evaluationId, evaluationId))
    .orderBy(desc(uploadVersions.version))
    .limit(1);
  return row ?? null;
}

export async function getUploadVersion(db: Db, evaluationId: string, version: number): Promise<UploadVersionRow | null> {
  const [row] = await db
    .select()
    .from(uploadVersions)
    .where(and(eq(uploadVersions.evaluationId, evaluationId), eq(uploadVersions.version, version)))
    .limit(1);
  return row ?? null;
}

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

/** The run's frozen serving plan; null for a run of an API deployment or a run that does not exist. */
export async function getServingPlan(db: Db, runId: string): Promise<ServingPlan | null> {
  const [row] = await db.select({ config: runs.config }).from(runs).where(eq(runs.id, runId)).limit(1);
  return row?.config.serving ?? null;
}
