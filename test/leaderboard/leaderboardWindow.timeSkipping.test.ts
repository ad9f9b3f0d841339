/**
 * The publication workflow's submission window on the time-skipping test server, with its two
 * activities stubbed: the window's days pass in seconds, and what the workflow asks of the record
 * (store a submission, close the window) is seen call by call.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { leaderboardWindow } from '../../workflows/leaderboardWindow';
import { submitToLeaderboardUpdate } from '../../contracts/workflow';
import type { LeaderboardActivities } from '../../activities/leaderboard/publicationActivities';
import type { LeaderboardSubmission } from '../../contracts/leaderboard';
import { loadLeaderboardSettings } from '../../config/env';
import { ERROR_TYPES, TASK_QUEUES, workflowIds } from '../../temporal.config';
import { createTimeSkippingEnv } from '../support/timeSkipping';

const HOUR = 3_600_000;
// The window a deployment gets by default (PROCTOR_LEADERBOARD_WINDOW_DAYS unset): 30 days.
const { windowMs } = loadLeaderboardSettings({});

type Stubs = Pick<LeaderboardActivities, 'recordLeaderboardSubmission' | 'closeLeaderboardWindow'>;

const defaults: Stubs = {
  recordLeaderboardSubmission: async ({ runId, mode }) => ({ runId, mode, submittedAt: new Date().toISOString() }),
  closeLeaderboardWindow: async () => ({ status: 'closed' }),
};
/** What the worker's activities do in the current test. */
let stubs: Stubs = defaults;

let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;
let runNumber = 0;

beforeAll(async () => {
  env = await createTimeSkippingEnv();
  worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: TASK_QUEUES.runs,
    workflowsPath: fileURLToPath(new URL('../../workflows/leaderboardWindow.ts', import.meta.url)),
    activities: {
      recordLeaderboardSubmission: (args) => stubs.recordLeaderboardSubmission(args),
      closeLeaderboardWindow: (args) => stubs.closeLeaderboardWindow(args),
    } satisfies Stubs,
  });
  running = worker.run();
});

afterAll(async () => {
  if (worker) {
    worker.shutdown();
    await running;
  }
  await env?.teardown();
});

/** Runs `test` on the workflow of a fresh run, with the publication activities `overrides` replaces. */
async function withWindow<T>(
  overrides: Partial<Stubs>,
  test: (runId: string, handle: Awaited<ReturnType<typeof start>>) => Promise<T>,
): Promise<T> {
  stubs = { ...defaults, ...overrides };
  const runId = `run-${++runNumber}`;
  return test(runId, await start(runId));
}

function start(runId: string) {
  return env.client.workflow.start(leaderboardWindow, {
    taskQueue: TASK_QUEUES.runs,
    workflowId: workflowIds.leaderboard(runId),
    args: [{ runId, windowMs }],
  });
}

const named = (submittedBy: string): LeaderboardSubmission => ({ mode: 'named', submittedBy });

/** The failure type a refused update carries: the validator's, or that of the activity it ran. */
async function refusal(update: Promise<unknown>): Promise<string | undefined> {
  const error = await update.then(
    () => null,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(WorkflowUpdateFailedError);
  let cause = (error as WorkflowUpdateFailedError).cause;
  if (cause instanceof ActivityFailure) cause = cause.cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  return (cause as ApplicationFailure).type ?? undefined;
}

describe('the leaderboard submission window (time-skipping)', () => {
  it('closes once its days have passed with no submission, and tells the record once', async () => {
    const closed: string[] = [];
    await withWindow(
      {
        closeLeaderboardWindow: async ({ runId }) => {
          closed.push(runId);
          return { status: 'closed' };
        },
      },
      async (runId, handle) => {
        const startedAt = await env.currentTimeMs();
        expect(await handle.result()).toEqual({ outcome: 'closed' });
        expect((await env.currentTimeMs()) - startedAt).toBeGreaterThanOrEqual(windowMs);
        expect(closed).toEqual([runId]);
      },
    );
  });

  it('takes a submission on the last day of the window and does not close it', async () => {
    const recorded: LeaderboardSubmission[] = [];
    let closes = 0;
    await withWindow(
      {
        recordLeaderboardSubmission: async ({ runId, mode, submittedBy }) => {
          recorded.push({ mode, submittedBy });
          return { runId, mode, submittedAt: new Date(await env.currentTimeMs()).toISOString() };
        },
        closeLeaderboardWindow: async () => {
          closes++;
          return { status: 'closed' };
        },
      },
      async (runId, handle) => {
        await env.sleep(windowMs - HOUR);
        const entry = await handle.executeUpdate(submitToLeaderboardUpdate, { args: [named('owner-1')] });
        expect(entry).toMatchObject({ runId, mode: 'named' });
        expect(await handle.result()).toEqual({ outcome: 'submitted' });
        expect(recorded).toEqual([named('owner-1')]);
        expect(closes).toBe(0);
      },
    );
  });

  it('refuses a submission once the window has closed, while the record is being closed', async () => {
    let closing!: () => void;
    const closeStarted = new Promise<void>((resolve) => (closing = resolve));
    let finishClose!: () => void;
    const closeMayFinish = new Promise<void>((resolve) => (finishClose = resolve));
    await withWindow(
      {
        closeLeaderboardWindow: async () => {
          closing();
          await closeMayFinish;
          return { status: 'closed' };
        },
      },
      async (_runId, handle) => {
        // Not awaited yet: the server stops skipping time while an activity runs, so this sleep ends
        // only after the held close is let go.
        const slept = env.sleep(windowMs + HOUR);
        await closeStarted;
        try {
          const refused = handle.executeUpdate(submitToLeaderboardUpdate, { args: [named('owner-1')] });
          expect(await refusal(refused)).toBe(ERROR_TYPES.leaderboardWindowClosed);
        } finally {
          finishClose();
        }
        await slept;
        expect(await handle.result()).toEqual({ outcome: 'closed' });
      },
    );
  });

  it('reopens the window when a submission cannot be stored, so the next one is taken', async () => {
    let attempts = 0;
    await withWindow(
      {
        recordLeaderboardSubmission: async ({ runId, mode }) => {
          if (++attempts === 1) throw ApplicationFailure.nonRetryable('the record refused it', ERROR_TYPES.runNotFound);
          return { runId, mode, submittedAt: new Date(await env.currentTimeMs()).toISOString() };
        },
      },
      async (_runId, handle) => {
        await env.sleep(2 * 86_400_000);
        const failed = handle.executeUpdate(submitToLeaderboardUpdate, { args: [named('owner-1')] });
        expect(await refusal(failed)).toBe(ERROR_TYPES.runNotFound);
        await env.sleep(86_400_000);
        await handle.executeUpdate(submitToLeaderboardUpdate, {
          args: [{ mode: 'anonymous', submittedBy: 'owner-1' }],
        });
        expect(await handle.result()).toEqual({ outcome: 'submitted' });
        expect(attempts).toBe(2);
      },
    );
  });

  it('refuses a submission that names no mode it knows, before anything is stored', async () => {
    let attempts = 0;
    await withWindow(
      {
        recordLeaderboardSubmission: async ({ runId, mode }) => {
          attempts++;
          return { runId, mode, submittedAt: new Date(await env.currentTimeMs()).toISOString() };
        },
      },
      async (_runId, handle) => {
        const bad = { mode: 'public', submittedBy: 'owner-1' } as unknown as LeaderboardSubmission;
        expect(await refusal(handle.executeUpdate(submitToLeaderboardUpdate, { args: [bad] }))).toBe(
          ERROR_TYPES.invalidLeaderboardSubmission,
        );
        expect(await handle.result()).toEqual({ outcome: 'closed' });
        expect(attempts).toBe(0);
      },
    );
  });
});
