/**
 * Queues the mail that tells a run's owner it has ended. finishRun calls it once the run is closed;
 * the mail's dedupe key (one per run) makes a retried finishRun queue nothing more. Only the outbox
 * is written here: delivery is the mail dispatcher's, so a mail server that is down cannot fail or
 * delay the run. Database errors are left to the activity's retries, like every other write of finishRun.
 */
import type { ActivityDeps } from '../activityDeps';
import { loadMailSettings } from '../../config/env';
import { getRunWithEvaluation, listRunDatasets } from '../../db/queries/runRecords';
import { findRecipient, queueNotification } from '../../db/queries/notifications';
import { runEndedMail, type RunEndedFacts } from '../../notifications/runEndedMail';

export interface RunEndedNoticeOptions {
  /** Mail verification runs too; by default PROCTOR_NOTIFY_VERIFICATIONS, read once per process. */
  notifyVerifications?: boolean;
}

let notifyVerificationsSetting: boolean | undefined;

export async function queueRunEndedMail(
  { db, logger }: Pick<ActivityDeps, 'db' | 'logger'>,
  runId: string,
  options: RunEndedNoticeOptions = {},
): Promise<boolean> {
  const { run, modelName } = await getRunWithEvaluation(db, runId);
  if (run.status !== 'succeeded' && run.status !== 'failed' && run.status !== 'stopped') return false;
  const notifyVerifications =
    options.notifyVerifications ?? (notifyVerificationsSetting ??= loadMailSettings(process.env).notifyVerifications);
  if (run.type === 'verification' && !notifyVerifications) return false;
  const recipient = await findRecipient(db, run.ownerId);
  if (!recipient) return false;
  const datasets = await listRunDatasets(db, runId);
  const facts: RunEndedFacts = {
    runId,
    evaluationId: run.evaluationId,
    modelName,
    type: run.type,
    version: run.version,
    status: run.status,
    overallScore: run.overallScore,
    taskScores: run.taskScores ?? [],
    datasets: datasets.map((d) => ({
      datasetId: d.datasetId,
      task: d.task,
      status: d.status,
      total: d.total,
      done: d.done,
      failed: d.failed,
      score: d.metrics?.score ?? null,
      error: d.error,
    })),
    startedAt: run.startedAt,
    endedAt: run.endedAt,
    error: run.error,
    ...(run.config.inferenceOnly ? { inferenceOnly: true } : {}),
  };
  let mail;
  try {
    mail = runEndedMail(facts, recipient);
  } catch (error) {
    // A mail that cannot be composed is a bug to fix, not a reason to keep the run from closing.
    logger.error({ err: error, runId }, 'could not compose the run-ended mail; none will be sent');
    return false;
  }
  const queued = await queueNotification(db, mail);
  if (queued) logger.info({ runId, notification: mail.kind }, 'run-ended mail queued');
  return queued;
}
