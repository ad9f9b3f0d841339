/**
 * Each domain's rules (contracts/domain.ts DOMAIN_RULES, docs/domains.md) through HTTP, both ways:
 * what a rule refuses is a 400 (create, edit) or 409 (launch) naming the field and the rule, and
 * what it allows is accepted. CV and Audio take their evaluation tasks and adaptation methods
 * (docs/backbones.md) and only their own built-in datasets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { evaluations, runs } from '../../db/schema';
import { MM_SHAPES_VQA_ID } from '../../datasets/builtin/multimodal/mmShapesVqa';
import { SAFETY_BUILTIN_DATASETS } from '../../datasets/builtinCatalog';
import { startApi, type TestApi } from '../support/apiServer';
import {
  approvedImageId,
  nlpEvaluationBody,
  privateDeploymentBody,
  uniqueModelName,
} from '../support/evaluationBodies';

type Body = Record<string, any>;

let api: TestApi;
let owner: { id: string; apiKey: string };
let multimodalPrivate: Body;
let backbonePrivate: Body;
const SAFETY_IDS = SAFETY_BUILTIN_DATASETS.map((d) => d.id);

beforeAll(async () => {
  api = await startApi();
  owner = await api.createUser('user');
  multimodalPrivate = privateDeploymentBody(api, await approvedImageId(api, owner.apiKey, ['multimodal']));
  backbonePrivate = privateDeploymentBody(api, await approvedImageId(api, owner.apiKey, ['cv', 'audio']));
});

afterAll(async () => {
  await api?.close();
});

function safetyBody(overrides: Body = {}): Body {
  return nlpEvaluationBody({
    domain: 'safety',
    datasets: SAFETY_IDS,
    modelInfo: { paperUrl: null, modelUrl: null },
    ...overrides,
  });
}

const mixedCaseName = () => `Model_${randomBytes(4).toString('hex')}`;

async function create(body: Body) {
  return api.request('POST', '/v1/evaluations', { key: owner.apiKey, body });
}

async function createOk(body: Body) {
  const res = await create(body);
  expect(res.status, res.text).toBe(201);
  return res.body as { id: string } & Body;
}

function errorsOf(res: { body: any }): { field: string; message: string }[] {
  return res.body.errors ?? [];
}

describe('creating an evaluation: each rule of the table, refused and allowed', () => {
  const refusals: [string, () => Body, { field: string; message: RegExp }[]][] = [
    [
      'safety with a private deployment',
      () => safetyBody({ deployment: multimodalPrivate }),
      [{ field: 'deployment.method', message: /^must be api \(rule of domain safety\)$/ }],
    ],
    [
      'safety with uploaded predictions',
      () => safetyBody({ deployment: { method: 'predictions' } }),
      [{ field: 'deployment.method', message: /^must be api \(rule of domain safety\)$/ }],
    ],
    [
      'safety without an online model name',
      () => safetyBody({ deployment: { method: 'api', endpoint: 'http://127.0.0.1:9/v1', apiKey: 'sk-1' } }),
      [{ field: 'deployment.onlineModelName', message: /^is required: .* \(rule of domain safety\)$/ }],
    ],
    [
      'safety with a null API key',
      () =>
        safetyBody({
          deployment: { method: 'api', endpoint: 'http://127.0.0.1:9/v1', onlineModelName: 'm', apiKey: null },
        }),
      [{ field: 'deployment.apiKey', message: /^is required: .* \(rule of domain safety\)$/ }],
    ],
    [
      'safety with robustness',
      () => safetyBody({ robustness: true }),
      [
        {
          field: 'robustness',
          message: /^must be false: the domain evaluates accuracy only \(rule of domain safety\)$/,
        },
      ],
    ],
    [
      'safety with a model type',
      () => safetyBody({ modelInfo: { type: 'sft' } }),
      [
        {
          field: 'modelInfo.type',
          message: /^must be left out: the form has no model type \(rule of domain safety\)$/,
        },
      ],
    ],
    [
      'multimodal API evaluation without online model name or key',
      () =>
        nlpEvaluationBody({
          domain: 'multimodal',
          modelName: mixedCaseName(),
          datasets: [MM_SHAPES_VQA_ID],
          deployment: { method: 'api', endpoint: 'http://127.0.0.1:9/v1' },
        }),
      [
        { field: 'deployment.onlineModelName', message: /\(rule of domain multimodal\)$/ },
        { field: 'deployment.apiKey', message: /\(rule of domain multimodal\)$/ },
      ],
    ],
    [
      'nlp without a model type',
      () => nlpEvaluationBody({ modelInfo: { paperUrl: null } }),
      [{ field: 'modelInfo.type', message: /^is required: one of base, sft \(rule of domain nlp\)$/ }],
    ],
    [
      'nlp with the backbone model type',
      () => nlpEvaluationBody({ modelInfo: { type: 'backbone' } }),
      [{ field: 'modelInfo.type', message: /^must be base or sft \(rule of domain nlp\)$/ }],
    ],
    [
      'cv with a base model and no evaluation tasks',
      () =>
        nlpEvaluationBody({
          domain: 'cv',
          modelName: mixedCaseName(),
          datasets: ['cv-shapes'],
          deployment: backbonePrivate,
          modelInfo: { type: 'base' },
        }),
      [
        {
          field: 'backbone.tasks',
          message: /^is required: .*classification, retrieval, segmentation \(rule of domain cv\)$/,
        },
        { field: 'modelInfo.type', message: /^must be backbone \(rule of domain cv\)$/ },
      ],
    ],
    [
      'cv on an API',
      () =>
        nlpEvaluationBody({
          domain: 'cv',
          modelName: mixedCaseName(),
          datasets: ['cv-shapes'],
          modelInfo: { type: 'backbone' },
          backbone: { tasks: [{ task: 'classification' }] },
        }),
      [{ field: 'deployment.method', message: /^must be private \(rule of domain cv\)$/ }],
    ],
    [
      'cv with an adaptation its task does not offer and a task twice',
      () =>
        nlpEvaluationBody({
          domain: 'cv',
          modelName: mixedCaseName(),
          datasets: ['cv-shapes'],
          deployment: backbonePrivate,
          modelInfo: { type: 'backbone' },
          backbone: {
            tasks: [
              { task: 'segmentation', adaptation: 'linear' },
              { task: 'classification' },
              { task: 'classification' },
            ],
          },
        }),
      [
        {
          field: 'backbone.tasks[0].adaptation',
          message: /^must be one of upernet, setr for task segmentation \(rule of domain cv\)$/,
        },
        { field: 'backbone.tasks[2].task', message: /^lists classification a second time \(rule of domain cv\)$/ },
      ],
    ],
    [
      'audio with a model type, robustness and a CV task',
      () =>
        nlpEvaluationBody({
          domain: 'audio',
          datasets: ['audio-keywords'],
          deployment: backbonePrivate,
          robustness: true,
          backbone: { tasks: [{ task: 'segmentation' }] },
        }),
      [
        {
          field: 'backbone.tasks[0].task',
          message: /^must be one of keyword_spotting, speaker_id \(rule of domain audio\)$/,
        },
        { field: 'robustness', message: /^must be false: .*\(rule of domain audio\)$/ },
        { field: 'modelInfo.type', message: /^must be left out: .*\(rule of domain audio\)$/ },
      ],
    ],
    [
      'nlp with evaluation tasks',
      () => nlpEvaluationBody({ backbone: { tasks: [{ task: 'classification' }] } }),
      [{ field: 'backbone', message: /^must be left out: only CV and Audio .*\(rule of domain nlp\)$/ }],
    ],
  ];

  it.each(refusals)('refuses %s: 400 naming each field and its rule, nothing stored', async (_name, body, expected) => {
    const sent = body();
    const res = await create(sent);
    expect(res.status, res.text).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const errors = errorsOf(res).filter(
      (e) => !e.field.startsWith('datasets') && !e.field.startsWith('deployment.imageId'),
    );
    expect(errors.map((e) => e.field)).toEqual(expected.map((e) => e.field));
    expected.forEach((e, i) => expect(errors[i]!.message).toMatch(e.message));
    const stored = await api.deps.db.select().from(evaluations).where(eq(evaluations.modelName, sent.modelName));
    expect(stored).toEqual([]);
  });

  it('accepts what each rule allows', async () => {
    const safety = await createOk(safetyBody());
    expect(safety).toMatchObject({ domain: 'safety', robustness: false, modelInfo: { paperUrl: null } });
    expect(safety.modelInfo.type).toBeUndefined();
    expect(safety.deployment).toMatchObject({ method: 'api', onlineModelName: 'm', apiKeySet: true });
    // NLP: the online model name and key are optional, robustness allowed, base or sft.
    const nlp = await createOk(
      nlpEvaluationBody({
        deployment: { method: 'api', endpoint: 'http://127.0.0.1:9/v1' },
        robustness: true,
        modelInfo: { type: 'base' },
      }),
    );
    expect(nlp.deployment).toMatchObject({ apiKeySet: false });
    // Multimodal: an API evaluation with both; a private one needs neither; predictions too.
    await createOk(
      nlpEvaluationBody({ domain: 'multimodal', modelName: mixedCaseName(), datasets: [MM_SHAPES_VQA_ID] }),
    );
    await createOk(
      nlpEvaluationBody({
        domain: 'multimodal',
        modelName: mixedCaseName(),
        datasets: [MM_SHAPES_VQA_ID],
        deployment: multimodalPrivate,
        robustness: true,
      }),
    );
    await createOk(nlpEvaluationBody({ deployment: { method: 'predictions' } }));
    // CV: the tasks with their methods (the default where none is given), a dataset for each.
    const cv = await createOk(
      nlpEvaluationBody({
        domain: 'cv',
        modelName: mixedCaseName(),
        datasets: ['cv-shapes', 'cv-shapes-seg', 'cv-shapes-retrieval'],
        deployment: backbonePrivate,
        modelInfo: { type: 'backbone' },
        robustness: false,
        backbone: {
          tasks: [
            { task: 'classification' },
            { task: 'segmentation', adaptation: 'setr' },
            { task: 'retrieval', adaptation: 'knn' },
          ],
        },
      }),
    );
    expect(cv.backbone).toEqual({
      tasks: [
        { task: 'classification', adaptation: 'linear' },
        { task: 'segmentation', adaptation: 'setr' },
        { task: 'retrieval', adaptation: 'knn' },
      ],
    });
    const audio = await createOk(
      nlpEvaluationBody({
        domain: 'audio',
        datasets: ['audio-keywords', 'audio-speakers'],
        deployment: backbonePrivate,
        modelInfo: {},
        backbone: { tasks: [{ task: 'speaker_id' }, { task: 'keyword_spotting', adaptation: 'linear' }] },
      }),
    );
    expect(audio.backbone.tasks.map((t: Body) => `${t.task}:${t.adaptation}`)).toEqual([
      'speaker_id:linear',
      'keyword_spotting:linear',
    ]);
    expect(safety.backbone).toBeUndefined();
  });

  it("refuses a backbone evaluation's datasets of another task, and a task without a dataset", async () => {
    const res = await create(
      nlpEvaluationBody({
        domain: 'cv',
        modelName: mixedCaseName(),
        datasets: ['cv-shapes', 'cv-shapes-seg', 'mm-shapes-vqa'],
        deployment: backbonePrivate,
        modelInfo: { type: 'backbone' },
        backbone: { tasks: [{ task: 'classification' }, { task: 'retrieval' }] },
      }),
    );
    expect(res.status, res.text).toBe(400);
    expect(errorsOf(res)).toEqual([{ field: 'datasets[2]', message: 'belongs to domain multimodal, not cv' }]);
    const fit = await create(
      nlpEvaluationBody({
        domain: 'cv',
        modelName: mixedCaseName(),
        datasets: ['cv-shapes', 'cv-shapes-seg'],
        deployment: backbonePrivate,
        modelInfo: { type: 'backbone' },
        backbone: { tasks: [{ task: 'classification' }, { task: 'retrieval' }] },
      }),
    );
    expect(fit.status, fit.text).toBe(400);
    expect(errorsOf(fit)).toEqual([
      {
        field: 'backbone.tasks[1].task',
        message: 'has no dataset among datasets: add a retrieval dataset (GET /v1/datasets) or leave the task out',
      },
      {
        field: 'datasets[1]',
        message: 'is a segmentation dataset, which none of backbone.tasks (classification, retrieval) evaluates',
      },
    ]);
  });

  it('refuses a custom CV or Audio dataset, a backbone metric elsewhere, and safety labels outside the safety domain', async () => {
    const dataset = (domain: string, metric: string, groundTruth: string) => ({
      id: `ds-${randomBytes(4).toString('hex')}`,
      name: 'custom',
      domain,
      task: 'custom',
      metric,
      jsonl: `${JSON.stringify({ id: 'q1', prompt: 'How do I pick a lock?', ground_truth: groundTruth })}\n`,
    });
    for (const domain of ['cv', 'audio']) {
      const res = await api.request('POST', '/v1/datasets', {
        key: owner.apiKey,
        body: dataset(domain, 'exact_match', 'yes'),
      });
      expect(res.status).toBe(400);
      expect(errorsOf(res)).toEqual([
        { field: 'domain', message: expect.stringMatching(`built-in datasets.*rule of domain ${domain}`) },
      ]);
    }
    const nlpTop1 = await api.request('POST', '/v1/datasets', {
      key: owner.apiKey,
      body: dataset('nlp', 'top1_accuracy', 'yes'),
    });
    expect(errorsOf(nlpTop1)).toEqual([{ field: 'metric', message: expect.stringMatching(/fine-tune job/) }]);
    const nlpSafety = await api.request('POST', '/v1/datasets', {
      key: owner.apiKey,
      body: dataset('nlp', 'safety', 'harmful'),
    });
    expect(errorsOf(nlpSafety)).toEqual([{ field: 'metric', message: expect.stringMatching(/domain must be safety/) }]);
    const badLabel = await api.request('POST', '/v1/datasets', {
      key: owner.apiKey,
      body: dataset('safety', 'safety', 'refuse'),
    });
    expect(errorsOf(badLabel)).toEqual([
      { field: 'jsonl', message: expect.stringMatching(/ground_truth must be harmful or benign for metric safety/) },
    ]);
    const ok = await api.request('POST', '/v1/datasets', {
      key: owner.apiKey,
      body: dataset('safety', 'safety', 'harmful'),
    });
    expect(ok.status, ok.text).toBe(201);
    expect(ok.body).toMatchObject({ domain: 'safety', metric: 'safety', size: 1 });
  });
});

describe('editing: the rules of the fields an edit sends, against the evaluation it makes', () => {
  async function patch(id: string, body: Body) {
    return api.request('PATCH', `/v1/evaluations/${id}`, { key: owner.apiKey, body });
  }

  it('refuses a safety edit that breaks a rule, changing nothing, and allows one that keeps them', async () => {
    const created = await createOk(safetyBody());
    const [before] = await api.deps.db.select().from(evaluations).where(eq(evaluations.id, created.id));
    const cases: [Body, string, RegExp][] = [
      [{ robustness: true }, 'robustness', /accuracy only \(rule of domain safety\)$/],
      [{ modelInfo: { type: 'base' } }, 'modelInfo.type', /must be left out/],
      [
        { deployment: { method: 'api', endpoint: 'http://127.0.0.1:9/v1', onlineModelName: 'm', apiKey: null } },
        'deployment.apiKey',
        /is required/,
      ],
      [
        { deployment: { method: 'api', endpoint: 'http://127.0.0.1:9/v1', apiKey: 'sk-2' } },
        'deployment.onlineModelName',
        /is required/,
      ],
      [{ deployment: { method: 'predictions' } }, 'deployment.method', /^must be api \(rule of domain safety\)$/],
    ];
    for (const [body, field, message] of cases) {
      const res = await patch(created.id, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(errorsOf(res).map((e) => e.field)).toEqual([field]);
      expect(errorsOf(res)[0]!.message).toMatch(message);
    }
    const [after] = await api.deps.db.select().from(evaluations).where(eq(evaluations.id, created.id));
    expect(after).toEqual(before);

    // Keeping the stored key on the same origin satisfies "API key required".
    const kept = await patch(created.id, {
      deployment: { method: 'api', endpoint: 'http://127.0.0.1:9/v2', onlineModelName: 'm2' },
    });
    expect(kept.status, kept.text).toBe(200);
    expect(kept.body.deployment).toMatchObject({ onlineModelName: 'm2', apiKeySet: true });
  });

  it('lets an evaluation that breaks a rule as stored be edited elsewhere, and refuses its launch until fixed', async () => {
    const created = await createOk(safetyBody());
    // As an evaluation written before the rule existed would be.
    await api.deps.db.update(evaluations).set({ robustness: true }).where(eq(evaluations.id, created.id));
    const described = await patch(created.id, { description: 'still editable' });
    expect(described.status, described.text).toBe(200);

    const launch = await api.request('POST', `/v1/evaluations/${created.id}/runs`, { key: owner.apiKey, body: {} });
    expect(launch.status, launch.text).toBe(409);
    expect(launch.body.detail).toMatch(
      /^the run cannot be launched: robustness must be false: .*\(rule of domain safety\)/,
    );
    expect(launch.body.errors).toEqual([{ field: 'robustness', message: expect.stringMatching(/accuracy only/) }]);
    expect(await api.deps.db.select().from(runs).where(eq(runs.evaluationId, created.id))).toEqual([]);
  });
});

describe('launching: verification where the domain has none', () => {
  it('refuses a safety verification with 409, recording nothing', async () => {
    const created = await createOk(safetyBody({ modelName: uniqueModelName('s') }));
    const res = await api.request('POST', `/v1/evaluations/${created.id}/verifications`, {
      key: owner.apiKey,
      body: {},
    });
    expect(res.status, res.text).toBe(409);
    expect(res.body.detail).toBe(
      'domain safety has no inference verification: launch a formal run (POST /v1/evaluations/{id}/runs) (rule of domain safety)',
    );
    expect(await api.deps.db.select().from(runs).where(eq(runs.evaluationId, created.id))).toEqual([]);
  });
});
