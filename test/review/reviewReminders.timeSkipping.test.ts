/**
 * The manual-review gate's timers on the time-skipping test server: reviewers are reminded every
 * PROCTOR_REVIEW_REMINDER_HOURS while a review waits, and an unlaunched review expires when its
 * launch window ends. The review activities are stubbed by a record kept in memory that computes
 * the gate's waits as the real activities do, from the server's (skipped) clock.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { reviewGateAlone } from './reviewGateWorkflow';
import { completeManualReviewUpdate, manualEvaluationLaunchedSignal } from '../../contracts/workflow';
import type { ReviewActivities } from '../../activities/review/reviewActivities';
import type { ReviewGateState, ReviewStatus } from '../../contracts/review';
import { loadReviewSettings } from '../../config/env';
import { TASK_QUEUES } from '../../temporal.config';
import { createTimeSkippingEnv } from '../support/timeSkipping';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const REVIEW_ID = 'review-1';
const settings = loadReviewSettings({
  PROCTOR_REVIEW_REMINDER_HOURS: '6',
  PROCTOR_MANUAL_EVALUATION_WINDOW_DAYS: '14',
});
// What the server's clock may move on between an activity reading it and the workflow setting its timer.
const SLACK_MS = 60_000;

/** The review record as the stubbed activities keep it. */
interface ReviewRecord {
  status: ReviewStatus;
  createdAt: number;
  launchedAt: number | null;
  lastRemindedAt: number | null;
  reminders: { number: number; at: number }[];
  expiredAt: number | null;
  closed: ReviewStatus[];
}
let record: ReviewRecord;

let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;
let runNumber = 0;

const now = () => env.currentTimeMs();

function gateState(at: number): ReviewGateState {
  const left = (deadline: number) => Math.max(1000, deadline - at);
  const since = record.lastRemindedAt ?? record.launchedAt ?? record.createdAt;
  return {
    status: record.status,
    launchWindowLeftMs: record.status === 'awaiting-launch' ? left(record.createdAt + settings.launchWindowMs) : null,
    reminderInMs: record.status === 'in-review' ? left(since + settings.reminderAfterMs) : null,
    reminders: record.reminders.length,
  };
}

type Stubs = Pick<
  ReviewActivities,
  | 'planManualReview'
  | 'openManualReviewGate'
  | 'manualReviewState'
  | 'expireManualEvaluation'
  | 'remindReviewers'
  | 'closeManualReview'
>;

const activities: Stubs = {
  planManualReview: async () => ({ reviewed: true, reviewId: REVIEW_ID, datasetIds: ['dataset-1'] }),
  openManualReviewGate: async () => gateState(await now()),
  manualReviewState: async () => gateState(await now()),
  expireManualEvaluation: async () => {
    const at = await now();
    if (record.status === 'awaiting-launch') {
      record.status = 'expired';
      record.expiredAt = at;
    }
    return gateState(at);
  },
  remindReviewers: async ({ number }) => {
    const at = await now();
    if (record.status === 'in-review' && record.reminders.length === number - 1) {
      record.reminders.push({ number, at });
      record.lastRemindedAt = at;
    }
    return gateState(at);
  },
  closeManualReview: async () => {
    const status = record.status === 'completed' || record.status === 'expired' ? record.status : 'cancelled';
    record.closed.push(status);
    return { status };
  },
};

beforeAll(async () => {
  env = await createTimeSkippingEnv();
  worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: TASK_QUEUES.runs,
    workflowsPath: fileURLToPath(new URL('./reviewGateWorkflow.ts', import.meta.url)),
    activities,
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

beforeEach(async () => {
  record = {
    status: 'in-review',
    createdAt: await now(),
    launchedAt: null,
    lastRemindedAt: null,
    reminders: [],
    expiredAt: null,
    closed: [],
  };
});

function startGate() {
  return env.client.workflow.start(reviewGateAlone, {
    taskQueue: TASK_QUEUES.runs,
    workflowId: `review-gate-${++runNumber}`,
    args: [`run-${runNumber}`],
  });
}

/** Expects reminders 1…n, each PROCTOR_REVIEW_REMINDER_HOURS after the one before, the first after `from`. */
function expectRemindersEvery(from: number, n: number): void {
  expect(record.reminders.map((r) => r.number)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
  let previous = from;
  for (const { at } of record.reminders) {
    expect(at - previous).toBeGreaterThanOrEqual(settings.reminderAfterMs);
    expect(at - previous).toBeLessThan(settings.reminderAfterMs + SLACK_MS);
    previous = at;
  }
}

describe('the manual-review gate (time-skipping)', () => {
  it('reminds reviewers every PROCTOR_REVIEW_REMINDER_HOURS while the review waits, and stops once it is completed', async () => {
    record.launchedAt = record.createdAt;
    const handle = await startGate();
    await env.sleep(DAY + HOUR);
    // 6-hour reminders over a day and an hour: four of them.
    expectRemindersEvery(record.launchedAt, 4);

    record.status = 'completed';
    await handle.executeUpdate(completeManualReviewUpdate, {
      args: [{ reviewId: REVIEW_ID, completedBy: 'reviewer-1' }],
    });
    expect(await handle.result()).toBe('closed');
    expect(record.reminders).toHaveLength(4);
    expect(record.closed).toEqual(['completed']);
  });

  it('counts the reminders from the launch when the owner launches the manual evaluation', async () => {
    record.status = 'awaiting-launch';
    const handle = await startGate();
    await env.sleep(3 * DAY);
    expect(record.reminders).toEqual([]);

    record.status = 'in-review';
    record.launchedAt = await now();
    await handle.signal(manualEvaluationLaunchedSignal, { reviewId: REVIEW_ID, launchedBy: 'owner-1' });
    await env.sleep(2 * settings.reminderAfterMs + HOUR);
    expectRemindersEvery(record.launchedAt, 2);

    record.status = 'completed';
    await handle.executeUpdate(completeManualReviewUpdate, {
      args: [{ reviewId: REVIEW_ID, completedBy: 'reviewer-1' }],
    });
    expect(await handle.result()).toBe('closed');
  });

  it('expires a review nobody launched once the launch window has passed, without reminding anyone', async () => {
    record.status = 'awaiting-launch';
    const handle = await startGate();
    expect(await handle.result()).toBe('closed');
    expect(record.expiredAt! - record.createdAt).toBeGreaterThanOrEqual(settings.launchWindowMs);
    expect(record.expiredAt! - record.createdAt).toBeLessThan(settings.launchWindowMs + SLACK_MS);
    expect(record.reminders).toEqual([]);
    expect(record.closed).toEqual(['expired']);
  });

  it('refuses to complete a review that is not the run’s', async () => {
    const handle = await startGate();
    const refused = await handle
      .executeUpdate(completeManualReviewUpdate, { args: [{ reviewId: 'review-2', completedBy: 'reviewer-1' }] })
      .catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(WorkflowUpdateFailedError);
    expect((refused as WorkflowUpdateFailedError).cause?.message).toMatch(/review-1, not review-2/);
    record.status = 'completed';
    await handle.executeUpdate(completeManualReviewUpdate, {
      args: [{ reviewId: REVIEW_ID, completedBy: 'reviewer-1' }],
    });
    expect(await handle.result()).toBe('closed');
  });
});
