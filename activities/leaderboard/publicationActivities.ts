/**
 * Activities of a run's publication: open its submission window when it succeeds, record the
 * owner's submission, close the window when time runs out. Each is idempotent: the row's status
 * guards every move, and a retry finds its own earlier write.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityDeps } from '../activityDeps';
import { loadLeaderboardSettings } from '../../config/env';
import {
  type LeaderboardMode,
  type LeaderboardSubmissionResult,
  type PublicationStatus,
} from '../../contracts/leaderboard';
import { closePublicationWindow, openPublicationWindow, recordSubmission } from '../../db/queries/leaderboard';
import { appendRunLogs } from '../../db/queries/runLogs';
import { getRun } from '../../db/queries/runRecords';
import { ERROR_TYPES } from '../../temporal.config';

export interface OpenedWindow {
  /** False for runs that cannot be published (verifications, runs that did not succeed). */
  open: boolean;
  /** How long the window stays open from now: the worker's setting, fixed in history by this result. */
  windowMs: number;
}

export function createLeaderboardActivities(deps: ActivityDeps) {
  const { db, logger } = deps;
  const settings = deps.leaderboard ?? loadLeaderboardSettings();
  return {
    async openLeaderboardWindow({ runId }: { runId: string }): Promise<OpenedWindow> {
      // A custom image's metrics are its own: no leaderboard ranks them, so no window is offered.
      const { config } = await getRun(db, runId);
      if (config.scoring?.customImage) return { open: false, windowMs: 0 };
      // An inference-only run has no score to rank.
      if (config.inferenceOnly) return { open: false, windowMs: 0 };
      const row = await openPublicationWindow(db, runId, settings.windowMs);
      if (!row) return { open: false, windowMs: 0 };
      if (row.status !== 'open') return { open: false, windowMs: 0 };
      await appendRunLogs(db, [
        {
          runId,
          level: 'info',
          message: `leaderboard submission open until ${row.closesAt.toISOString()}: submit with POST /v1/runs/${runId}/leaderboard`,
          dedupeKey: 'leaderboard-open',
        },
      ]);
      // A retry after a crash keeps the window it first opened: what is left of it, not a new one.
      return { open: true, windowMs: Math.max(0, row.closesAt.getTime() - Date.now()) };
    },

    async recordLeaderboardSubmission({
      runId,
      mode,
      submittedBy,
    }: {
      runId: string;
      mode: LeaderboardMode;
      submittedBy: string;
    }): Promise<LeaderboardSubmissionResult> {
      const row = await recordSubmission(db, runId, mode, submittedBy);
      if (!row)
        throw ApplicationFailure.nonRetryable(
          `run ${runId} has no leaderboard submission window`,
          ERROR_TYPES.leaderboardWindowClosed,
        );
      if (row.status !== 'submitted')
        throw ApplicationFailure.nonRetryable(windowText(row.status), ERROR_TYPES.leaderboardWindowClosed);
      if (row.mode !== mode || row.submittedBy !== submittedBy) {
        throw ApplicationFailure.nonRetryable(
          `run ${runId} was already submitted (${row.mode})`,
          ERROR_TYPES.leaderboardAlreadySubmitted,
        );
      }
      await appendRunLogs(db, [
        {
          runId,
          level: 'info',
          message: `submitted to the ${row.domain} leaderboard (${mode})`,
          dedupeKey: 'leaderboard-submitted',
        },
      ]);
      logger.info({ runId, mode }, 'run submitted to the leaderboard');
      return { runId, mode, submittedAt: row.submittedAt!.toISOString() };
    },

    async closeLeaderboardWindow({ runId }: { runId: string }): Promise<{ status: PublicationStatus | null }> {
      const row = await closePublicationWindow(db, runId);
      if (row?.status === 'closed') {
        await appendRunLogs(db, [
          {
            runId,
            level: 'info',
            message: 'leaderboard submission window closed without a submission',
            dedupeKey: 'leaderboard-closed',
          },
        ]);
      }
      return { status: row?.status ?? null };
    },
  };
}

function windowText(status: PublicationStatus): string {
  return status === 'closed' ? 'the submission window has closed' : `the submission is ${status}`;
}

export type LeaderboardActivities = ReturnType<typeof createLeaderboardActivities>;
