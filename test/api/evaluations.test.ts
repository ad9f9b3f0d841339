/**
 * Evaluation instances through HTTP: every rule of creation and editing (each broken rule answered
 * 400 naming the field), model-name edge cases, who sees what, paging, and the model API key, which
 * is stored sealed and never appears in a response.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { evaluations } from '../../db/schema';
import { openSecret } from '../../db/secretBox';
import { ARITH_BASIC_ID } from '../../datasets/builtin/arithBasic';
import { WORD_REVERSE_ID } from '../../datasets/builtin/wordReverse';
import { MM_SHAPES_VQA_ID } from '../../datasets/builtin/multimodal/mmShapesVqa';
import { startApi, type TestApi } from '../support/apiServer';
import {
  approvedImageId,
  nlpEvaluationBody,
  platformImageId,
  privateDeploymentBody,
  registerDataset,
  uniqueModelName,
} from '../support/evaluationBodies';

let api: TestApi;
let owner: { id: string; apiKey: string };
let other: { id: string; apiKey: string };
let reviewer: { id: string; apiKey: string };
let safetyDataset: string;
let multimodalDataset: string;
let othersNlpDataset: string;
/** Valid on multimodal: the owner's approved multimodal image (private deployment rules: test/api/privateDeployment.test.ts). */
let privateDeployment: Record<string, any>;
let nlpImage: string;

beforeAll(async () => {
  api = await startApi();
  [owner, other, reviewer] = await Promise.all([
    api.createUser('user'),
    api.createUser('user'),
    api.createUser('reviewer'),
  ]);
  [safetyDataset, multimodalDataset, othersNlpDataset] = await Promise.all([
    registerDataset(api, owner.apiKey, 'safety'),
    registerDataset(api, owner.apiKey, 'multimodal'),
    registerDataset(api, other.apiKey, 'nlp'),
  ]);
  privateDeployment = privateDeploymentBody(api, await approvedImageId(api, owner.apiKey, ['multimodal']), {
    priority: 'low',
  });
  nlpImage = await platformImageId(api, owner.apiKey);
});

afterAll(async () => {
  await api?.close();
});

type Body = Record<string, any>;

async function create(body: Body, key = owner.apiKey) {
  return api.request('POST', '/v1/evaluations', { key, body });
}

async function createOk(body: Body = nlpEvaluationBody(), key = owner.apiKey) {
  const res = await create(body, key);
  expect(res.status, res.text).toBe(201);
  return res.body as Body;
}

function fieldsOf(res: { body: any }): string[] {
  return (res.body.errors ?? []).map((e: { field: string }) => e.field);
}

function messageFor(res: { body: any }, field: string): string | undefined {
  return res.body.errors?.find((e: { field: string }) => e.field === field)?.message;
}

function without(body: Body, path: string): Body {
  const copy = structuredClone(body);
  const keys = path.split('.');
  let node = copy;
  for (const k of keys.slice(0, -1)) node = node[k];
  delete node[keys.at(-1)!];
  return copy;
}

describe('POST /v1/evaluations', () => {
  it('creates an evaluation: 201, Location, defaults filled in, the key sealed and only reported as set', async () => {
    const body = nlpEvaluationBody({ limits: { maxConcurrency: 8 }, inference: { maxTokens: 64 } });
    const res = await create(body);
    expect(res.status, res.text).toBe(201);
    expect(res.headers.get('location')).toBe(`/v1/evaluations/${res.body.id}`);
    expect(res.body).toMatchObject({
      ownerId: owner.id,
      domain: 'nlp',
      modelName: body.modelName,
      description: body.description,
      datasets: body.datasets,
      deployment: {
        method: 'api',
        endpoint: body.deployment.endpoint,
        onlineModelName: 'm',
        apiMode: 'chat',
        apiKeySet: true,
      },
      robustness: false,
      modelInfo: { type: 'sft', paperUrl: null, modelUrl: null },
      inference: { maxTokens: 64, temperature: 0, topP: 1 },
      limits: { maxConcurrency: 8, maxRetryPerQuery: 3, requestTimeoutMs: 60_000 },
    });
    expect(res.body.deployment).not.toHaveProperty('apiKey');
    expect(res.text).not.toContain(body.deployment.apiKey);
    expect(Date.parse(res.body.createdAt)).not.toBeNaN();

    const [row] = await api.deps.db.select().from(evaluations).where(eq(evaluations.id, res.body.id));
    expect(row!.apiKeyCipher).not.toContain(body.deployment.apiKey);
    expect(openSecret(api.deps.env.secretKey, row!.apiKeyCipher!)).toBe(body.deployment.apiKey);
    expect(JSON.stringify(row!.deployment)).not.toContain(body.deployment.apiKey);
  });

  it('accepts an API deployment without key or online model name, and a private deployment on an approved image', async () => {
    const bare = await createOk(
      nlpEvaluationBody({ deployment: { method: 'api', endpoint: 'https://models.example.test/v1' } }),
    );
    expect(bare.deployment).toEqual({
      method: 'api',
      endpoint: 'https://models.example.test/v1',
      apiMode: 'chat',
      apiKeySet: false,
    });
    const nullKey = await createOk(
      nlpEvaluationBody({ deployment: { method: 'api', endpoint: 'http://h:1/v1', apiKey: null } }),
    );
    expect(nullKey.deployment.apiKeySet).toBe(false);
    const highPriority = { ...privateDeployment, priority: 'high' };
    const multimodal = await createOk({
      ...nlpEvaluationBody({
        domain: 'multimodal',
        modelName: `Mm.Model_${randomBytes(3).toString('hex')}`,
        datasets: [MM_SHAPES_VQA_ID],
      }),
      deployment: highPriority,
    });
    expect(multimodal.deployment).toEqual(highPriority);
  });

  it('counts description length in characters, so 256 emoji fit', async () => {
    await createOk(nlpEvaluationBody({ description: '🙂'.repeat(256) }));
    const res = await create(nlpEvaluationBody({ description: '🙂'.repeat(257) }));
    expect(res.status).toBe(400);
    expect(fieldsOf(res)).toEqual(['description']);
  });

  const invalid: [string, (b: Body) => Body, string, RegExp][] = [
    ['domain missing', (b) => without(b, 'domain'), 'domain', /is required/],
    [
      'domain unknown',
      (b) => ({ ...b, domain: 'vision' }),
      'domain',
      /must be one of nlp, cv, multimodal, audio, safety/,
    ],
    ['modelName missing', (b) => without(b, 'modelName'), 'modelName', /is required/],
    ['modelName not a string', (b) => ({ ...b, modelName: 42 }), 'modelName', /.+/],
    ['modelName empty', (b) => ({ ...b, modelName: '' }), 'modelName', /.+/],
    ['description too long', (b) => ({ ...b, description: 'x'.repeat(257) }), 'description', /at most 256 characters/],
    ['description not a string', (b) => ({ ...b, description: null }), 'description', /at most 256/],
    ['datasets missing', (b) => without(b, 'datasets'), 'datasets', /is required/],
    ['datasets empty', (b) => ({ ...b, datasets: [] }), 'datasets', /1–64 distinct dataset ids/],
    ['datasets repeated', (b) => ({ ...b, datasets: [ARITH_BASIC_ID, ARITH_BASIC_ID] }), 'datasets', /distinct/],
    ['datasets a string, not a list', (b) => ({ ...b, datasets: ARITH_BASIC_ID }), 'datasets', /.+/],
    [
      'dataset id malformed',
      (b) => ({ ...b, datasets: [ARITH_BASIC_ID, 'Bad_Id'] }),
      'datasets[1]',
      /lowercase letters, digits and hyphens/,
    ],
    [
      'dataset unknown',
      (b) => ({ ...b, datasets: [ARITH_BASIC_ID, WORD_REVERSE_ID, 'no-such-dataset'] }),
      'datasets[2]',
      /^unknown dataset "no-such-dataset"$/,
    ],
    [
      'dataset of another domain',
      (b) => ({ ...b, datasets: [ARITH_BASIC_ID, multimodalDataset] }),
      'datasets[1]',
      /^belongs to domain multimodal, not nlp$/,
    ],
    ['deployment missing', (b) => without(b, 'deployment'), 'deployment', /is required/],
    [
      'deployment method unknown',
      (b) => ({ ...b, deployment: { method: 'ftp', endpoint: 'http://h/v1' } }),
      'deployment.method',
      /must be one of api, private/,
    ],
    [
      'deployment method missing',
      (b) => ({ ...b, deployment: { endpoint: 'http://h/v1' } }),
      'deployment.method',
      /is required/,
    ],
    ['endpoint missing', (b) => without(b, 'deployment.endpoint'), 'deployment.endpoint', /is required/],
    [
      'endpoint not http',
      (b) => ({ ...b, deployment: { ...b.deployment, endpoint: 'ftp://h/v1' } }),
      'deployment.endpoint',
      /http\(s\) URL/,
    ],
    [
      'endpoint with spaces',
      (b) => ({ ...b, deployment: { ...b.deployment, endpoint: 'http://a b/v1' } }),
      'deployment.endpoint',
      /http\(s\) URL/,
    ],
    [
      'endpoint without a host',
      (b) => ({ ...b, deployment: { ...b.deployment, endpoint: 'http://:80/v1' } }),
      'deployment.endpoint',
      /http\(s\) URL/,
    ],
    [
      'endpoint too long',
      (b) => ({ ...b, deployment: { ...b.deployment, endpoint: `http://h/${'a'.repeat(2048)}` } }),
      'deployment.endpoint',
      /2,048/,
    ],
    [
      'endpoint at the cloud metadata address',
      (b) => ({ ...b, deployment: { ...b.deployment, endpoint: 'http://169.254.169.254/latest' } }),
      'deployment.endpoint',
      /^must not point at 169\.254\.169\.254, which is in a network this platform does not call \(link-local\)$/,
    ],
    [
      'endpoint at a link-local IPv6 address',
      (b) => ({ ...b, deployment: { ...b.deployment, endpoint: 'http://[fe80::1]:8000/v1' } }),
      'deployment.endpoint',
      /^must not point at fe80::1, .*\(link-local\)$/,
    ],
    [
      'apiKey empty',
      (b) => ({ ...b, deployment: { ...b.deployment, apiKey: '' } }),
      'deployment.apiKey',
      /1–4,096 characters/,
    ],
    ['apiKey not a string', (b) => ({ ...b, deployment: { ...b.deployment, apiKey: 7 } }), 'deployment.apiKey', /.+/],
    [
      'apiMode unknown',
      (b) => ({ ...b, deployment: { ...b.deployment, apiMode: 'stream' } }),
      'deployment.apiMode',
      /one of chat, completion/,
    ],
    [
      'deployment field unknown',
      (b) => ({ ...b, deployment: { ...b.deployment, header: 'x' } }),
      'deployment.header',
      /not a known field/,
    ],
    [
      'private: gpuType missing',
      (b) => ({ ...b, deployment: without(privateDeployment, 'gpuType') }),
      'deployment.gpuType',
      /is required/,
    ],
    [
      'private: gpuCount over 8',
      (b) => ({ ...b, deployment: { ...privateDeployment, gpuCount: 9 } }),
      'deployment.gpuCount',
      /1 to 8/,
    ],
    [
      'private: priority unknown',
      (b) => ({ ...b, deployment: { ...privateDeployment, priority: 'urgent' } }),
      'deployment.priority',
      /one of high, medium, low/,
    ],
    [
      'safety takes api only',
      (b) => ({
        ...b,
        domain: 'safety',
        datasets: [safetyDataset],
        deployment: privateDeployment,
        modelInfo: { paperUrl: null },
      }),
      'deployment.method',
      /^must be api \(rule of domain safety\)$/,
    ],
    ['robustness missing', (b) => without(b, 'robustness'), 'robustness', /is required/],
    ['robustness a string (no coercion)', (b) => ({ ...b, robustness: 'true' }), 'robustness', /true or false/],
    ['modelInfo missing', (b) => without(b, 'modelInfo'), 'modelInfo', /is required/],
    [
      'modelInfo type unknown',
      (b) => ({ ...b, modelInfo: { type: 'chat' } }),
      'modelInfo.type',
      /must be one of base, sft/,
    ],
    [
      'paperUrl not a URL',
      (b) => ({ ...b, modelInfo: { type: 'base', paperUrl: 'arxiv 1234' } }),
      'modelInfo.paperUrl',
      /http\(s\) URL/,
    ],
    [
      'modelUrl without a host',
      (b) => ({ ...b, modelInfo: { type: 'base', modelUrl: 'https://:1/x' } }),
      'modelInfo.modelUrl',
      /http\(s\) URL/,
    ],
    [
      'acknowledgement false',
      (b) => ({ ...b, acknowledgeNoTestAnnotations: false }),
      'acknowledgeNoTestAnnotations',
      /^must be true$/,
    ],
    [
      'acknowledgement missing',
      (b) => without(b, 'acknowledgeNoTestAnnotations'),
      'acknowledgeNoTestAnnotations',
      /is required/,
    ],
    [
      'acknowledgement a string',
      (b) => ({ ...b, acknowledgeNoTestAnnotations: 'yes' }),
      'acknowledgeNoTestAnnotations',
      /must be true/,
    ],
    ['maxTokens 0', (b) => ({ ...b, inference: { maxTokens: 0 } }), 'inference.maxTokens', /1 to 131,072/],
    ['maxTokens fractional', (b) => ({ ...b, inference: { maxTokens: 1.5 } }), 'inference.maxTokens', /integer/],
    ['temperature above 2', (b) => ({ ...b, inference: { temperature: 2.5 } }), 'inference.temperature', /0 to 2/],
    ['topP a string', (b) => ({ ...b, inference: { topP: '1' } }), 'inference.topP', /0 to 1/],
    [
      'inference field unknown',
      (b) => ({ ...b, inference: { frequencyPenalty: 1 } }),
      'inference.frequencyPenalty',
      /not a known field/,
    ],
    ['maxConcurrency 0', (b) => ({ ...b, limits: { maxConcurrency: 0 } }), 'limits.maxConcurrency', /1 to 512/],
    ['maxRetryPerQuery 17', (b) => ({ ...b, limits: { maxRetryPerQuery: 17 } }), 'limits.maxRetryPerQuery', /0 to 16/],
    [
      'requestTimeoutMs too small',
      (b) => ({ ...b, limits: { requestTimeoutMs: 10 } }),
      'limits.requestTimeoutMs',
      /100 to 3,600,000/,
    ],
    ['unknown top-level field', (b) => ({ ...b, ownerId: other.id }), 'ownerId', /not a known field/],
  ];

  it.each(invalid)('refuses %s: 400 naming the field', async (_name, mutate, field, message) => {
    const res = await create(mutate(nlpEvaluationBody()));
    expect(res.status, res.text).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({
      type: expect.any(String),
      title: 'Bad Request',
      status: 400,
      detail: expect.any(String),
    });
    expect(fieldsOf(res)).toEqual([field]);
    expect(messageFor(res, field)).toMatch(message);
  });

  const badNames: [string, string][] = [
    ['uppercase', 'MyModel'],
    ['one uppercase letter', 'my-Model'],
    ['fullwidth letters', 'ｍｙｍｏｄｅｌ'],
    ['a zero-width space inside', 'my\u200bmodel'],
    ['a zero-width joiner at the end', 'mymodel\u200d'],
    ['an emoji', 'my-model-🙂'],
    ['a combining accent', 'mode\u0301l'],
    ['a Cyrillic look-alike', 'mоdel'],
    ['33 characters', `a${'b'.repeat(32)}`],
    ['2 characters', 'ab'],
    ['1 character', 'a'],
    ['a trailing hyphen', 'my-model-'],
    ['a leading hyphen', '-my-model'],
    ['a leading digit', '1model'],
    ['an underscore', 'my_model'],
    ['a dot', 'my.model'],
    ['a space', 'my model'],
    ['a leading space', ' mymodel'],
    ['a trailing newline', 'mymodel\n'],
  ];

  it.each(badNames)('refuses an NLP model name with %s', async (_name, modelName) => {
    const res = await create(nlpEvaluationBody({ modelName }));
    expect(res.status, res.text).toBe(400);
    expect(fieldsOf(res)).toEqual(['modelName']);
    expect(messageFor(res, 'modelName')).toMatch(/3–32 characters of lowercase letters, digits and hyphens/);
  });

  it('refuses an NLP model name with a NUL character, which no text field can hold', async () => {
    const res = await create(nlpEvaluationBody({ modelName: 'my\u0000model' }));
    expect(res.status, res.text).toBe(400);
    expect(fieldsOf(res)).toEqual(['modelName']);
    expect(messageFor(res, 'modelName')).toMatch(/without NUL/);
  });

  it('accepts NLP names at the edges of the rule: 3 and 32 characters, digits and inner hyphens', async () => {
    const tag = randomBytes(16).toString('hex');
    for (const modelName of [`q${tag.slice(0, 1)}9`, `z${tag.slice(0, 30)}0`, `a-${tag.slice(0, 4)}-7b`]) {
      const created = await createOk(nlpEvaluationBody({ modelName }));
      expect(created.modelName).toBe(modelName);
    }
  });

  it('applies the domain’s own name rule: multimodal (and CV) names take capitals, dots and underscores up to 128 characters', async () => {
    const tag = randomBytes(4).toString('hex');
    const mixed = await createOk({
      ...nlpEvaluationBody({ domain: 'multimodal', datasets: [MM_SHAPES_VQA_ID], modelName: `ResNet_50.v${tag}` }),
      deployment: privateDeployment,
    });
    expect(mixed.modelName).toBe(`ResNet_50.v${tag}`);
    const long = `M${tag}${'x'.repeat(128 - 1 - tag.length)}`;
    expect(long).toHaveLength(128);
    await createOk(nlpEvaluationBody({ domain: 'multimodal', datasets: [multimodalDataset], modelName: long }));
    const tooLong = await create(
      nlpEvaluationBody({ domain: 'multimodal', datasets: [multimodalDataset], modelName: `${long}x` }),
    );
    expect(fieldsOf(tooLong)).toEqual(['modelName']);
    const trailingDot = await create(
      nlpEvaluationBody({ domain: 'multimodal', datasets: [multimodalDataset], modelName: 'Model.' }),
    );
    expect(messageFor(trailingDot, 'modelName')).toMatch(/3–128 characters/);
  });

  it('refuses a name already taken in any case, across domains', async () => {
    const tag = randomBytes(4).toString('hex');
    await createOk({
      ...nlpEvaluationBody({ domain: 'multimodal', datasets: [MM_SHAPES_VQA_ID], modelName: `Taken-${tag}` }),
      deployment: privateDeployment,
    });
    for (const [body, key] of [
      [nlpEvaluationBody({ modelName: `taken-${tag}` }), other.apiKey],
      [
        nlpEvaluationBody({ domain: 'multimodal', datasets: [multimodalDataset], modelName: `TAKEN-${tag}` }),
        owner.apiKey,
      ],
    ] as [Body, string][]) {
      const res = await create(body, key);
      expect(res.status).toBe(400);
      expect(fieldsOf(res)).toEqual(['modelName']);
      expect(messageFor(res, 'modelName')).toMatch(/is already taken/);
    }
  });

  it('reports every broken rule of one request together, in the order of the form', async () => {
    const res = await create(
      nlpEvaluationBody({
        modelName: 'Bad Name',
        datasets: ['no-such-dataset', multimodalDataset],
        acknowledgeNoTestAnnotations: false,
      }),
    );
    expect(res.status).toBe(400);
    expect(fieldsOf(res)).toEqual(['modelName', 'datasets[0]', 'datasets[1]', 'acknowledgeNoTestAnnotations']);
    const schema = await create({
      ...nlpEvaluationBody({ domain: 'nlp' }),
      description: 'x'.repeat(300),
      robustness: 1,
      inference: { topP: 5 },
    });
    expect(fieldsOf(schema)).toEqual(['description', 'robustness', 'inference.topP']);
  });

  it('does not let one user evaluate on another user’s custom dataset', async () => {
    const res = await create(nlpEvaluationBody({ datasets: [othersNlpDataset] }));
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ field: 'datasets[0]', message: `unknown dataset "${othersNlpDataset}"` }]);
    await createOk(nlpEvaluationBody({ datasets: [othersNlpDataset] }), other.apiKey);
  });

  it('is for users and admins: a reviewer gets 403, a missing key 401', async () => {
    const byReviewer = await create(nlpEvaluationBody(), reviewer.apiKey);
    expect(byReviewer.status).toBe(403);
    expect(byReviewer.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const anonymous = await api.request('POST', '/v1/evaluations', { body: nlpEvaluationBody() });
    expect(anonymous.status).toBe(401);
    const byAdmin = await create(nlpEvaluationBody(), api.adminKey);
    expect(byAdmin.status).toBe(201);
  });
});

describe('reading evaluations', () => {
  it('shows an evaluation to its owner and admins only; others get 404 as if it did not exist', async () => {
    const created = await createOk();
    const mine = await api.request('GET', `/v1/evaluations/${created.id}`, { key: owner.apiKey });
    expect(mine.status).toBe(200);
    expect(mine.body).toEqual(created);

    const theirs = await api.request('GET', `/v1/evaluations/${created.id}`, { key: other.apiKey });
    const missing = await api.request('GET', '/v1/evaluations/00000000-0000-4000-8000-000000000000', {
      key: other.apiKey,
    });
    const malformed = await api.request('GET', '/v1/evaluations/not-a-uuid', { key: other.apiKey });
    for (const res of [theirs, missing, malformed]) {
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ status: 404, detail: 'evaluation not found' });
    }
    expect(theirs.text).toBe(missing.text);

    const asAdmin = await api.request('GET', `/v1/evaluations/${created.id}`, { key: api.adminKey });
    expect(asAdmin.status).toBe(200);
    expect(asAdmin.body.ownerId).toBe(owner.id);

    const reviewerRead = await api.request('GET', `/v1/evaluations/${created.id}`, { key: reviewer.apiKey });
    expect(reviewerRead.status).toBe(403);
  });

  it('lists the caller’s own evaluations newest first, in pages that neither skip nor repeat', async () => {
    const user = await api.createUser();
    const made: string[] = [];
    for (let i = 0; i < 5; i++) made.push((await createOk(nlpEvaluationBody(), user.apiKey)).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor ? `?limit=2&cursor=${encodeURIComponent(cursor)}` : '?limit=2';
      const page = await api.request('GET', `/v1/evaluations${query}`, { key: user.apiKey });
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items.map((e: Body) => e.id));
      cursor = page.body.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...made].reverse());

    const whole = await api.request('GET', '/v1/evaluations', { key: user.apiKey });
    expect(whole.body.items.map((e: Body) => e.id)).toEqual([...made].reverse());
    expect(whole.body.nextCursor).toBeNull();

    const others = await api.request('GET', '/v1/evaluations?limit=100', { key: other.apiKey });
    expect(others.body.items.some((e: Body) => made.includes(e.id))).toBe(false);
    let adminSees = 0;
    let adminCursor: string | null = null;
    do {
      const query: string = adminCursor ? `&cursor=${adminCursor}` : '';
      const page = await api.request('GET', `/v1/evaluations?limit=100${query}`, { key: api.adminKey });
      adminSees += page.body.items.filter((e: Body) => made.includes(e.id)).length;
      adminCursor = page.body.nextCursor;
    } while (adminCursor);
    expect(adminSees).toBe(5);
  });

  it.each([
    ['limit=0', 'limit'],
    ['limit=101', 'limit'],
    ['limit=ten', 'limit'],
    ['cursor=bm90LWEtY3Vyc29y', 'cursor'],
    ['owner=me', 'owner'],
  ])('refuses the list query %s naming %s', async (query, field) => {
    const res = await api.request('GET', `/v1/evaluations?${query}`, { key: owner.apiKey });
    expect(res.status).toBe(400);
    expect(fieldsOf(res)).toEqual([field]);
  });
});

describe('PATCH /v1/evaluations/:id', () => {
  async function snapshot(id: string) {
    const [row] = await api.deps.db.select().from(evaluations).where(eq(evaluations.id, id));
    return row!;
  }

  async function patch(id: string, body: unknown, key = owner.apiKey) {
    return api.request('PATCH', `/v1/evaluations/${id}`, { key, body });
  }

  it('edits what it names, merges inference and limits, bumps updatedAt and keeps the rest', async () => {
    const created = await createOk(nlpEvaluationBody({ inference: { maxTokens: 100, temperature: 0.2 } }));
    const res = await patch(created.id, {
      description: 'edited',
      datasets: [WORD_REVERSE_ID],
      robustness: true,
      modelInfo: { type: 'base', paperUrl: 'https://arxiv.org/abs/1234.5678' },
      inference: { temperature: 0.7 },
      limits: { maxRetryPerQuery: 0 },
      acknowledgeNoTestAnnotations: true,
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({
      id: created.id,
      modelName: created.modelName,
      domain: 'nlp',
      description: 'edited',
      datasets: [WORD_REVERSE_ID],
      robustness: true,
      modelInfo: { type: 'base', paperUrl: 'https://arxiv.org/abs/1234.5678', modelUrl: null },
      inference: { maxTokens: 100, temperature: 0.7, topP: 1 },
      limits: { maxConcurrency: 24, maxRetryPerQuery: 0, requestTimeoutMs: 60_000 },
      deployment: created.deployment,
      createdAt: created.createdAt,
    });
    expect(Date.parse(res.body.updatedAt)).toBeGreaterThan(Date.parse(created.updatedAt));
    const again = await api.request('GET', `/v1/evaluations/${created.id}`, { key: owner.apiKey });
    expect(again.body).toEqual(res.body);
  });

  it('refuses to change modelName or domain, and changes nothing else in the same request', async () => {
    const created = await createOk();
    const before = await snapshot(created.id);
    for (const [body, fields] of [
      [{ modelName: uniqueModelName(), description: 'sneaky' }, ['modelName']],
      [{ modelName: created.modelName }, ['modelName']],
      [{ domain: 'cv', description: 'sneaky' }, ['domain']],
      [
        { domain: 'nlp', modelName: created.modelName.toUpperCase(), datasets: ['no-such-dataset'] },
        ['domain', 'modelName', 'datasets[0]'],
      ],
    ] as [Body, string[]][]) {
      const res = await patch(created.id, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(fieldsOf(res)).toEqual(fields);
      for (const field of fields.filter((f) => f === 'modelName' || f === 'domain')) {
        expect(messageFor(res, field)).toBe('cannot be changed after creation');
      }
    }
    expect(await snapshot(created.id)).toEqual(before);
  });

  const invalidPatches: [string, Body | (() => Body), string, RegExp][] = [
    ['an empty body', {}, 'body', /at least 1 field/],
    ['a description too long', { description: 'x'.repeat(257) }, 'description', /at most 256/],
    ['an unknown dataset', { datasets: [ARITH_BASIC_ID, 'no-such-dataset'] }, 'datasets[1]', /unknown dataset/],
    [
      'a dataset of another domain',
      () => ({ datasets: [multimodalDataset] }),
      'datasets[0]',
      /^belongs to domain multimodal, not nlp$/,
    ],
    ['another user’s dataset', () => ({ datasets: [othersNlpDataset] }), 'datasets[0]', /unknown dataset/],
    ['a deployment without endpoint', { deployment: { method: 'api' } }, 'deployment.endpoint', /is required/],
    [
      'a deployment with a bad endpoint',
      { deployment: { method: 'api', endpoint: 'localhost:8000' } },
      'deployment.endpoint',
      /http\(s\) URL/,
    ],
    [
      'a deployment at an IPv4-mapped metadata address',
      { deployment: { method: 'api', endpoint: 'http://[::ffff:169.254.169.254]/v1' } },
      'deployment.endpoint',
      /^must not point at ::ffff:a9fe:a9fe, .*\(link-local\)$/,
    ],
    [
      'a private deployment without priority',
      { deployment: { method: 'private', imageId: 'x', gpuType: 'A100', gpuCount: 1 } },
      'deployment.priority',
      /is required/,
    ],
    ['robustness null', { robustness: null }, 'robustness', /true or false/],
    ['a bad model type', { modelInfo: { type: 'rlhf' } }, 'modelInfo.type', /one of base, sft/],
    [
      'acknowledgement withdrawn',
      { acknowledgeNoTestAnnotations: false },
      'acknowledgeNoTestAnnotations',
      /^must be true$/,
    ],
    ['a bad inference value', { inference: { maxTokens: -1 } }, 'inference.maxTokens', /1 to 131,072/],
    ['a bad limit', { limits: { maxConcurrency: 1000 } }, 'limits.maxConcurrency', /1 to 512/],
    ['an unknown field', { ownerId: '00000000-0000-4000-8000-000000000000' }, 'ownerId', /not a known field/],
    ['a body that is not an object', () => [] as unknown as Body, 'body', /.+/],
  ];

  it.each(invalidPatches)(
    'refuses %s, naming the field and leaving the record as it was',
    async (_name, body, field, message) => {
      const created = await createOk();
      const before = await snapshot(created.id);
      const res = await patch(created.id, typeof body === 'function' ? body() : body);
      expect(res.status, res.text).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(fieldsOf(res)).toEqual([field]);
      expect(messageFor(res, field)).toMatch(message);
      expect(await snapshot(created.id)).toEqual(before);
    },
  );

  it('keeps, replaces or removes the API key as documented, and never returns it', async () => {
    const first = 'sk-first-' + randomBytes(8).toString('hex');
    const second = 'sk-second-' + randomBytes(8).toString('hex');
    const created = await createOk(
      nlpEvaluationBody({ deployment: { method: 'api', endpoint: 'http://10.0.0.1:8000/v1', apiKey: first } }),
    );
    const key = async () => {
      const row = await snapshot(created.id);
      return row.apiKeyCipher === null ? null : openSecret(api.deps.env.secretKey, row.apiKeyCipher);
    };
    const texts: string[] = [];
    const send = async (body: Body) => {
      const res = await patch(created.id, body);
      texts.push(res.text);
      return res;
    };

    // Same origin, no apiKey: the stored key stays.
    let res = await send({
      deployment: { method: 'api', endpoint: 'http://10.0.0.1:8000/v2', onlineModelName: 'other' },
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body.deployment).toEqual({
      method: 'api',
      endpoint: 'http://10.0.0.1:8000/v2',
      onlineModelName: 'other',
      apiMode: 'chat',
      apiKeySet: true,
    });
    expect(await key()).toBe(first);

    // Another origin without the key: refused, nothing changes; the key is not sent to a new host.
    const before = await snapshot(created.id);
    res = await send({ deployment: { method: 'api', endpoint: 'http://10.0.0.2:8000/v2' } });
    expect(res.status).toBe(400);
    expect(fieldsOf(res)).toEqual(['deployment.apiKey']);
    expect(await snapshot(created.id)).toEqual(before);

    // A new key replaces the stored one.
    res = await send({ deployment: { method: 'api', endpoint: 'http://10.0.0.2:8000/v2', apiKey: second } });
    expect(res.status).toBe(200);
    expect(res.body.deployment.apiKeySet).toBe(true);
    expect(await key()).toBe(second);

    // null removes it; moving origin afterwards needs nothing.
    res = await send({ deployment: { method: 'api', endpoint: 'http://10.0.0.2:8000/v2', apiKey: null } });
    expect(res.body.deployment.apiKeySet).toBe(false);
    expect(await key()).toBeNull();
    res = await send({ deployment: { method: 'api', endpoint: 'https://elsewhere.example.test/v1' } });
    expect(res.status).toBe(200);

    // Switching to a private deployment drops any key.
    await send({ deployment: { method: 'api', endpoint: 'https://elsewhere.example.test/v1', apiKey: first } });
    expect(await key()).toBe(first);
    res = await send({ deployment: privateDeploymentBody(api, nlpImage) });
    expect(res.status).toBe(200);
    expect(await key()).toBeNull();

    const reads = await Promise.all([
      api.request('GET', `/v1/evaluations/${created.id}`, { key: owner.apiKey }),
      api.request('GET', '/v1/evaluations?limit=100', { key: owner.apiKey }),
      api.request('GET', `/v1/evaluations/${created.id}`, { key: api.adminKey }),
    ]);
    for (const text of [...texts, ...reads.map((r) => r.text)]) {
      expect(text).not.toContain(first);
      expect(text).not.toContain(second);
    }
  });

  it('checks datasets against the stored domain, and lets an admin edit but no other user', async () => {
    const created = await createOk(
      nlpEvaluationBody({ domain: 'safety', datasets: [safetyDataset], modelInfo: { paperUrl: null } }),
    );
    const wrong = await patch(created.id, { datasets: [ARITH_BASIC_ID] });
    expect(wrong.body.errors).toEqual([{ field: 'datasets[0]', message: 'belongs to domain nlp, not safety' }]);
    const privateOnSafety = await patch(created.id, { deployment: privateDeployment });
    expect(privateOnSafety.body.errors).toEqual([
      { field: 'deployment.method', message: 'must be api (rule of domain safety)' },
    ]);

    const before = await snapshot(created.id);
    const byOther = await patch(created.id, { description: 'mine now' }, other.apiKey);
    expect(byOther.status).toBe(404);
    const byReviewer = await patch(created.id, { description: 'mine now' }, reviewer.apiKey);
    expect(byReviewer.status).toBe(403);
    expect(await snapshot(created.id)).toEqual(before);

    const byAdmin = await patch(created.id, { description: 'fixed by an admin' }, api.adminKey);
    expect(byAdmin.status).toBe(200);
    expect(byAdmin.body).toMatchObject({ description: 'fixed by an admin', ownerId: owner.id });
  });
});
