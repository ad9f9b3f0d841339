/**
 * A run whose endpoint resolves to a network the workers may not call: no request leaves the worker.
 * A formal run fails at its readiness wait, at once, and gets its quota slot back; a verification's
 * samples each fail at once with the reason (no retries), and after ten of them the dataset ends as
 * unusable instead of trying every sample; the run fails with it. The name is accepted when the
 * evaluation is saved (only addresses are known then) and refused where it is resolved.
 */
import { describe, expect, it } from 'vitest';
import { loadEndpointSettings } from '../../config/env';
import { nlpEvaluationBody } from '../support/evaluationBodies';
import { launchAndWaitForEnd, waitForRunEnd } from '../support/runThroughApi';
import { insertArithmeticDataset, insertRun } from '../support/runFixtures';
import { startRunByHand } from '../support/workflowStarts';
import { ARITH_BASIC_ID } from '../../datasets/builtin/arithBasic';
import type { SampleResultView } from '../../contracts/run';
import { useTestStack } from '../support/testStack';

const stack = useTestStack({
  api: true,
  workers: {
    queues: ['runs', 'inference'],
    deps: { endpoints: loadEndpointSettings({ PROCTOR_ENDPOINT_DENY_NETWORKS: 'loopback' }) },
  },
  model: { skill: 1, errorRate: 0, latencyMs: 0 },
});

/** The reference model, by a name that resolves to loopback, which these workers refuse. */
const refused = () => `http://localhost:${stack.model.port}/v1`;

describe('an endpoint in a refused network', () => {
  it('fails a formal run before its first dataset, with nothing sent, and gives its quota slot back', async () => {
    const user = await stack.api.createUser();
    const body = nlpEvaluationBody({
      datasets: [ARITH_BASIC_ID],
      deployment: { method: 'api', endpoint: refused(), onlineModelName: 'proctor-reference', apiMode: 'chat' },
      limits: { maxConcurrency: 1, maxRetryPerQuery: 3 },
    });
    const created = await stack.api.request('POST', '/v1/evaluations', { key: user.apiKey, body });
    expect(created.status, created.text).toBe(201);
    stack.model.clearRequestLog();

    const ended = await launchAndWaitForEnd(stack.api, user.apiKey, created.body.id as string, 100_000);
    expect(ended.status).toBe('failed');
    // The readiness probe is refused like any request, and waiting cannot change that.
    expect(ended.error).toMatch(
      /^endpoint not ready: the endpoint could not be reached: the endpoint localhost \((127\.0\.0\.1|::1)\) is in a network this platform does not call \(loopback\).*\(not waited for: waiting cannot change it\); the formal quota slot was given back$/,
    );
    expect(ended.progress.done).toBe(0);
    expect(stack.model.requestLog()).toEqual([]);
    const me = await stack.api.request('GET', '/v1/me', { key: user.apiKey });
    expect(me.body.quota.formal.used).toBe(0);
  });

  // A verification has no readiness wait: its samples meet the refusal, and the dataset's breaker ends it.
  it('fails its samples with the reason, unretried and unsent, and ends the dataset after ten', async () => {
    const user = await stack.api.createUser();
    const runId = await insertRun(stack.db, {
      ownerId: user.id,
      type: 'verification',
      endpoint: refused(),
      datasets: [await insertArithmeticDataset(stack.db, 40)],
      limits: { maxConcurrency: 1, maxRetryPerQuery: 3 },
    });
    stack.model.clearRequestLog();

    await startRunByHand(stack.temporal, runId);
    const ended = await waitForRunEnd(stack.api, user.apiKey, runId, 100_000);
    expect(ended.status).toBe('failed');
    const [dataset] = ended.datasets;
    expect(dataset?.status).toBe('failed');
    expect(dataset?.error).toMatch(
      /^endpoint unusable: 10 consecutive samples failed after retries \(the endpoint localhost \((127\.0\.0\.1|::1)\) is in a network this platform does not call \(loopback\)/,
    );
    // The samples it did not try are recorded as failed with the dataset's reason.
    expect([dataset!.done, dataset!.failed]).toEqual([dataset!.total, dataset!.total]);

    const results = await stack.api.request('GET', `/v1/runs/${ended.runId}/results?limit=100`, { key: user.apiKey });
    expect(results.status).toBe(200);
    const items = results.body.items as SampleResultView[];
    expect(items.length).toBeGreaterThanOrEqual(10);
    // One lane: exactly ten were tried, once each; the rest were not attempted.
    const tried = items.filter((i) => i.attempts > 0);
    expect(tried).toHaveLength(10);
    for (const item of items) expect(item.status).toBe('failed');
    for (const item of tried) {
      expect(item.attempts).toBe(1);
      expect(item.error).toMatch(
        /^the endpoint localhost \((127\.0\.0\.1|::1)\) is in a network this platform does not call \(loopback\); serve the model at an address its workers may reach$/,
      );
    }
    for (const item of items.filter((i) => i.attempts === 0))
      expect(item.error).toMatch(/^not attempted: endpoint unusable: 10 consecutive samples/);
    expect(stack.model.requestLog()).toEqual([]);
  });
});
