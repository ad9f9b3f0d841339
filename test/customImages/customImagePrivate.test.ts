/**
 * A custom evaluation image scoring a private deployment, on real workers and the real Docker
 * engine: the owner's model (test/fixtures/nlp-upload, uploaded with the CLI) is served from the
 * NLP serving image, and the platform's example image asks it through the per-job proxy, which
 * turns the image's OpenAI chat requests into the model's `/func` protocol. The model answers the
 * arithmetic prompts right and anything else "I do not know", so the image's score is known
 * exactly; the serving container is gone when the run ends.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { connectDocker } from '../../docker/engine';
import { ensureImage } from '../../docker/ensureImage';
import { ensureNlpServingImage } from '../../docker/servingImage';
import { listServingContainers } from '../../docker/containerRunner';
import { LABEL_RUN } from '../../docker/containerSpec';
import { EVAL_EXAMPLE_IMAGE_REF } from '../../contracts/platformImages';
import { requireEnv } from '../support/env';
import { createPrivateModel, useServingSettings, waitForRunEnd } from '../support/privateModel';
import { useTestStack } from '../support/testStack';
import { exampleImageId, runLogMessages, scoreWithCustomImage } from '../support/customImageEvaluations';

const HOST_ID = `custom-private-host-${process.pid}`;
useServingSettings({ hostId: HOST_ID });

const docker = connectDocker(requireEnv('DOCKER_HOST'));
// The images are in place (built once per engine) before the workers that run them start.
beforeAll(async () => {
  await ensureNlpServingImage(docker);
  await ensureImage(docker, EVAL_EXAMPLE_IMAGE_REF);
}, 300_000);
const stack = useTestStack({ api: true, workers: ['runs', 'inference', 'containers'] });

/**
 * Five questions: three sums the model computes and the reference agrees with, one whose reference
 * is wrong (the model says 16), one the model cannot answer ("I do not know").
 */
const ITEMS = [
  { id: 'q1', prompt: 'Compute 2 + 3. Reply with the number only.', ground_truth: '5' },
  { id: 'q2', prompt: 'Compute 7 * 6. Reply with the number only.', ground_truth: '42' },
  { id: 'q3', prompt: 'Compute 10 - 4. Reply with the number only.', ground_truth: '6' },
  { id: 'q4', prompt: 'Compute 8 + 8. Reply with the number only.', ground_truth: '17' },
  { id: 'q5', prompt: 'Name the capital of France.', ground_truth: 'Paris' },
];

describe('a custom image evaluating a private deployment', () => {
  it("scores the model exactly through the proxy's /func translation, and leaves no container", async () => {
    const { apiKey: key } = await stack.api.createUser();
    const datasetId = `custom-private-${process.pid}`;
    const registered = await stack.api.request('POST', '/v1/datasets', {
      key,
      body: {
        id: datasetId,
        name: 'sums and a question',
        domain: 'nlp',
        task: 'custom',
        metric: 'exact_match',
        jsonl: ITEMS.map((i) => JSON.stringify(i)).join('\n'),
      },
    });
    expect(registered.status, registered.text).toBe(201);

    const { evaluationId } = await createPrivateModel(stack.api, key, { datasets: [datasetId] });
    await scoreWithCustomImage(stack.api, key, evaluationId, {
      imageId: await exampleImageId(stack.api),
      parameters: { limit: 5 },
    });
    const launched = await stack.api.request('POST', `/v1/evaluations/${evaluationId}/runs`, { key, body: {} });
    expect(launched.status, launched.text).toBe(202);
    const runId = launched.body.runId as string;

    const run = await waitForRunEnd(stack.api, key, runId, 240_000);
    expect(run.status, JSON.stringify([run.error, run.datasets.map((d) => d.error)])).toBe('succeeded');
    const [dataset] = run.datasets;
    expect(dataset).toMatchObject({ dataset: datasetId, status: 'succeeded', total: 1, done: 1, failed: 0 });
    expect(dataset!.metrics).toMatchObject({ metric: 'custom_image', score: 0.6 });
    expect(dataset!.metrics!.custom).toMatchObject({ primaryMetric: 'accuracy', image: 'proctor-eval-example:1' });
    expect(dataset!.metrics!.custom!.metrics).toEqual([
      { name: 'accuracy', value: 0.6 },
      { name: 'answered', value: 1 },
      { name: 'items', value: 5 },
    ]);
    expect(dataset!.metrics!.custom!.usage).toMatchObject({ requests: 5, failed: 0 });
    expect(run.overallScore).toBe(0.6);

    const logs = await runLogMessages(stack.api, key, runId);
    expect(logs.some((l) => /model service healthy at http:\/\/127\.0\.0\.1:\d+/.test(l))).toBe(true);
    expect(logs.some((l) => l.includes('proctor-eval-example: accuracy 3/5 = 0.6000'))).toBe(true);
    expect(logs.some((l) => /model container [0-9a-f]{12} removed/.test(l))).toBe(true);

    const serving = (await listServingContainers(docker, { hostId: HOST_ID })).filter((c) => c.runId === runId);
    expect(serving).toEqual([]);
    const left = await docker.listContainers({ all: true, filters: { label: [`${LABEL_RUN}=${runId}`] } });
    expect(left).toEqual([]);
  }, 300_000);
});
