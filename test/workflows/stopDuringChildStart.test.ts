/**
 * A stop that lands while a dataset's child workflow is being started still reaches its batch.
 *
 * Temporal refuses a cancel sent to a child that is initiated but not yet started, and a stop sent
 * through the child's scope at that moment was lost: the batch ran every request to its timeout and
 * stored the samples as failures (seen under the full suite's load; workflows/stoppableChild.ts).
 * The moment is narrow, so each round widens it: the run is stopped while the server is busy
 * starting a few hundred other workflows, which delays the child's start behind them. Rounds go on
 * until several stops have provably landed in that moment (the run's history shows a workflow task
 * completed after the stop signal and before the child started). In none may the cancel go out
 * before the child has started (whether the server then refuses it is a race of its own, lost about
 * one time in ten), and none may let the batch run on.
 */
import { expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { sampleResults } from '../../db/schema';
import { workflowIds } from '../../temporal.config';
import { historyTimeline } from '../support/historyTimeline';
import { waitForRunEnd } from '../support/runThroughApi';
import { createEvaluation, registerComparisonDatasets } from '../comparisons/comparisonFixtures';
import { useTestStack } from '../support/testStack';

const MIN_STOPS_IN_THE_WINDOW = 3;
const MAX_ROUNDS = 30;
const FLOOD = 300;

// Slower than the test: a batch that is not stopped would hold its requests for the evaluation's 10 s timeout.
const stack = useTestStack({ api: true, workers: true, model: { latencyMs: 60_000 } });

interface StopTiming {
  /** The run workflow acted on the stop (completed a workflow task after the signal) before its child started. */
  actedOnBeforeChildStarted: boolean;
  /** It asked the server to cancel the child before the child had started: a request the server may refuse. */
  cancelSentBeforeChildStarted: boolean;
}

async function stopTiming(runId: string): Promise<StopTiming> {
  const { events } = await stack.temporal.workflow.getHandle(workflowIds.run(runId)).fetchHistory();
  const list = events ?? [];
  const at = (has: (e: (typeof list)[number]) => unknown, after = -1) => list.findIndex((e, i) => i > after && has(e));
  const signalled = at((e) => e.workflowExecutionSignaledEventAttributes);
  const started = at((e) => e.childWorkflowExecutionStartedEventAttributes);
  const actedOn = signalled < 0 ? -1 : at((e) => e.workflowTaskCompletedEventAttributes, signalled);
  const cancelSent = at((e) => e.requestCancelExternalWorkflowExecutionInitiatedEventAttributes);
  return {
    actedOnBeforeChildStarted: started >= 0 && actedOn >= 0 && actedOn < started,
    cancelSentBeforeChildStarted: cancelSent >= 0 && (started < 0 || cancelSent < started),
  };
}

it('reaches the batch when the stop lands while the dataset child is starting', async () => {
  const owner = await stack.api.createUser();
  const sets = await registerComparisonDatasets(stack.api, owner.apiKey, 2);
  const floodQueue = `proctor-test-flood-${randomUUID()}`;
  let flooded = 0;
  let inTheWindow = 0;
  try {
    for (let round = 0; round < MAX_ROUNDS && inTheWindow < MIN_STOPS_IN_THE_WINDOW; round++) {
      const evaluationId = await createEvaluation(stack.api, owner.apiKey, [sets.sum], stack.model.url);
      // A verification: its first step is the dataset's child (a formal run waits for its endpoint first).
      const launched = await stack.api.request('POST', `/v1/evaluations/${evaluationId}/verifications`, {
        key: owner.apiKey,
      });
      expect(launched.status, launched.text).toBe(202);
      const runId = launched.body.runId as string;
      // Workflows nobody polls for: each start is work the server does before the child's.
      const flood = Array.from({ length: FLOOD }, () =>
        stack.temporal.workflow.start('proctorTestFlood', {
          taskQueue: floodQueue,
          workflowId: `${floodQueue}-${flooded++}`,
        }),
      );
      const stop = await stack.api.request('POST', `/v1/runs/${runId}/stop`, { key: owner.apiKey });
      expect(stop.status, stop.text).toBe(202);
      await Promise.all(flood);

      const run = await waitForRunEnd(stack.api, owner.apiKey, runId, 60_000, 50);
      const stored = await stack.db
        .select({ status: sampleResults.status, error: sampleResults.error })
        .from(sampleResults)
        .where(eq(sampleResults.runId, runId));
      const why =
        stored.length === 0
          ? ''
          : `${JSON.stringify(stored)}\n${await historyTimeline(stack.temporal, [workflowIds.run(runId), workflowIds.dataset(runId, sets.sum)])}`;
      expect(run.status, `round ${round}`).toBe('stopped');
      expect(stored, why).toEqual([]);
      const timing = await stopTiming(runId);
      expect(
        timing.cancelSentBeforeChildStarted,
        `round ${round}: the cancel went out before the child had started`,
      ).toBe(false);
      if (timing.actedOnBeforeChildStarted) inTheWindow++;
    }
    expect(
      inTheWindow,
      `stops that landed while the child was starting (of at most ${MAX_ROUNDS} rounds)`,
    ).toBeGreaterThanOrEqual(MIN_STOPS_IN_THE_WINDOW);
  } finally {
    for (let i = 0; i < flooded; i += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, flooded - i) }, (_, k) =>
          stack.temporal.workflow
            .getHandle(`${floodQueue}-${i + k}`)
            .terminate('test over')
            .catch(() => undefined),
        ),
      );
    }
  }
}, 300_000);
