/**
 * A formal run's publication. When the run succeeds its workflow opens a submission window and
 * starts this one (abandoned, so the run's own workflow closes as before); it waits for the owner's
 * `submitToLeaderboard` update until the window closes. The validator refuses a second submission
 * and one after the window closed, so a refused update leaves no trace in history.
 */
import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  ParentClosePolicy,
  proxyActivities,
  setHandler,
  startChild,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { ERROR_TYPES, ACTIVITY_OPTIONS, workflowIds } from '../temporal.config';
import { submitToLeaderboardUpdate } from '../contracts/workflow';
import { LEADERBOARD_MODES, type LeaderboardWindowInput, type LeaderboardWindowResult } from '../contracts/leaderboard';
import type { LeaderboardActivities } from '../activities/leaderboard/publicationActivities';

const publication = proxyActivities<LeaderboardActivities>(ACTIVITY_OPTIONS.control);

export async function leaderboardWindow({ runId, windowMs }: LeaderboardWindowInput): Promise<LeaderboardWindowResult> {
  // 'submitting' from the moment an update is accepted: a second one is refused while the first is stored.
  let state = 'open' as 'open' | 'submitting' | 'submitted' | 'closed';
  setHandler(
    submitToLeaderboardUpdate,
    async ({ mode, submittedBy }) => {
      state = 'submitting';
      try {
        const entry = await publication.recordLeaderboardSubmission({ runId, mode, submittedBy });
        state = 'submitted';
        return entry;
      } catch (err) {
        state = 'open';
        throw err;
      }
    },
    {
      validator: (submission) => {
        if (state === 'closed')
          throw ApplicationFailure.nonRetryable(
            'the submission window has closed',
            ERROR_TYPES.leaderboardWindowClosed,
          );
        if (state !== 'open')
          throw ApplicationFailure.nonRetryable(
            'the run has already been submitted',
            ERROR_TYPES.leaderboardAlreadySubmitted,
          );
        if (!submission || !(LEADERBOARD_MODES as readonly unknown[]).includes(submission.mode)) {
          throw ApplicationFailure.nonRetryable(
            `mode must be one of ${LEADERBOARD_MODES.join(', ')}`,
            ERROR_TYPES.invalidLeaderboardSubmission,
          );
        }
        if (typeof submission.submittedBy !== 'string' || submission.submittedBy === '') {
          throw ApplicationFailure.nonRetryable(
            'submittedBy must name the submitting user',
            ERROR_TYPES.invalidLeaderboardSubmission,
          );
        }
      },
    },
  );

  // Workflow time: the same on replay. A submission that fails to be stored reopens the wait.
  const closesAt = Date.now() + windowMs;
  for (;;) {
    const left = closesAt - Date.now();
    if (left <= 0 || !(await condition(() => state !== 'open', left))) {
      state = 'closed';
      await publication.closeLeaderboardWindow({ runId });
      return { outcome: 'closed' };
    }
    await condition(() => state !== 'submitting');
    if (state === 'submitted') {
      await condition(allHandlersFinished);
      return { outcome: 'submitted' };
    }
  }
}

/**
 * Called by the run's workflow once a run has ended (see runEvaluation): opens the window of a
 * formal run that succeeded and starts its publication workflow. The publication outlives the run's
 * workflow (ABANDON), which returns as before.
 */
export async function openPublication(runId: string): Promise<void> {
  const opened = await publication.openLeaderboardWindow({ runId });
  if (!opened.open) return;
  try {
    await startChild(leaderboardWindow, {
      workflowId: workflowIds.leaderboard(runId),
      args: [{ runId, windowMs: opened.windowMs }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
    });
  } catch (err) {
    // Started already (the run's workflow was reset or replayed past this point): one is enough.
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}
