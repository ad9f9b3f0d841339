/**
 * Image management through HTTP: the preloaded image stored at start-up, importing an image (each
 * rule of name, tag, URL, Dockerfile and domains answered 400 naming the field; name and tag unique),
 * the reviewers' warnings, who sees which image, and review by admins only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { images } from '../../db/schema';
import { upsertPlatformImages } from '../../db/queries/images';
import { NLP_SERVING_IMAGE_REF, PLATFORM_IMAGES } from '../../contracts/platformImages';
import { startApi, type TestApi } from '../support/apiServer';

let api: TestApi;
let owner: { id: string; apiKey: string };
let other: { id: string; apiKey: string };
let reviewer: { id: string; apiKey: string };
/** What the API's clock says; null is the real time. */
let pinnedNow: Date | null = null;

beforeAll(async () => {
  api = await startApi({ now: () => pinnedNow ?? new Date() });
  [owner, other, reviewer] = await Promise.all([
    api.createUser('user'),
    api.createUser('user'),
    api.createUser('reviewer'),
  ]);
});

afterAll(async () => {
  await api?.close();
});

type Body = Record<string, any>;

const DOCKERFILE =
  '# syntax=docker/dockerfile:1\n\nFROM nvcr.io/nvidia/pytorch:23.03-py3\nRUN pip install --no-cache-dir transformers==4.31.0\n';

function importBody(overrides: Body = {}): Body {
  return {
    name: `my-image-${randomUUID().slice(0, 8)}`,
    tag: 'v1.0',
    url: 'nvcr.io/nvidia/pytorch:23.03-py3',
    dockerfile: DOCKERFILE,
    description: 'PyTorch 2 with transformers',
    domains: ['nlp'],
    ...overrides,
  };
}

async function importImage(body: Body, key = owner.apiKey) {
  return api.request('POST', '/v1/images', { key, body });
}

async function importOk(body: Body = importBody(), key = owner.apiKey) {
  const res = await importImage(body, key);
  expect(res.status, res.text).toBe(201);
  return res.body as Body;
}

async function list(key: string, query = '') {
  const res = await api.request('GET', `/v1/images${query}`, { key });
  expect(res.status, res.text).toBe(200);
  return res.body.items as Body[];
}

function fieldsOf(res: { body: any }): string[] {
  return (res.body.errors ?? []).map((e: { field: string }) => e.field);
}

describe('preloaded images', () => {
  it('are stored at start-up, approved, and listed first to every role', async () => {
    for (const key of [owner.apiKey, reviewer.apiKey, api.adminKey]) {
      const items = await list(key);
      const preloaded = items.filter((i) => i.source === 'platform');
      expect(items.slice(0, preloaded.length)).toEqual(preloaded);
      const nlp = preloaded.find((i) => i.name === 'proctor-nlp-serving');
      expect(nlp).toMatchObject({
        tag: '1',
        source: 'platform',
        status: 'approved',
        domains: ['nlp'],
        framework: PLATFORM_IMAGES[0]!.framework,
        hardware: 'CPU',
        url: 'built locally by docker/servingImage.ts',
        ownerId: null,
        rejectReason: null,
      });
      expect(nlp!.description).toMatch(/flageval-serving/);
    }
    const [row] = await api.deps.db
      .select()
      .from(images)
      .where(and(eq(images.name, 'proctor-nlp-serving'), eq(images.tag, '1')));
    expect(row!.runRef).toBe(NLP_SERVING_IMAGE_REF);
    expect(NLP_SERVING_IMAGE_REF).toBe('proctor/nlp-serving:1');
  });

  it('are stored once however often and however concurrently start-up runs, and follow catalog changes', async () => {
    await Promise.all([1, 2, 3, 4].map(() => upsertPlatformImages(api.deps.db, PLATFORM_IMAGES)));
    const rows = await api.deps.db.select().from(images).where(eq(images.source, 'platform'));
    expect(rows.map((r) => `${r.name}:${r.tag}`).sort()).toEqual(
      PLATFORM_IMAGES.map((i) => `${i.name}:${i.tag}`).sort(),
    );

    const changed = PLATFORM_IMAGES.map((i) => ({ ...i, description: `${i.description} (changed)` }));
    await upsertPlatformImages(api.deps.db, changed);
    const [updated] = await api.deps.db.select().from(images).where(eq(images.id, rows[0]!.id));
    expect(updated!.description).toMatch(/\(changed\)$/);
    await upsertPlatformImages(api.deps.db, PLATFORM_IMAGES);
    const [restored] = await api.deps.db.select().from(images).where(eq(images.id, rows[0]!.id));
    expect(restored!.description).toBe(rows[0]!.description);
  });

  it('refuse to take over a user image of the same name and tag', async () => {
    const taken = await importOk(importBody());
    const clash = [{ ...PLATFORM_IMAGES[0]!, name: taken.name, tag: taken.tag }];
    await expect(upsertPlatformImages(api.deps.db, clash)).rejects.toThrow(
      /a user already imported an image under that name and tag/,
    );
  });
});

describe('POST /v1/images', () => {
  it('imports an image pending review: 201, Location, its owner, no warnings for a clean Dockerfile, pulled by its URL', async () => {
    const body = importBody();
    const res = await importImage(body);
    expect(res.status, res.text).toBe(201);
    expect(res.headers.get('location')).toBe(`/v1/images/${res.body.id}`);
    expect(res.body).toMatchObject({
      name: body.name,
      tag: 'v1.0',
      source: 'user',
      status: 'pending',
      url: body.url,
      description: body.description,
      domains: ['nlp'],
      ownerId: owner.id,
      rejectReason: null,
      reviewedAt: null,
      warnings: [],
    });
    const [row] = await api.deps.db.select().from(images).where(eq(images.id, res.body.id));
    expect(row).toMatchObject({ runRef: body.url, dockerfile: DOCKERFILE });
  });

  it('tags an image with the UTC time of the import when no tag is given, and serves every container domain by default', async () => {
    pinnedNow = new Date('2026-03-04T05:06:07.890Z');
    try {
      const { tag: _tag, domains: _domains, description: _description, ...body } = importBody();
      const created = await importOk(body);
      expect(created.tag).toBe('20260304050607');
      expect(created.domains).toEqual(['nlp', 'cv', 'multimodal', 'audio']);
      expect(created.description).toBe('');
      // The same name in the same second: the default tag is taken.
      const again = await importImage(body);
      expect(again.status).toBe(409);
    } finally {
      pinnedNow = null;
    }
  });

  it('refuses a name and tag already taken with 409 naming both, and lets exactly one of concurrent imports win', async () => {
    const body = importBody();
    await importOk(body);
    const res = await importImage(body, other.apiKey);
    expect(res.status).toBe(409);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(fieldsOf(res)).toEqual(['name', 'tag']);
    expect(res.body.detail).toMatch(new RegExp(`${body.name}.*v1\\.0.*already exists`));
    await importOk({ ...body, tag: 'v1.1' });

    const raced = importBody();
    const answers = await Promise.all(Array.from({ length: 10 }, () => importImage(raced)));
    expect(answers.map((a) => a.status).sort()).toEqual([201, ...Array(9).fill(409)]);
  });

  const invalid: [string, Body, string, RegExp][] = [
    [
      'a name with capitals',
      { name: 'MyImage' },
      'name',
      /3–128 characters of lowercase letters, digits, hyphens and dots/,
    ],
    ['a name with an underscore', { name: 'my_image' }, 'name', /lowercase letters, digits, hyphens and dots/],
    ['a name of two characters', { name: 'ab' }, 'name', /3–128/],
    ['a name starting with a digit', { name: '1image' }, 'name', /start with a lowercase letter/],
    ['a name ending with a hyphen', { name: 'image-' }, 'name', /end with a lowercase letter or digit/],
    ['a name ending with a dot', { name: 'image.' }, 'name', /end with a lowercase letter or digit/],
    ['a name of 129 characters', { name: `a${'b'.repeat(128)}` }, 'name', /.+/],
    ['the tag latest', { tag: 'latest' }, 'tag', /must not be latest/],
    ['the tag LATEST', { tag: 'LATEST' }, 'tag', /must not be latest \(in any case\)/],
    ['the tag Latest', { tag: 'Latest' }, 'tag', /must not be latest/],
    ['a tag starting with a dot', { tag: '.v1' }, 'tag', /must be a Docker tag/],
    ['a tag starting with a hyphen', { tag: '-v1' }, 'tag', /not starting with a dot or hyphen/],
    ['a tag with a space', { tag: 'v 1' }, 'tag', /must be a Docker tag/],
    ['a tag with a slash', { tag: 'v1/2' }, 'tag', /must be a Docker tag/],
    ['a tag with a colon', { tag: 'v1:2' }, 'tag', /must be a Docker tag/],
    ['a tag with an accent', { tag: 'vé' }, 'tag', /must be a Docker tag/],
    ['an empty tag', { tag: '' }, 'tag', /1–128 characters/],
    ['a URL with a scheme', { url: 'https://nvcr.io/nvidia/pytorch:23.03-py3' }, 'url', /must not start with a scheme/],
    ['a URL with a space', { url: 'nvcr.io/nvidia/pytorch 23.03' }, 'url', /must not contain spaces/],
    ['a URL with a newline', { url: 'ubuntu:22.04\nRUN' }, 'url', /must not contain spaces or line breaks/],
    ['a URL with capitals in its path', { url: 'nvcr.io/NVIDIA/pytorch:23.03' }, 'url', /Docker image reference/],
    ['a URL with an empty tag', { url: 'ubuntu:' }, 'url', /Docker image reference/],
    ['a URL with a short digest', { url: 'ubuntu@sha256:abc123' }, 'url', /Docker image reference/],
    ['a URL with a leading slash', { url: '/ubuntu' }, 'url', /Docker image reference/],
    ['a URL with two tags', { url: 'ubuntu:22.04:1' }, 'url', /Docker image reference/],
    ['a URL with a double slash', { url: 'nvcr.io//pytorch' }, 'url', /Docker image reference/],
    ['a URL with a trailing separator', { url: 'nvcr.io/nvidia/pytorch-' }, 'url', /Docker image reference/],
    ['an empty URL', { url: '' }, 'url', /image reference/],
    [
      'a Dockerfile starting with RUN',
      { dockerfile: 'RUN apt-get update\nFROM ubuntu:22.04\n' },
      'dockerfile',
      /^line 1: the first instruction must be FROM naming the base image, found RUN$/,
    ],
    [
      'a Dockerfile starting with ARG',
      { dockerfile: '# base\nARG BASE=ubuntu:22.04\nFROM $BASE\n' },
      'dockerfile',
      /^line 2: the first instruction must be FROM.*found ARG$/,
    ],
    [
      'a Dockerfile with only comments',
      { dockerfile: '# nothing here\n\n# at all\n' },
      'dockerfile',
      /has no instructions; it must start with FROM/,
    ],
    [
      'a Dockerfile setting NVIDIA_VISIBLE_DEVICES',
      { dockerfile: 'FROM ubuntu\nENV NVIDIA_VISIBLE_DEVICES=all\n' },
      'dockerfile',
      /^line 2: ENV must not set NVIDIA_VISIBLE_DEVICES: NVIDIA_\* variables are provided by the container/,
    ],
    [
      'a Dockerfile setting CUDA_HOME the legacy way',
      { dockerfile: 'FROM ubuntu\nENV CUDA_HOME /usr/local/cuda\n' },
      'dockerfile',
      /line 2: ENV must not set CUDA_HOME/,
    ],
    [
      'a Dockerfile setting HOSTNAME among others',
      { dockerfile: 'FROM ubuntu\nenv A=1 HOSTNAME="my host" B=2\n' },
      'dockerfile',
      /line 2: ENV must not set HOSTNAME: HOSTNAME is provided by the container and must not be modified/,
    ],
    ['a Dockerfile setting RANK', { dockerfile: 'FROM ubuntu\nENV RANK=0\n' }, 'dockerfile', /ENV must not set RANK/],
    [
      'a Dockerfile setting a PADDLE_ variable on a continued line',
      { dockerfile: 'FROM ubuntu\nENV A=1 \\\n    PADDLE_TRAINER_ID=3\n' },
      'dockerfile',
      /^line 2: ENV must not set PADDLE_TRAINER_ID/,
    ],
    [
      'a Dockerfile setting KUBERNETES_, MASTER_, AIRS_ or NCCL_ variables',
      { dockerfile: 'FROM ubuntu\nENV NCCL_DEBUG=INFO\n' },
      'dockerfile',
      /ENV must not set NCCL_DEBUG/,
    ],
    ['an empty Dockerfile', { dockerfile: '' }, 'dockerfile', /is required/],
    ['a description of 257 characters', { description: 'x'.repeat(257) }, 'description', /at most 256 characters/],
    [
      'a domain that takes no private deployment',
      { domains: ['nlp', 'safety'] },
      'domains[1]',
      /^safety takes API deployments only/,
    ],
    ['an unknown domain', { domains: ['vision'] }, 'domains[0]', /one of nlp, cv, multimodal, audio, safety/],
    ['no domains', { domains: [] }, 'domains', /distinct domains/],
    ['an unknown field', { registry: 'docker.io' }, 'registry', /not a known field/],
  ];

  it.each(invalid)('refuses %s: 400 naming the field', async (_name, overrides, field, message) => {
    const body = importBody(overrides);
    const res = await importImage(body);
    expect(res.status, res.text).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(fieldsOf(res)).toEqual([field]);
    expect(res.body.errors[0].message).toMatch(message);
    expect(
      await api.deps.db
        .select()
        .from(images)
        .where(eq(images.name, String(body.name))),
    ).toEqual([]);
  });

  it.each([['KUBERNETES_SERVICE_HOST'], ['MASTER_ADDR'], ['AIRS_JOB']])('refuses ENV setting %s', async (name) => {
    const res = await importImage(importBody({ dockerfile: `FROM ubuntu\nENV ${name}=x\n` }));
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      { field: 'dockerfile', message: expect.stringContaining(`ENV must not set ${name}`) },
    ]);
  });

  it('accepts the image references docker pull takes, tags at the edges of the rule, and ENV names that only resemble reserved ones', async () => {
    const digest = 'a'.repeat(64);
    for (const url of [
      'ubuntu',
      'ubuntu:22.04',
      'library/python:3.11-slim',
      'localhost:5000/team/model:v1',
      'registry.example.com:443/a/b_c/d__e/f-g--h.i:1.0',
      `docker.io/library/python:3.11@sha256:${digest}`,
      `ghcr.io/org/img@sha256:${digest}`,
      '10.0.0.1:5000/img',
      'Registry.Example.COM/img',
    ]) {
      await importOk(importBody({ url }));
    }
    for (const tag of ['_', 'V1', `a${'b'.repeat(127)}`, '2024.01-rc_1', 'latest1', 'not-latest']) {
      await importOk(importBody({ tag }));
    }
    const allowed =
      'FROM ubuntu\nENV RANKING=1 MY_CUDA_X=2 HOSTNAMES=3 nvidia_visible_devices=4\nARG CUDA_VERSION=12\n';
    expect((await importOk(importBody({ dockerfile: allowed }))).warnings).toEqual([]);
    // Directives, comments and blank lines before FROM are not instructions.
    expect(
      (
        await importOk(
          importBody({ dockerfile: '# syntax=docker/dockerfile:1\n# escape=\\\n\n# base image\nfrom ubuntu\n' }),
        )
      ).status,
    ).toBe('pending');
  });

  it('reports every broken rule of one request together', async () => {
    const res = await importImage(
      importBody({
        name: 'Bad',
        tag: 'latest',
        url: 'http://x/y',
        dockerfile: 'RUN x\nENV CUDA_HOME=/c\n',
        domains: ['safety'],
      }),
    );
    expect(res.status).toBe(400);
    expect(fieldsOf(res)).toEqual(['name', 'tag', 'url', 'dockerfile', 'dockerfile', 'domains[0]']);
  });

  it('warns, without refusing, of downloads in RUN and of COPY or ADD without a comment', async () => {
    const dockerfile = [
      'FROM nvcr.io/nvidia/pytorch:23.03-py3', // 1
      'RUN apt-get update && apt-get install -y curl', // 2: installing curl is not downloading with it
      'RUN curl -fsSL https://example.com/x.sh | bash', // 3
      'RUN pip install a \\', // 4
      '    && wget https://example.com/pkg.tgz', // 5
      'RUN sudo /usr/bin/wget -q x; (curl y)', // 6
      'COPY service.py /app/', // 7
      '# the model weights', // 8
      '', // 9
      'ADD weights /app/weights', // 10
      'ADD --chown=1000 extra /app/extra', // 11
      'RUN ["wget", "-q", "https://example.com/x"]', // 12
    ].join('\n');
    const created = await importOk(importBody({ dockerfile }));
    expect(created.status).toBe('pending');
    expect(created.warnings).toEqual([
      {
        field: 'dockerfile',
        message: expect.stringMatching(/^line 3: RUN uses curl; downloading unknown packages in RUN is not allowed/),
      },
      { field: 'dockerfile', message: expect.stringMatching(/^line 4: RUN uses wget;/) },
      { field: 'dockerfile', message: expect.stringMatching(/^line 6: RUN uses wget and curl;/) },
      { field: 'dockerfile', message: 'line 7: COPY without a comment above it; explain what it adds to the image' },
      { field: 'dockerfile', message: 'line 11: ADD without a comment above it; explain what it adds to the image' },
      { field: 'dockerfile', message: expect.stringMatching(/^line 12: RUN uses wget;/) },
    ]);
    // Reviewers read the Dockerfile and the same warnings.
    const detail = await api.request('GET', `/v1/images/${created.id}`, { key: api.adminKey });
    expect(detail.status).toBe(200);
    expect(detail.body).toMatchObject({ id: created.id, dockerfile, warnings: created.warnings });
  });

  it('is for users and admins: a reviewer gets 403, no key 401', async () => {
    expect((await importImage(importBody(), reviewer.apiKey)).status).toBe(403);
    expect((await api.request('POST', '/v1/images', { body: importBody() })).status).toBe(401);
    expect((await importImage(importBody(), api.adminKey)).status).toBe(201);
  });
});

describe('seeing images', () => {
  it('shows users the preloaded images and their own imports, admins everything, with filters', async () => {
    const mine = await importOk(importBody({ domains: ['cv'] }));
    const theirs = await importOk(importBody(), other.apiKey);

    const ownerSees = (await list(owner.apiKey)).map((i) => i.id);
    expect(ownerSees).toContain(mine.id);
    expect(ownerSees).not.toContain(theirs.id);
    expect((await list(other.apiKey)).map((i) => i.id)).not.toContain(mine.id);
    expect((await list(reviewer.apiKey)).every((i) => i.source === 'platform')).toBe(true);
    const adminSees = (await list(api.adminKey)).map((i) => i.id);
    expect(adminSees).toEqual(expect.arrayContaining([mine.id, theirs.id]));

    expect((await list(owner.apiKey, '?source=platform')).every((i) => i.source === 'platform')).toBe(true);
    const ownUser = await list(owner.apiKey, '?source=user');
    expect(ownUser.length).toBeGreaterThan(0);
    expect(ownUser.every((i) => i.source === 'user' && i.ownerId === owner.id)).toBe(true);
    const pending = await list(api.adminKey, '?status=pending&source=user');
    expect(pending.map((i) => i.id)).toEqual(expect.arrayContaining([mine.id, theirs.id]));
    expect(pending.every((i) => i.status === 'pending')).toBe(true);
    const cv = await list(owner.apiKey, '?domain=cv');
    expect(cv.map((i) => i.id)).toContain(mine.id);
    expect(cv.every((i) => i.domains.includes('cv'))).toBe(true);
    expect((await list(owner.apiKey, '?status=approved')).every((i) => i.status === 'approved')).toBe(true);

    // Newest import first.
    const newer = await importOk(importBody({ domains: ['cv'] }));
    const users = (await list(owner.apiKey, '?source=user')).map((i) => i.id);
    expect(users.indexOf(newer.id)).toBeLessThan(users.indexOf(mine.id));
  });

  it.each([
    ['status=done', 'status'],
    ['source=mine', 'source'],
    ['domain=vision', 'domain'],
    ['owner=me', 'owner'],
  ])('refuses the list query %s naming %s', async (query, field) => {
    const res = await api.request('GET', `/v1/images?${query}`, { key: owner.apiKey });
    expect(res.status).toBe(400);
    expect(fieldsOf(res)).toEqual([field]);
  });

  it('shows one image to its owner and admins with its Dockerfile; others get 404; preloaded ones everyone', async () => {
    const created = await importOk();
    const mine = await api.request('GET', `/v1/images/${created.id}`, { key: owner.apiKey });
    expect(mine.status).toBe(200);
    expect(mine.body).toMatchObject({ id: created.id, dockerfile: DOCKERFILE, warnings: [] });
    for (const res of [
      await api.request('GET', `/v1/images/${created.id}`, { key: other.apiKey }),
      await api.request('GET', `/v1/images/${randomUUID()}`, { key: owner.apiKey }),
      await api.request('GET', '/v1/images/not-a-uuid', { key: owner.apiKey }),
    ]) {
      expect(res.status).toBe(404);
      expect(res.body.detail).toBe('image not found');
    }
    const preloaded = (await list(reviewer.apiKey, '?source=platform'))[0]!;
    const read = await api.request('GET', `/v1/images/${preloaded.id}`, { key: reviewer.apiKey });
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ ...preloaded, dockerfile: '', warnings: [] });
  });
});

describe('reviewing images', () => {
  it('lets an admin approve a pending image once', async () => {
    const created = await importOk();
    const approved = await api.request('POST', `/v1/images/${created.id}/approve`, { key: api.adminKey });
    expect(approved.status, approved.text).toBe(200);
    expect(approved.body).toMatchObject({ id: created.id, status: 'approved', rejectReason: null });
    expect(Date.parse(approved.body.reviewedAt)).not.toBeNaN();
    const [row] = await api.deps.db.select().from(images).where(eq(images.id, created.id));
    expect(row!.reviewedBy).not.toBeNull();

    const twice = await api.request('POST', `/v1/images/${created.id}/approve`, { key: api.adminKey });
    expect(twice.status).toBe(409);
    expect(twice.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(twice.body.detail).toMatch(/already approved .*only a pending image can be reviewed/);
    const rejectAfter = await api.request('POST', `/v1/images/${created.id}/reject`, {
      key: api.adminKey,
      body: { reason: 'late' },
    });
    expect(rejectAfter.status).toBe(409);
    expect((await list(owner.apiKey)).find((i) => i.id === created.id)).toEqual(approved.body);
  });

  it('lets an admin reject a pending image with a reason the owner sees', async () => {
    const created = await importOk();
    const rejected = await api.request('POST', `/v1/images/${created.id}/reject`, {
      key: api.adminKey,
      body: { reason: 'base image is not from nvcr.io/nvidia' },
    });
    expect(rejected.status, rejected.text).toBe(200);
    expect(rejected.body).toMatchObject({ status: 'rejected', rejectReason: 'base image is not from nvcr.io/nvidia' });
    expect((await list(owner.apiKey, '?status=rejected')).find((i) => i.id === created.id)).toMatchObject({
      rejectReason: rejected.body.rejectReason,
    });
    const twice = await api.request('POST', `/v1/images/${created.id}/reject`, {
      key: api.adminKey,
      body: { reason: 'again' },
    });
    expect(twice.status).toBe(409);
    expect(twice.body.detail).toMatch(/already rejected/);
    const approveAfter = await api.request('POST', `/v1/images/${created.id}/approve`, { key: api.adminKey });
    expect(approveAfter.status).toBe(409);
  });

  it('needs a reason to reject', async () => {
    const created = await importOk();
    for (const body of [{}, { reason: '' }, { reason: 'x'.repeat(1025) }]) {
      const res = await api.request('POST', `/v1/images/${created.id}/reject`, { key: api.adminKey, body });
      expect(res.status).toBe(400);
      expect(fieldsOf(res)).toEqual(['reason']);
    }
    const [row] = await api.deps.db.select().from(images).where(eq(images.id, created.id));
    expect(row!.status).toBe('pending');
  });

  it('is for admins only: users, owners included, and reviewers get 403 and the image stays pending', async () => {
    const created = await importOk();
    for (const key of [owner.apiKey, other.apiKey, reviewer.apiKey]) {
      expect((await api.request('POST', `/v1/images/${created.id}/approve`, { key })).status).toBe(403);
      expect(
        (await api.request('POST', `/v1/images/${created.id}/reject`, { key, body: { reason: 'no' } })).status,
      ).toBe(403);
    }
    const [row] = await api.deps.db.select().from(images).where(eq(images.id, created.id));
    expect(row!.status).toBe('pending');
  });

  it('answers 404 for an unknown image and 409 for a preloaded one', async () => {
    expect((await api.request('POST', `/v1/images/${randomUUID()}/approve`, { key: api.adminKey })).status).toBe(404);
    expect(
      (await api.request('POST', '/v1/images/nope/reject', { key: api.adminKey, body: { reason: 'x' } })).status,
    ).toBe(404);
    const preloaded = (await list(api.adminKey, '?source=platform'))[0]!;
    const res = await api.request('POST', `/v1/images/${preloaded.id}/reject`, {
      key: api.adminKey,
      body: { reason: 'x' },
    });
    expect(res.status).toBe(409);
    expect(res.body.detail).toMatch(/already approved \(preloaded by the platform\)/);
  });
});
