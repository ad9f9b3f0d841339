/**
 * Multimodal models behind an OpenAI-compatible chat API, through HTTP on real workers: each visual
 * question goes to the endpoint with its pictures as content parts (base64 PNG data URLs), and the
 * reference model answers by looking at them, so its score is exact, on a built-in dataset and on
 * a custom one registered with its pictures (each broken part of a registration named). What a
 * deployment cannot evaluate is refused when the evaluation is created or edited, naming the field
 * and the rule: retrieval and text-to-image need a run.sh deployment, pictures need a chat
 * endpoint, a run.sh deployment answers only multimodal tasks and no custom image can call it.
 */
import { describe, expect, it } from 'vitest';
import { MM_SHAPES_VQA_ID, generateMmShapesVqa } from '../../datasets/builtin/multimodal/mmShapesVqa';
import { MM_SHAPES_RETRIEVAL_ID } from '../../datasets/builtin/multimodal/mmShapesRetrieval';
import { nlpEvaluationBody, registerDataset, uniqueModelName } from '../support/evaluationBodies';
import { exampleImageId } from '../support/customImageEvaluations';
import { launchAndWaitForEnd, waitForRunEnd } from '../support/runThroughApi';
import { useTestStack } from '../support/testStack';
import { customVqa, multimodalImageId } from '../support/multimodalModel';
import type { TestApi } from '../support/apiServer';

const stack = useTestStack({
  api: true,
  workers: ['runs', 'inference'],
  models: { sharp: { skill: 1 } },
});

async function apiEvaluation(
  api: TestApi,
  key: string,
  datasets: string[],
  deployment: Record<string, unknown> = {},
  robustness = false,
): Promise<string> {
  const created = await api.request('POST', '/v1/evaluations', {
    key,
    body: nlpEvaluationBody({
      domain: 'multimodal',
      robustness,
      modelName: uniqueModelName('Vision'),
      datasets,
      deployment: {
        method: 'api',
        endpoint: stack.models.sharp.url,
        onlineModelName: 'proctor-reference',
        apiKey: 'sk-unused',
        apiMode: 'chat',
        ...deployment,
      },
    }),
  });
  expect(created.status, created.text).toBe(201);
  return created.body.id as string;
}

describe('a multimodal model behind a chat API', () => {
  it('gets each question with its pictures as content parts, scored by question type, perturbed too', async () => {
    const { apiKey: key } = await stack.api.createUser();
    const evaluationId = await apiEvaluation(stack.api, key, [MM_SHAPES_VQA_ID], {}, true);
    stack.models.sharp.clearRequestLog();

    const verification = await stack.api.request('POST', `/v1/evaluations/${evaluationId}/verifications`, {
      key,
      body: { samplesPerDataset: 3 },
    });
    expect(verification.status, verification.text).toBe(202);
    const verified = await waitForRunEnd(stack.api, key, verification.body.runId as string);
    expect(verified.status).toBe('succeeded');
    expect(verified.datasets[0]).toMatchObject({ total: 3, done: 3, failed: 0 });
    expect(verified.datasets[0]!.metrics!.score).toBe(1);

    const run = await launchAndWaitForEnd(stack.api, key, evaluationId, 300_000);
    expect(run.status, JSON.stringify(run.datasets.map((d) => d.error))).toBe('succeeded');
    expect(run.datasets[0]).toMatchObject({ dataset: MM_SHAPES_VQA_ID, total: 240, done: 240, failed: 0 });
    expect(run.datasets[0]!.metrics).toMatchObject({ metric: 'vqa_accuracy', score: 1 });

    // Robustness: every question asked again with its text perturbed and the same pictures.
    const robustness = run.datasets[0]!.metrics!.robustness!;
    expect(robustness).toMatchObject({ n: 240, cleanAccuracy: 1, failed: 0 });
    expect(robustness.perturbedAccuracy).toBeLessThan(1);

    // Every question reached the model with as many pictures as it names, clean or perturbed.
    const items = generateMmShapesVqa();
    const pictures = new Map(items.map((i) => [i.prompt, (i.metadata!.images as string[]).length]));
    const log = stack.models.sharp.requestLog();
    expect(log).toHaveLength(3 + 240 + 240);
    const clean = log.filter((e) => pictures.has(e.prompt));
    expect(clean.length).toBeGreaterThanOrEqual(243);
    for (const entry of clean) expect(entry.pictures, entry.prompt).toBe(pictures.get(entry.prompt));
    expect(log.every((e) => e.pictures >= 1)).toBe(true);
    expect(log.some((e) => e.pictures === 2)).toBe(true);
  }, 360_000);

  it('refuses at create and edit what a deployment cannot evaluate, naming the field and the rule', async () => {
    const { apiKey: key } = await stack.api.createUser();
    const body = (datasets: string[], deployment: Record<string, unknown>) =>
      nlpEvaluationBody({ domain: 'multimodal', modelName: uniqueModelName('Refused'), datasets, deployment });
    const api = {
      method: 'api',
      endpoint: stack.models.sharp.url,
      onlineModelName: 'proctor-reference',
      apiKey: 'sk-unused',
      apiMode: 'chat',
    };
    const runSh = {
      method: 'private',
      imageId: await multimodalImageId(stack.api, key),
      priority: 'low',
      gpuType: 'cpu',
      gpuCount: 1,
    };
    const textDataset = await registerDataset(stack.api, key, 'multimodal');
    const cases: [Record<string, unknown>, string, string][] = [
      [
        body([MM_SHAPES_VQA_ID, MM_SHAPES_RETRIEVAL_ID], api),
        'datasets[1]',
        `dataset ${MM_SHAPES_RETRIEVAL_ID} (retrieval_recall) is answered through the multimodal data server, which only a multimodal private deployment (checkpoint.pth and run.sh) uses`,
      ],
      [
        body([MM_SHAPES_VQA_ID], { ...api, apiMode: 'completion' }),
        'deployment.apiMode',
        'set deployment.apiMode to chat',
      ],
      [body([MM_SHAPES_VQA_ID, textDataset], runSh), 'datasets[1]', `dataset ${textDataset} is scored by exact_match`],
    ];
    for (const [request, field, message] of cases) {
      const refused = await stack.api.request('POST', '/v1/evaluations', { key, body: request });
      expect(refused.status, refused.text).toBe(400);
      expect(refused.body.errors).toContainEqual({ field, message: expect.stringContaining(message) });
    }

    // An edit that would strand the evaluation is refused and changes nothing.
    const evaluationId = await apiEvaluation(stack.api, key, [MM_SHAPES_VQA_ID]);
    const edit = await stack.api.request('PATCH', `/v1/evaluations/${evaluationId}`, {
      key,
      body: { deployment: { ...api, apiMode: 'completion' } },
    });
    expect(edit.status, edit.text).toBe(400);
    expect(edit.body.errors).toContainEqual({ field: 'deployment.apiMode', message: expect.stringContaining('chat') });
    const stored = await stack.api.request('GET', `/v1/evaluations/${evaluationId}`, { key });
    expect(stored.body.deployment.apiMode).toBe('chat');

    // A run.sh deployment has no HTTP service for a custom image to call.
    const runShEvaluation = await stack.api.request('POST', '/v1/evaluations', {
      key,
      body: body([MM_SHAPES_VQA_ID], runSh),
    });
    expect(runShEvaluation.status, runShEvaluation.text).toBe(201);
    const scoring = await stack.api.request('PUT', `/v1/evaluations/${runShEvaluation.body.id}/scoring`, {
      key,
      body: { customImage: { imageId: await exampleImageId(stack.api) } },
    });
    expect(scoring.status, scoring.text).toBe(400);
    expect(scoring.text).toContain('a multimodal private deployment is a run.sh job with no HTTP service');

    // Nothing was charged for the refusals.
    const me = await stack.api.request('GET', '/v1/me', { key });
    expect(me.body.quota.formal.used, me.text).toBe(0);
  });

  it('takes a custom vqa dataset with its pictures, checked, and scores a model on it exactly', async () => {
    const { apiKey: key } = await stack.api.createUser();
    const { jsonl, pictures } = customVqa(12);
    const register = (id: string, body: Record<string, unknown>) =>
      stack.api.request('POST', '/v1/datasets', {
        key,
        body: {
          id,
          name: 'my pictures',
          domain: 'multimodal',
          task: 'vqa',
          metric: 'vqa_accuracy',
          jsonl,
          pictures,
          ...body,
        },
      });
    const id = (n: string) => `my-pictures-${n}-${process.pid}`;

    // Each broken part named, and nothing stored for it.
    const [first, ...rest] = Object.keys(pictures);
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ pictures: Object.fromEntries(rest.map((n) => [n, pictures[n]])) }, 'jsonl', /not among the pictures/],
      [
        { pictures: { ...pictures, [first!]: Buffer.from('GIF89a').toString('base64') } },
        `pictures.${first}`,
        /not a PNG/,
      ],
      [{ pictures: { ...pictures, 'spare.png': pictures[first!] } }, 'pictures.spare.png', /named by no item/],
      [{ pictures: { ...pictures, '../up.png': pictures[first!] } }, 'pictures.../up.png', /must be named/],
      [{ pictures: undefined }, 'pictures', /are required for vqa_accuracy/],
      [{ domain: 'nlp' }, 'metric', /domain must be multimodal/],
    ];
    for (const [body, field, message] of cases) {
      const refused = await register(id('bad'), body);
      expect(refused.status, refused.text).toBe(400);
      expect(refused.text).toContain(field);
      expect(refused.text).toMatch(message);
    }
    const broken = jsonl.replace('"ground_truth":"', '"ground_truth":"Q');
    const badTruth = await register(id('bad'), { jsonl: broken });
    expect(badTruth.status, badTruth.text).toBe(400);
    expect(badTruth.text).toMatch(/ground_truth/);
    expect((await stack.api.request('GET', '/v1/datasets?domain=multimodal', { key })).body.items).toHaveLength(3);

    const created = await register(id('ok'), {});
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({ size: 12, metric: 'vqa_accuracy', builtin: false });
    const evaluationId = await apiEvaluation(stack.api, key, [id('ok')]);
    stack.models.sharp.clearRequestLog();
    const run = await launchAndWaitForEnd(stack.api, key, evaluationId, 120_000);
    expect(run.status, JSON.stringify(run.datasets.map((d) => d.error))).toBe('succeeded');
    expect(run.datasets[0]).toMatchObject({ total: 12, done: 12, failed: 0 });
    expect(run.datasets[0]!.metrics!.score).toBe(1);
    expect(stack.models.sharp.requestLog().every((e) => e.pictures >= 1)).toBe(true);
  }, 180_000);
});
