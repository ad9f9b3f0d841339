/**
 * What an operator sees of a run in the Temporal UI while it runs: the run's workflow names the
 * dataset in progress (k of n) and the dataset's workflow how far inference is, through the
 * workflow metadata query the UI reads (`__temporal_workflow_metadata`), next to the summary and
 * details the run started with.
 */
import { describe, expect, it } from 'vitest';
import { WORD_REVERSE_ID } from '../../datasets/builtin/wordReverse';
import { ARITH_MC_ID } from '../../datasets/builtin/arithChoice';
import { workflowIds } from '../../temporal.config';
import { datasetProgressQuery, runProgressQuery } from '../../contracts/workflow';
import { nlpEvaluationBody } from '../support/evaluationBodies';
import { useTestStack } from '../support/testStack';
import { until } from '../support/until';
import { waitForRunEnd } from '../support/runThroughApi';

const stack = useTestStack({
  api: true,
  workers: ['runs', 'inference'],
  models: { slow: { skill: 1, latencyMs: 150 } },
});

async function currentDetails(workflowId: string): Promise<string> {
  const metadata = await stack.temporal.workflow
    .getHandle(workflowId)
    .query<{ currentDetails?: string }>('__temporal_workflow_metadata');
  return metadata.currentDetails ?? '';
}

describe('the operator’s view of a running run', () => {
  it('shows the dataset in progress and how far its inference is, then the next dataset', async () => {
    const { apiKey: key } = await stack.api.createUser();
    const created = await stack.api.request('POST', '/v1/evaluations', {
      key,
      body: nlpEvaluationBody({
        datasets: [WORD_REVERSE_ID, ARITH_MC_ID],
        deployment: { method: 'api', endpoint: stack.models.slow.url, onlineModelName: 'proctor-reference' },
        limits: { maxConcurrency: 2 },
      }),
    });
    expect(created.status, created.text).toBe(201);
    const launched = await stack.api.request('POST', `/v1/evaluations/${created.body.id}/runs`, { key, body: {} });
    expect(launched.status, launched.text).toBe(202);
    const runId = launched.body.runId as string;

    let runDetails = '';
    await until('the run names its first dataset', async () => {
      runDetails = await currentDetails(workflowIds.run(runId)).catch(() => '');
      return runDetails.startsWith('Dataset 1 of 2');
    });
    expect(runDetails).toBe(
      `Dataset 1 of 2: **${WORD_REVERSE_ID}** (its workflow: \`${workflowIds.dataset(runId, WORD_REVERSE_ID)}\`)`,
    );
    let datasetDetails = '';
    await until('the dataset says how far inference is', async () => {
      datasetDetails = await currentDetails(workflowIds.dataset(runId, WORD_REVERSE_ID)).catch(() => '');
      return datasetDetails !== '';
    });
    expect(datasetDetails).toMatch(new RegExp(`^\\*\\*${WORD_REVERSE_ID}\\*\\*: inferring items \\d+–\\d+ of \\d+$`));
    // The progress queries say the same as data.
    const runProgress = await stack.temporal.workflow.getHandle(workflowIds.run(runId)).query(runProgressQuery);
    expect(runProgress).toMatchObject({ of: 2, stopRequested: false });
    expect([
      [WORD_REVERSE_ID, 1],
      [ARITH_MC_ID, 2],
    ]).toContainEqual([runProgress.dataset, runProgress.index]);
    const datasetProgress = await stack.temporal.workflow
      .getHandle(workflowIds.dataset(runId, WORD_REVERSE_ID))
      .query(datasetProgressQuery)
      .catch(() => null);
    // (null only if the dataset finished between the two queries)
    if (datasetProgress) {
      expect(datasetProgress.datasetId).toBe(WORD_REVERSE_ID);
      expect(datasetProgress.total).toBeGreaterThan(0);
      expect(datasetProgress.inferredThrough).toBeLessThanOrEqual(datasetProgress.total!);
    }
    await until('the run moves on to the second dataset', async () =>
      (await currentDetails(workflowIds.run(runId)).catch(() => '')).startsWith('Dataset 2 of 2'),
    );
    const stopped = await stack.api.request('POST', `/v1/runs/${runId}/stop`, { key });
    expect(stopped.status, stopped.text).toBe(202);
    const afterStop = await stack.temporal.workflow
      .getHandle(workflowIds.run(runId))
      .query(runProgressQuery)
      .catch(() => null);
    if (afterStop) expect(afterStop.stopRequested || afterStop.dataset === null).toBe(true);
    expect((await waitForRunEnd(stack.api, key, runId)).status).toMatch(/^(stopped|succeeded)$/);
  });
});
