/**
 * Private deployment through HTTP. Creating and editing an evaluation: the image is approved, the
 * owner's own or preloaded, and serves the domain; the GPU type exists and has the units asked for,
 * each broken rule a 400 naming the field. Launching it (verification and formal): the latest
 * upload has passed its check, the GPUs fit the model's size, the image is still usable, each a 409
 * taken before any quota; and an accepted launch freezes the serving plan into the run.
 *
 * Uploads are simulated by writing upload_versions rows with their check report. No workers run:
 * launched workflows wait on their queue and are terminated when the file ends.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes, randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { MM_SHAPES_VQA_ID } from '../../datasets/builtin/multimodal/mmShapesVqa';
import { buildApp } from '../../api/app';
import { evaluations, images, runs, uploadVersions } from '../../db/schema';
import { parseGpuTypes } from '../../config/env';
import { maxGpusForScale, type UploadCheckProblem, type UploadCheckReport } from '../../contracts/upload';
import { NLP_SERVING_IMAGE_REF } from '../../contracts/platformImages';
import type { ServingPlan } from '../../contracts/run';
import { startApi, type TestApi } from '../support/apiServer';
import {
  approvedImageId,
  nlpEvaluationBody,
  platformImageId,
  privateDeploymentBody,
  registerDataset,
  pendingImageId,
} from '../support/evaluationBodies';
import { formalUsed } from '../support/quotaFixtures';

const GPU_TYPES = 'cpu:2::CPU only (no GPU),a100:8:nvidia:NVIDIA A100';

let api: TestApi;
let owner: { id: string; apiKey: string };
let other: { id: string; apiKey: string };
let platformImage: string;
const launchedWorkflows: string[] = [];
const configured = process.env.PROCTOR_GPU_TYPES;

beforeAll(async () => {
  process.env.PROCTOR_GPU_TYPES = GPU_TYPES;
  api = await startApi();
  [owner, other] = await Promise.all([api.createUser(), api.createUser()]);
  platformImage = await platformImageId(api, owner.apiKey);
});

afterAll(async () => {
  for (const id of launchedWorkflows) {
    await api.deps.temporal.workflow
      .getHandle(id)
      .terminate('test finished')
      .catch(() => {});
  }
  await api?.close();
  if (configured === undefined) delete process.env.PROCTOR_GPU_TYPES;
  else process.env.PROCTOR_GPU_TYPES = configured;
});

type Body = Record<string, any>;

function privateBody(deployment: Body, overrides: Body = {}): Body {
  return nlpEvaluationBody({ deployment, ...overrides });
}

async function create(body: Body, key = owner.apiKey) {
  return api.request('POST', '/v1/evaluations', { key, body });
}

async function createOk(body: Body, key = owner.apiKey) {
  const res = await create(body, key);
  expect(res.status, res.text).toBe(201);
  return res.body as Body;
}

/** An image the user imported, left pending. */

async function rejectedImage(key: string): Promise<string> {
  const id = await pendingImageId(api, key);
  const res = await api.request('POST', `/v1/images/${id}/reject`, {
    key: api.adminKey,
    body: { reason: 'downloads with curl' },
  });
  expect(res.status).toBe(200);
  return id;
}

function errorsOf(res: { body: any }): { field: string; message: string }[] {
  return res.body.errors ?? [];
}

describe('creating and editing a private evaluation', () => {
  it('accepts the preloaded image, or the owner’s own approved one, with a GPU type and count the hosts have', async () => {
    const deployment = privateDeploymentBody(api, platformImage, { gpuType: 'a100', gpuCount: 8, priority: 'high' });
    const created = await createOk(privateBody(deployment));
    expect(created.deployment).toEqual(deployment);
    const [row] = await api.deps.db.select().from(evaluations).where(eq(evaluations.id, created.id));
    expect(row!.apiKeyCipher).toBeNull();

    const own = await approvedImageId(api, owner.apiKey, ['nlp', 'multimodal']);
    await createOk(privateBody(privateDeploymentBody(api, own, { gpuType: 'cpu', gpuCount: 2 })));
    await createOk({
      ...nlpEvaluationBody({
        domain: 'multimodal',
        modelName: `Mm-${randomBytes(4).toString('hex')}`,
        datasets: [MM_SHAPES_VQA_ID],
      }),
      deployment: privateDeploymentBody(api, own),
    });
  });

  const refusals: [string, () => Promise<Body>, string, RegExp][] = [
    [
      'an image id that is not a uuid',
      async () => ({ imageId: 'img-1' }),
      'deployment.imageId',
      /^names no image \("img-1"\); choose one from GET \/v1\/images$/,
    ],
    ['an unknown image', async () => ({ imageId: randomUUID() }), 'deployment.imageId', /^names no image/],
    [
      'another user’s approved image',
      async () => ({ imageId: await approvedImageId(api, other.apiKey, ['nlp']) }),
      'deployment.imageId',
      /^names no image \("[0-9a-f-]{36}"\); choose one from GET \/v1\/images$/,
    ],
    [
      'another user’s pending image',
      async () => ({ imageId: await pendingImageId(api, other.apiKey) }),
      'deployment.imageId',
      /^names no image/,
    ],
    [
      'an own image pending review',
      async () => ({ imageId: await pendingImageId(api, owner.apiKey) }),
      'deployment.imageId',
      /which is pending review; it can be used once an admin approves it$/,
    ],
    [
      'an own rejected image',
      async () => ({ imageId: await rejectedImage(owner.apiKey) }),
      'deployment.imageId',
      /which was rejected \(downloads with curl\); fix it and import it again$/,
    ],
    [
      'an own approved image for another domain',
      async () => ({ imageId: await approvedImageId(api, owner.apiKey, ['cv', 'audio']) }),
      'deployment.imageId',
      /which serves cv, audio, not nlp$/,
    ],
    [
      'an unknown GPU type',
      async () => ({ gpuType: 'h100' }),
      'deployment.gpuType',
      /^must be one of cpu \(CPU only \(no GPU\)\), a100 \(NVIDIA A100\); see GET \/v1\/resources$/,
    ],
    ['a GPU type in the wrong case', async () => ({ gpuType: 'A100' }), 'deployment.gpuType', /must be one of cpu/],
    [
      'more units than the type has',
      async () => ({ gpuType: 'cpu', gpuCount: 3 }),
      'deployment.gpuCount',
      /^must be at most 2: the container hosts have 2 units of cpu in all$/,
    ],
  ];

  it.each(refusals)('refuses %s: 400 naming the field', async (_name, change, field, message) => {
    const body = privateBody(privateDeploymentBody(api, platformImage, await change()));
    const res = await create(body);
    expect(res.status, res.text).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(errorsOf(res).map((e) => e.field)).toEqual([field]);
    expect(errorsOf(res)[0]!.message).toMatch(message);
    expect(await api.deps.db.select().from(evaluations).where(eq(evaluations.modelName, body.modelName))).toEqual([]);
  });

  it('refuses the preloaded NLP image for a multimodal evaluation', async () => {
    const res = await create({
      ...nlpEvaluationBody({
        domain: 'multimodal',
        modelName: `Mm-${randomBytes(4).toString('hex')}`,
        datasets: [MM_SHAPES_VQA_ID],
      }),
      deployment: privateDeploymentBody(api, platformImage),
    });
    expect(res.status).toBe(400);
    expect(errorsOf(res)).toEqual([
      {
        field: 'deployment.imageId',
        message: expect.stringMatching(/^names image proctor-nlp-serving:1, which serves nlp, not multimodal$/),
      },
    ]);
  });

  it('names image and GPU problems together, after the other fields', async () => {
    const res = await create(
      privateBody(privateDeploymentBody(api, randomUUID(), { gpuType: 'tpu' }), { datasets: ['no-such-dataset'] }),
    );
    expect(res.status).toBe(400);
    expect(errorsOf(res).map((e) => e.field)).toEqual(['datasets[0]', 'deployment.imageId', 'deployment.gpuType']);
  });

  it('checks the method for the domain first, and only then the image', async () => {
    const safety = await registerDataset(api, owner.apiKey, 'safety');
    const res = await create(
      privateBody(privateDeploymentBody(api, randomUUID(), { gpuType: 'tpu' }), {
        domain: 'safety',
        datasets: [safety],
        modelInfo: { paperUrl: null },
      }),
    );
    expect(res.status).toBe(400);
    expect(errorsOf(res)).toEqual([{ field: 'deployment.method', message: 'must be api (rule of domain safety)' }]);
  });

  it('applies the same rules to an edit, which changes nothing when refused', async () => {
    const created = await createOk(nlpEvaluationBody());
    const [before] = await api.deps.db.select().from(evaluations).where(eq(evaluations.id, created.id));
    const pending = await pendingImageId(api, owner.apiKey);
    const patch = (deployment: Body, key = owner.apiKey) =>
      api.request('PATCH', `/v1/evaluations/${created.id}`, { key, body: { deployment } });

    const refused = await patch(privateDeploymentBody(api, pending, { gpuCount: 5 }));
    expect(refused.status).toBe(400);
    expect(errorsOf(refused).map((e) => e.field)).toEqual(['deployment.imageId', 'deployment.gpuCount']);
    expect(errorsOf(refused)[0]!.message).toMatch(/pending review/);
    const [after] = await api.deps.db.select().from(evaluations).where(eq(evaluations.id, created.id));
    expect(after).toEqual(before);

    const accepted = await patch(privateDeploymentBody(api, platformImage));
    expect(accepted.status, accepted.text).toBe(200);
    expect(accepted.body.deployment).toEqual(privateDeploymentBody(api, platformImage));

    // An admin edits as the owner would: the admin's own approved image is not the owner's.
    const adminImage = await approvedImageId(api, api.adminKey, ['nlp']);
    const byAdmin = await patch(privateDeploymentBody(api, adminImage), api.adminKey);
    expect(byAdmin.status).toBe(400);
    expect(errorsOf(byAdmin)).toEqual([
      { field: 'deployment.imageId', message: expect.stringMatching(/^names no image/) },
    ]);
  });
});

function report(ok: boolean, scale: number | null, problems: UploadCheckProblem[] = []): UploadCheckReport {
  return {
    ok,
    domain: 'nlp',
    problems,
    parameterScaleBillion: scale,
    maxGpus: scale === null ? null : maxGpusForScale(scale),
  };
}

/** What an upload leaves behind: a version row with its check report. */
async function upload(evaluationId: string, version: number, check: UploadCheckReport): Promise<string> {
  const storagePath = `${evaluationId}/v${version}`;
  await api.deps.db
    .insert(uploadVersions)
    .values({ evaluationId, version, kind: 'upload', files: 4, bytes: 1234, storagePath, check });
  return storagePath;
}

async function launch(evaluationId: string, kind: 'runs' | 'verifications', key = owner.apiKey) {
  const res = await api.request('POST', `/v1/evaluations/${evaluationId}/${kind}`, { key });
  if (res.status === 202) launchedWorkflows.push(res.body.workflowId);
  return res;
}

async function runsOf(evaluationId: string) {
  return api.deps.db.select().from(runs).where(eq(runs.evaluationId, evaluationId));
}

/** Each launch kind is refused with 409, takes no quota and writes no run. */
async function expectRefused(
  user: { id: string; apiKey: string },
  evaluationId: string,
  field: string,
  message: RegExp,
) {
  const quota = await formalUsed(api.deps.db, user.id);
  for (const kind of ['verifications', 'runs'] as const) {
    const res = await launch(evaluationId, kind, user.apiKey);
    expect(res.status, res.text).toBe(409);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body.detail).toMatch(message);
    expect(errorsOf(res).map((e) => e.field)).toContain(field);
    expect(errorsOf(res).find((e) => e.field === field)!.message).toMatch(message);
  }
  expect(await formalUsed(api.deps.db, user.id)).toBe(quota);
  expect(await runsOf(evaluationId)).toEqual([]);
}

describe('launching a private evaluation', () => {
  async function privateEvaluation(
    user = owner,
    deployment: Body = privateDeploymentBody(api, platformImage, { gpuType: 'a100', gpuCount: 4 }),
  ) {
    return createOk(privateBody(deployment), user.apiKey);
  }

  it('is refused until model and code are uploaded, pointing at how to upload', async () => {
    const user = await api.createUser();
    const evaluation = await privateEvaluation(user);
    await expectRefused(
      user,
      evaluation.id,
      'upload',
      /upload model and code first \(POST \/v1\/evaluations\/[0-9a-f-]+\/upload-token, then `proctor upload`\)/,
    );
  });

  it('is refused while the latest upload has failed its check, listing each problem', async () => {
    const user = await api.createUser();
    const evaluation = await privateEvaluation(user);
    await upload(evaluation.id, 1, report(true, 7));
    await upload(
      evaluation.id,
      2,
      report(false, null, [
        { path: 'service.py', rule: 'required', message: 'is missing; define class Service(NLPModelService)' },
        { path: 'meta.json', rule: 'json', message: 'is not valid JSON' },
      ]),
    );
    await expectRefused(
      user,
      evaluation.id,
      'upload',
      /version 2: service\.py: is missing; define class Service\(NLPModelService\); fix it and upload again/,
    );
    const res = await launch(evaluation.id, 'runs', user.apiKey);
    expect(errorsOf(res)).toEqual([
      {
        field: 'upload',
        message: 'version 2: service.py: is missing; define class Service(NLPModelService); fix it and upload again',
      },
      { field: 'upload', message: 'version 2: meta.json: is not valid JSON; fix it and upload again' },
    ]);
  });

  it('is refused when the model is too large for the GPUs asked for, by the seed’s rule', async () => {
    const user = await api.createUser();
    const evaluation = await privateEvaluation(
      user,
      privateDeploymentBody(api, platformImage, { gpuType: 'a100', gpuCount: 8 }),
    );
    await upload(evaluation.id, 1, report(true, 13));
    await expectRefused(
      user,
      evaluation.id,
      'deployment.gpuCount',
      /must be at most 4 for this model: the platform allows ≤ 7B: 1, ≤ 20B: 4, > 20B: 8 GPUs, and this model is 13 B \(meta\.json of upload version 1\)/,
    );
  });

  it('is refused when the image is no longer approved', async () => {
    const user = await api.createUser();
    const image = await approvedImageId(api, user.apiKey, ['nlp']);
    const evaluation = await privateEvaluation(user, privateDeploymentBody(api, image));
    await upload(evaluation.id, 1, report(true, 7));
    await api.deps.db
      .update(images)
      .set({ status: 'rejected', rejectReason: 'found a backdoor' })
      .where(eq(images.id, image));
    await expectRefused(user, evaluation.id, 'deployment.imageId', /which was rejected \(found a backdoor\)/);
  });

  it('is refused when the hosts no longer offer the GPU type or enough of it', async () => {
    const user = await api.createUser();
    const evaluation = await privateEvaluation(
      user,
      privateDeploymentBody(api, platformImage, { gpuType: 'a100', gpuCount: 4 }),
    );
    await upload(evaluation.id, 1, report(true, 20));
    for (const [spec, field, message] of [
      ['cpu:2', 'deployment.gpuType', /must be one of cpu/],
      ['cpu:2,a100:2:nvidia', 'deployment.gpuCount', /must be at most 2: the container hosts have 2 units of a100/],
    ] as const) {
      const app = await buildApp(
        {
          ...api.deps,
          env: { ...api.deps.env, containers: { ...api.deps.env.containers, gpuTypes: parseGpuTypes(spec) } },
        },
        { logger: false },
      );
      try {
        const res = await app.inject({
          method: 'POST',
          url: `/v1/evaluations/${evaluation.id}/runs`,
          headers: { authorization: `Bearer ${user.apiKey}` },
        });
        expect(res.statusCode).toBe(409);
        expect(res.json().errors).toEqual([{ field, message: expect.stringMatching(message) }]);
      } finally {
        await app.close();
      }
    }
    expect(await formalUsed(api.deps.db, user.id)).toBe(0);
    expect(await runsOf(evaluation.id)).toEqual([]);
  });

  it('freezes the serving plan from the latest passing upload into the run, for a verification and a formal run', async () => {
    const user = await api.createUser();
    const evaluation = await privateEvaluation(
      user,
      privateDeploymentBody(api, platformImage, { gpuType: 'a100', gpuCount: 4, priority: 'low' }),
    );
    await upload(
      evaluation.id,
      1,
      report(false, null, [{ path: '', rule: 'required', message: 'meta.json is missing' }]),
    );
    const storagePath = await upload(evaluation.id, 2, report(true, 13));

    const verification = await launch(evaluation.id, 'verifications', user.apiKey);
    expect(verification.status, verification.text).toBe(202);
    const formal = await launch(evaluation.id, 'runs', user.apiKey);
    expect(formal.status, formal.text).toBe(202);
    expect(formal.body).toMatchObject({ version: 2, type: 'formal', status: 'queued' });
    expect(await formalUsed(api.deps.db, user.id)).toBe(1);

    const expected: ServingPlan = {
      imageId: platformImage,
      imageRef: NLP_SERVING_IMAGE_REF,
      uploadVersion: 2,
      uploadPath: storagePath,
      priority: 'low',
      gpuType: 'a100',
      gpuCount: 4,
    };
    for (const runId of [verification.body.runId, formal.body.runId]) {
      const [run] = await api.deps.db.select().from(runs).where(eq(runs.id, runId));
      expect(run!.config.serving).toEqual(expected);
      expect(run!.config).toMatchObject({
        domain: 'nlp',
        modelName: evaluation.modelName,
        endpoint: '',
        onlineModelName: null,
      });
      expect(run!.apiKeyCipher).toBeNull();
    }

    // A later upload or edit does not change what launched runs serve.
    await upload(evaluation.id, 3, report(true, 3));
    await api.request('PATCH', `/v1/evaluations/${evaluation.id}`, {
      key: user.apiKey,
      body: { deployment: privateDeploymentBody(api, platformImage, { gpuType: 'cpu', gpuCount: 1 }) },
    });
    const [kept] = await api.deps.db.select().from(runs).where(eq(runs.id, formal.body.runId));
    expect(kept!.config.serving).toEqual(expected);
    const next = await launch(evaluation.id, 'verifications', user.apiKey);
    expect(next.status).toBe(202);
    const [latest] = await api.deps.db.select().from(runs).where(eq(runs.id, next.body.runId));
    expect(latest!.config.serving).toMatchObject({
      uploadVersion: 3,
      uploadPath: `${evaluation.id}/v3`,
      gpuType: 'cpu',
      gpuCount: 1,
    });
  });

  it('uses the owner’s view of images when an admin launches it', async () => {
    const user = await api.createUser();
    const image = await approvedImageId(api, user.apiKey, ['nlp']);
    const evaluation = await privateEvaluation(user, privateDeploymentBody(api, image));
    await upload(evaluation.id, 1, report(true, 1.5));
    const res = await launch(evaluation.id, 'runs', api.adminKey);
    expect(res.status, res.text).toBe(202);
    const [run] = await api.deps.db.select().from(runs).where(eq(runs.id, res.body.runId));
    expect(run!.config.serving).toMatchObject({ imageId: image, imageRef: 'nvcr.io/nvidia/pytorch:23.03-py3' });
    expect(await formalUsed(api.deps.db, user.id)).toBe(1);
  });
});
