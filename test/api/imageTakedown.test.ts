/**
 * An admin takes an approved image down, through HTTP: the image shows status taken-down with the
 * reason to its owner and in the listing's filters; only admins may, with a reason of 1–1,000
 * characters; only an approved image a user imported can be taken down (409 naming why otherwise).
 * From then on no evaluation can be created or edited with it, and no run of one that uses it can be
 * launched, whether it serves the model or scores it as a custom image (409 before any quota);
 * a run launched before the takedown is left as it was. Every refusal leaves the store as it was.
 *
 * Uploads are simulated by writing upload_versions rows with their check report. No workers run:
 * launched workflows wait on their queue and are terminated when the file ends.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { evaluations, images, runs, uploadVersions } from '../../db/schema';
import { maxGpusForScale } from '../../contracts/upload';
import { startApi, type TestApi } from '../support/apiServer';
import {
  approvedImageId,
  nlpEvaluationBody,
  platformImageId,
  privateDeploymentBody,
  pendingImageId,
} from '../support/evaluationBodies';
import { formalUsed } from '../support/quotaFixtures';

type User = { id: string; apiKey: string };
type Body = Record<string, any>;

let api: TestApi;
let owner: User;
let other: User;
let reviewer: User;
let adminId: string;
let platformImage: string;
const launchedWorkflows: string[] = [];

beforeAll(async () => {
  api = await startApi();
  [owner, other, reviewer] = await Promise.all([api.createUser(), api.createUser(), api.createUser('reviewer')]);
  const me = await api.request('GET', '/v1/me', { key: api.adminKey });
  expect(me.status, me.text).toBe(200);
  adminId = me.body.id as string;
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
});

const REASON = 'the image sends prompts to a third-party server';

async function takeDown(imageId: string, body: unknown = { reason: REASON }, key = api.adminKey) {
  return api.request('POST', `/v1/images/${imageId}/takedown`, { key, body });
}

async function takeDownOk(imageId: string, reason = REASON) {
  const res = await takeDown(imageId, { reason });
  expect(res.status, res.text).toBe(200);
  return res.body as Body;
}

async function imageRow(id: string) {
  const [row] = await api.deps.db.select().from(images).where(eq(images.id, id));
  return row!;
}

async function list(key: string, query = '') {
  const res = await api.request('GET', `/v1/images${query}`, { key });
  expect(res.status, res.text).toBe(200);
  return res.body.items as Body[];
}

function fieldsOf(res: { body: any }): string[] {
  return (res.body.errors ?? []).map((e: { field: string }) => e.field);
}

async function createPrivate(user: User, imageId: string) {
  return api.request('POST', '/v1/evaluations', {
    key: user.apiKey,
    body: nlpEvaluationBody({ deployment: privateDeploymentBody(api, imageId) }),
  });
}

/** The upload a launch needs: a version whose check passed, for a 7 B model (one GPU). */
async function passedUpload(evaluationId: string) {
  await api.deps.db.insert(uploadVersions).values({
    evaluationId,
    version: 1,
    kind: 'upload',
    files: 4,
    bytes: 1234,
    storagePath: `${evaluationId}/v1`,
    check: { ok: true, domain: 'nlp', problems: [], parameterScaleBillion: 7, maxGpus: maxGpusForScale(7) },
  });
}

async function launchFormal(evaluationId: string, user: User) {
  const res = await api.request('POST', `/v1/evaluations/${evaluationId}/runs`, { key: user.apiKey });
  if (res.status === 202) launchedWorkflows.push(res.body.workflowId);
  return res;
}

async function runsOf(evaluationId: string) {
  return api.deps.db.select().from(runs).where(eq(runs.evaluationId, evaluationId));
}

describe('taking an image down', () => {
  it('moves an approved image to taken-down, recording who, when and why, and keeps its review', async () => {
    const image = await approvedImageId(api, owner.apiKey, ['nlp']);
    const approved = await imageRow(image);
    const before = Date.now();
    const body = await takeDownOk(image);
    expect(body).toMatchObject({
      id: image,
      status: 'taken-down',
      takedownReason: REASON,
      rejectReason: null,
      reviewedAt: approved.reviewedAt!.toISOString(),
    });
    expect(Date.parse(body.takenDownAt)).toBeGreaterThanOrEqual(before - 5_000);
    const row = await imageRow(image);
    expect(row).toMatchObject({ status: 'taken-down', takedownReason: REASON, takenDownBy: adminId });
    expect(row.reviewedBy).toBe(approved.reviewedBy);
  });

  it('shows the status and the reason to the owner, in the listing, its filters and the image itself', async () => {
    const image = await approvedImageId(api, owner.apiKey, ['nlp']);
    const view = await takeDownOk(image);
    expect((await list(owner.apiKey)).find((i) => i.id === image)).toEqual(view);
    expect((await list(owner.apiKey, '?status=taken-down')).map((i) => i.id)).toContain(image);
    expect((await list(owner.apiKey, '?status=taken-down')).every((i) => i.status === 'taken-down')).toBe(true);
    expect((await list(owner.apiKey, '?status=approved')).map((i) => i.id)).not.toContain(image);
    expect((await list(api.adminKey, '?status=taken-down&source=user&domain=nlp')).map((i) => i.id)).toContain(image);
    const one = await api.request('GET', `/v1/images/${image}`, { key: owner.apiKey });
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ status: 'taken-down', takedownReason: REASON });
    // Another user still learns nothing of it.
    expect((await list(other.apiKey)).map((i) => i.id)).not.toContain(image);
    expect((await api.request('GET', `/v1/images/${image}`, { key: other.apiKey })).status).toBe(404);
  });

  it('accepts a reason of 1,000 characters and refuses a missing, empty or longer one (400 naming reason)', async () => {
    const image = await approvedImageId(api, owner.apiKey, ['nlp']);
    const before = await imageRow(image);
    for (const body of [{}, { reason: '' }, { reason: 'x'.repeat(1001) }, { reason: 42 }]) {
      const res = await takeDown(image, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(fieldsOf(res)).toEqual(['reason']);
    }
    expect(await imageRow(image)).toEqual(before);
    const long = 'y'.repeat(1000);
    expect((await takeDownOk(image, long)).takedownReason).toBe(long);
  });

  it('is for admins only: the owner, other users and reviewers get 403 and the image stays approved', async () => {
    const image = await approvedImageId(api, owner.apiKey, ['nlp']);
    const before = await imageRow(image);
    for (const user of [owner, other, reviewer]) {
      const res = await takeDown(image, { reason: REASON }, user.apiKey);
      expect(res.status, res.text).toBe(403);
    }
    expect(await imageRow(image)).toEqual(before);
  });

  it('answers 409 for a pending, rejected, already taken-down or preloaded image, saying why, and changes nothing', async () => {
    const pending = await pendingImageId(api, owner.apiKey);
    const rejected = await pendingImageId(api, owner.apiKey);
    const reject = await api.request('POST', `/v1/images/${rejected}/reject`, {
      key: api.adminKey,
      body: { reason: 'pins nothing' },
    });
    expect(reject.status, reject.text).toBe(200);
    const twice = await approvedImageId(api, owner.apiKey, ['nlp']);
    await takeDownOk(twice, 'first reason');

    for (const [image, detail] of [
      [
        pending,
        /^the image is pending review; only an approved image can be taken down \(reject a pending one instead\)$/,
      ],
      [rejected, /^the image was rejected at [0-9T:.-]+Z; only an approved image can be taken down$/],
      [twice, /^the image was already taken down at [0-9T:.-]+Z; only an approved image can be taken down$/],
      [
        platformImage,
        /^the image is preloaded by the platform; only an approved image a user imported can be taken down$/,
      ],
    ] as const) {
      const before = await imageRow(image);
      const res = await takeDown(image, { reason: 'second reason' });
      expect(res.status, res.text).toBe(409);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(res.body.detail).toMatch(detail);
      expect(res.body.errors).toEqual([{ field: 'status', message: res.body.detail }]);
      expect(await imageRow(image)).toEqual(before);
    }
    expect((await imageRow(twice)).takedownReason).toBe('first reason');
  });

  it('answers 404 for an unknown image, as approve and reject do', async () => {
    for (const id of [randomUUID(), 'not-a-uuid']) {
      const res = await takeDown(id);
      expect(res.status).toBe(404);
      expect(res.body.detail).toBe('image not found');
    }
  });

  it('cannot be followed by a review: approve and reject still answer 409', async () => {
    const image = await approvedImageId(api, owner.apiKey, ['nlp']);
    await takeDownOk(image);
    const before = await imageRow(image);
    const approve = await api.request('POST', `/v1/images/${image}/approve`, { key: api.adminKey });
    expect(approve.status).toBe(409);
    expect(approve.body.detail).toMatch(/^the image is already taken down \(reviewed at .*\); only a pending image/);
    const reject = await api.request('POST', `/v1/images/${image}/reject`, {
      key: api.adminKey,
      body: { reason: 'x' },
    });
    expect(reject.status).toBe(409);
    expect(await imageRow(image)).toEqual(before);
  });
});

describe('what a takedown stops', () => {
  const refusal = new RegExp(`which was taken down by an admin: ${REASON}; choose another image from GET /v1/images$`);

  it('refuses a new evaluation with the image: 400 naming deployment.imageId with the reason', async () => {
    const image = await approvedImageId(api, owner.apiKey, ['nlp']);
    await takeDownOk(image);
    const count = async () =>
      (await api.deps.db.select().from(evaluations).where(eq(evaluations.ownerId, owner.id))).length;
    const before = await count();
    const res = await createPrivate(owner, image);
    expect(res.status, res.text).toBe(400);
    expect(res.body.errors).toEqual([{ field: 'deployment.imageId', message: expect.stringMatching(refusal) }]);
    const { name, tag } = await imageRow(image);
    expect(res.body.errors[0].message).toMatch(new RegExp(`^names image ${name}:${tag}, `));
    expect(await count()).toBe(before);
  });

  it('refuses an edit that names the image; an edit to another image is accepted', async () => {
    const image = await approvedImageId(api, owner.apiKey, ['nlp']);
    const created = await createPrivate(owner, platformImage);
    expect(created.status, created.text).toBe(201);
    await takeDownOk(image);
    const [before] = await api.deps.db.select().from(evaluations).where(eq(evaluations.id, created.body.id));
    const patch = (imageId: string) =>
      api.request('PATCH', `/v1/evaluations/${created.body.id}`, {
        key: owner.apiKey,
        body: { deployment: privateDeploymentBody(api, imageId) },
      });
    const refused = await patch(image);
    expect(refused.status, refused.text).toBe(400);
    expect(refused.body.errors).toEqual([{ field: 'deployment.imageId', message: expect.stringMatching(refusal) }]);
    const [after] = await api.deps.db.select().from(evaluations).where(eq(evaluations.id, created.body.id));
    expect(after).toEqual(before);
    const replacement = await approvedImageId(api, owner.apiKey, ['nlp']);
    expect((await patch(replacement)).status).toBe(200);
  });

  it('refuses a formal run of an evaluation created before the takedown: 409 naming the image, no quota, no run', async () => {
    const user = await api.createUser();
    const image = await approvedImageId(api, user.apiKey, ['nlp']);
    const created = await createPrivate(user, image);
    expect(created.status, created.text).toBe(201);
    await passedUpload(created.body.id);
    const { name, tag } = await imageRow(image);
    await takeDownOk(image);

    const res = await launchFormal(created.body.id, user);
    expect(res.status, res.text).toBe(409);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    // The upload passed and the GPUs fit: the image is the only thing in the way.
    expect(res.body.errors).toEqual([
      { field: 'deployment.imageId', message: expect.stringMatching(new RegExp(`^names image ${name}:${tag}, `)) },
    ]);
    expect(res.body.errors[0].message).toMatch(refusal);
    expect(res.body.detail).toMatch(/^the run cannot be launched: deployment\.imageId names image /);
    expect(await formalUsed(api.deps.db, user.id)).toBe(0);
    expect(await runsOf(created.body.id)).toEqual([]);
  });

  it('refuses a formal run scored by a custom image taken down after it was configured', async () => {
    const user = await api.createUser();
    const image = await approvedImageId(api, user.apiKey, ['nlp']);
    const created = await api.request('POST', '/v1/evaluations', { key: user.apiKey, body: nlpEvaluationBody() });
    expect(created.status, created.text).toBe(201);
    const scoring = await api.request('PUT', `/v1/evaluations/${created.body.id}/scoring`, {
      key: user.apiKey,
      body: { customImage: { imageId: image } },
    });
    expect(scoring.status, scoring.text).toBe(200);
    await takeDownOk(image);

    const res = await launchFormal(created.body.id, user);
    expect(res.status, res.text).toBe(409);
    expect(res.body.errors).toEqual([{ field: 'customImage.imageId', message: expect.stringMatching(refusal) }]);
    expect(await formalUsed(api.deps.db, user.id)).toBe(0);
    expect(await runsOf(created.body.id)).toEqual([]);

    // Nor can a scoring configuration name it any more.
    const again = await api.request('PUT', `/v1/evaluations/${created.body.id}/scoring`, {
      key: user.apiKey,
      body: { customImage: { imageId: image, primaryMetric: 'accuracy' } },
    });
    expect(again.status, again.text).toBe(400);
    expect(again.body.errors).toEqual([{ field: 'customImage.imageId', message: expect.stringMatching(refusal) }]);
  });

  it('leaves a run launched before the takedown as it was: still queued, its workflow running, its image frozen', async () => {
    const user = await api.createUser();
    const image = await approvedImageId(api, user.apiKey, ['nlp']);
    const created = await createPrivate(user, image);
    expect(created.status, created.text).toBe(201);
    await passedUpload(created.body.id);
    const launched = await launchFormal(created.body.id, user);
    expect(launched.status, launched.text).toBe(202);
    const [before] = await runsOf(created.body.id);
    expect(before!.config.serving).toMatchObject({ imageId: image, imageRef: 'nvcr.io/nvidia/pytorch:23.03-py3' });

    await takeDownOk(image);

    expect(await runsOf(created.body.id)).toEqual([before]);
    const described = await api.deps.temporal.workflow.getHandle(launched.body.workflowId).describe();
    expect(described.status.name).toBe('RUNNING');
    const run = await api.request('GET', `/v1/runs/${launched.body.runId}`, { key: user.apiKey });
    expect(run.status, run.text).toBe(200);
    expect(run.body.status).toBe(before!.status);
    // A second formal run is refused.
    const next = await launchFormal(created.body.id, user);
    expect(next.status, next.text).toBe(409);
    expect(await formalUsed(api.deps.db, user.id)).toBe(1);
  });
});
