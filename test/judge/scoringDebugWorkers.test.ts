/**
 * The scoring debug call when the workers it needs are missing or slow. The API hands the judge
 * calls to a judge worker through the debugScoring workflow and waits, bounded: past the bound the
 * caller hears which queue had no worker (503) or that the judge worker did not finish (504), the
 * workflow is terminated, and the API itself never asked the judge. The gateway is driven with a
 * short bound; one call goes through HTTP with the real one.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { nlpEvaluationBody } from '../support/evaluationBodies';
import { startJudgeStandIn } from '../support/judgeStandIn';
import { startWorkers, type RunningWorkers } from '../support/temporalTestKit';
import { runScoringDebug } from '../../api/gateways/scoringDebugGateway';
import { DEFAULT_JUDGING_LIMITS } from '../../contracts/scoringConfig';
import type { ScoringDebugInput } from '../../contracts/scoringDebug';
import { TASK_QUEUES } from '../../temporal.config';
import { useTestStack } from '../support/testStack';

const stack = useTestStack({ api: true, judge: true });
const running: RunningWorkers[] = [];

// Registered after the stack, so the workers the tests start stop before the judge and the API.
afterAll(async () => {
  for (const w of running) await w.shutdown();
});

const input = (): ScoringDebugInput => ({
  metric: { metric: 'judge', judge: { baseUrl: stack.judge.url, model: 'stand-in-judge', apiKeyId: null } },
  limits: DEFAULT_JUDGING_LIMITS,
  samples: [{ question: 'Capital of France?', answer: 'Paris', reference: 'Paris' }],
  deadline: Date.now() + 60_000,
});

async function expectTerminated(workflowId: string): Promise<void> {
  const description = await stack.temporal.workflow.getHandle(workflowId).describe();
  expect(description.status.name).toBe('TERMINATED');
}

describe('scoring debug call without the workers it needs', () => {
  it('names the runs queue when no worker runs the workflow', async () => {
    stack.judge.requests.length = 0;
    const outcome = await runScoringDebug(stack.temporal, input(), 2_000);
    expect(outcome).toMatchObject({
      ok: false,
      reason: 'noWorkflowWorker',
      message: expect.stringContaining(TASK_QUEUES.runs),
    });
    await expectTerminated(outcome.workflowId);
    expect(stack.judge.requests).toHaveLength(0);
  });

  it('names the judge queue when no judge worker takes the call, through HTTP as a 503 problem', async () => {
    running.push(await startWorkers(stack.db, ['runs']));
    stack.judge.requests.length = 0;
    const outcome = await runScoringDebug(stack.temporal, input(), 3_000);
    expect(outcome).toMatchObject({
      ok: false,
      reason: 'noJudgeWorker',
      message: expect.stringContaining(TASK_QUEUES.judge),
    });
    await expectTerminated(outcome.workflowId);

    // The route waits its full bound (60 s + 5 s), then answers without having asked the judge.
    const { apiKey: key } = await stack.api.createUser();
    const created = await stack.api.request('POST', '/v1/evaluations', { key, body: nlpEvaluationBody() });
    expect(created.status, created.text).toBe(201);
    const res = await stack.api.request('POST', `/v1/evaluations/${created.body.id}/scoring/debug`, {
      key,
      body: {
        config: {
          default: {
            metric: 'judge',
            judge: { baseUrl: stack.judge.url, model: 'stand-in-judge', apiKey: 'sk-never-sent' },
          },
        },
        samples: [{ question: 'q', prediction: 'a', reference: 'a' }],
      },
    });
    expect(res.status, res.text).toBe(503);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body.detail).toContain(`judge task queue ${TASK_QUEUES.judge}`);
    expect(stack.judge.requests).toHaveLength(0);
  }, 110_000);

  it('says the judge worker did not finish when it took the call but the judge is too slow', async () => {
    running.push(await startWorkers(stack.db, ['judge']));
    const slow = await startJudgeStandIn({ knobs: { latencyMs: 20_000 } });
    try {
      const outcome = await runScoringDebug(
        stack.temporal,
        { ...input(), metric: { metric: 'judge', judge: { baseUrl: slow.url, model: 'j', apiKeyId: null } } },
        4_000,
      );
      expect(outcome).toMatchObject({
        ok: false,
        reason: 'judgeWorkerLate',
        message: expect.stringContaining(TASK_QUEUES.judge),
      });
      await expectTerminated(outcome.workflowId);
      // The worker, not the API, asked the judge.
      expect(slow.requests.length).toBeGreaterThan(0);
    } finally {
      await slow.close();
    }
  });

  it('answers with the traces once a judge worker serves the queue', async () => {
    stack.judge.requests.length = 0;
    const outcome = await runScoringDebug(stack.temporal, input(), 30_000);
    expect(outcome.ok, JSON.stringify(outcome)).toBe(true);
    if (outcome.ok)
      expect(outcome.traces[0]).toMatchObject({ method: 'judge', error: null, score: expect.any(Number) });
    expect(stack.judge.requests).toHaveLength(1);
  });
});
