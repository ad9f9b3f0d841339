/**
 * Datasets through HTTP: the built-ins and one's own are listed (by domain on request), a custom
 * dataset is registered from JSON Lines or refused with the line to fix, ids are unique, and a
 * dataset upload may be far larger than any other request.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { datasetItems } from '../../db/schema';
import {
  BACKBONE_BUILTIN_DATASETS,
  BUILTIN_DATASETS,
  MULTIMODAL_BUILTIN_DATASETS,
} from '../../datasets/builtinCatalog';
import { datasetContentHash } from '../../datasets/contentHash';
import { startApi, type TestApi } from '../support/apiServer';
import { nlpEvaluationBody } from '../support/evaluationBodies';

let api: TestApi;
let alice: { id: string; apiKey: string };
let bob: { id: string; apiKey: string };

beforeAll(async () => {
  api = await startApi();
  [alice, bob] = await Promise.all([api.createUser(), api.createUser()]);
});
afterAll(async () => {
  await api?.close();
});

const items = [
  { id: 'q1', prompt: 'What is 2+2?', ground_truth: '4' },
  { id: 'q2', prompt: 'What is 3+3?', ground_truth: '6', metadata: { level: 1 } },
];

function jsonl(lines: unknown[]): string {
  return `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`;
}

function datasetBody(overrides: Record<string, unknown> = {}) {
  return {
    id: `custom-${randomUUID().slice(0, 8)}`,
    name: 'Tiny sums',
    domain: 'nlp',
    task: 'arithmetic',
    metric: 'numeric_match',
    description: 'two sums',
    jsonl: jsonl(items),
    ...overrides,
  };
}

async function listIds(key: string, query = ''): Promise<string[]> {
  const res = await api.request('GET', `/v1/datasets${query}`, { key });
  expect(res.status).toBe(200);
  return res.body.items.map((d: { id: string }) => d.id);
}

describe('GET /v1/datasets', () => {
  it('lists the built-in datasets with task, size, metric and subjectivity, to every role', async () => {
    for (const key of [alice.apiKey, (await api.createUser('reviewer')).apiKey, api.adminKey]) {
      const res = await api.request('GET', '/v1/datasets', { key });
      expect(res.status).toBe(200);
      for (const builtin of BUILTIN_DATASETS) {
        const shown = res.body.items.find((d: { id: string }) => d.id === builtin.id);
        expect(shown).toMatchObject({
          id: builtin.id,
          domain: builtin.domain,
          task: builtin.task,
          metric: builtin.metric,
          size: builtin.size,
          subjective: false,
          builtin: true,
        });
      }
    }
    expect((await api.request('GET', '/v1/datasets')).status).toBe(401);
  });

  it('filters by domain and refuses an unknown domain', async () => {
    const mmId = (
      await api.request('POST', '/v1/datasets', { key: alice.apiKey, body: datasetBody({ domain: 'multimodal' }) })
    ).body.id;
    const nlp = await listIds(alice.apiKey, '?domain=nlp');
    expect(nlp).toEqual(expect.arrayContaining(BUILTIN_DATASETS.map((d) => d.id)));
    expect(nlp).not.toContain(mmId);
    expect((await listIds(alice.apiKey, '?domain=multimodal')).sort()).toEqual(
      [...MULTIMODAL_BUILTIN_DATASETS.map((d) => d.id), mmId].sort(),
    );
    expect((await listIds(alice.apiKey, '?domain=cv')).sort()).toEqual(
      BACKBONE_BUILTIN_DATASETS.filter((d) => d.domain === 'cv')
        .map((d) => d.id)
        .sort(),
    );
    const bad = await api.request('GET', '/v1/datasets?domain=vision', { key: alice.apiKey });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([
      { field: 'domain', message: 'must be one of nlp, cv, multimodal, audio, safety' },
    ]);
  });
});

describe('POST /v1/datasets', () => {
  it('registers a dataset visible to its owner and admins only', async () => {
    const body = datasetBody();
    const res = await api.request('POST', '/v1/datasets', { key: alice.apiKey, body });
    expect(res.status, res.text).toBe(201);
    expect(res.body).toMatchObject({
      id: body.id,
      name: 'Tiny sums',
      domain: 'nlp',
      task: 'arithmetic',
      metric: 'numeric_match',
      description: 'two sums',
      size: 2,
      subjective: false,
      builtin: false,
      contentHash: datasetContentHash(items),
    });
    const stored = await api.deps.db
      .select()
      .from(datasetItems)
      .where(eq(datasetItems.datasetId, body.id))
      .orderBy(datasetItems.idx);
    expect(stored.map((i) => [i.itemId, i.prompt, i.groundTruth, i.metadata])).toEqual([
      ['q1', 'What is 2+2?', '4', null],
      ['q2', 'What is 3+3?', '6', { level: 1 }],
    ]);

    expect(await listIds(alice.apiKey)).toContain(body.id);
    expect(await listIds(bob.apiKey)).not.toContain(body.id);
    expect(await listIds(api.adminKey)).toContain(body.id);
  });

  it('is open to reviewers and admins too', async () => {
    const reviewer = await api.createUser('reviewer');
    expect((await api.request('POST', '/v1/datasets', { key: reviewer.apiKey, body: datasetBody() })).status).toBe(201);
    expect((await api.request('POST', '/v1/datasets', { key: api.adminKey, body: datasetBody() })).status).toBe(201);
  });

  it('refuses a taken id with 409 naming id, built-in ids included', async () => {
    const body = datasetBody();
    expect((await api.request('POST', '/v1/datasets', { key: alice.apiKey, body })).status).toBe(201);
    for (const [key, id] of [
      [bob.apiKey, body.id],
      [alice.apiKey, body.id],
      [alice.apiKey, BUILTIN_DATASETS[0]!.id],
    ] as const) {
      const res = await api.request('POST', '/v1/datasets', { key, body: datasetBody({ id }) });
      expect(res.status).toBe(409);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(res.body.errors).toEqual([{ field: 'id', message: expect.stringMatching(/already taken/) }]);
    }
  });

  it.each([
    ['a line that is not JSON', `${JSON.stringify(items[0])}\n{"id": "q2",\n`, /^line 2: not valid JSON/],
    ['an item without prompt', jsonl([items[0], { id: 'q2', ground_truth: '1' }]), /^line 2: prompt is required/],
    ['an item with an unknown field', jsonl([{ ...items[0], answer: '4' }]), /^line 1: answer is not allowed/],
    ['a repeated item id', jsonl([items[0], items[0]]), /^line 2: id "q1" is already used on line 1/],
    [
      'a ground truth that does not fit the metric',
      jsonl([items[0], { id: 'q2', prompt: 'p', ground_truth: 'six' }]),
      /^line 2: ground_truth must be a number/,
    ],
    ['no items at all', '\n\n', /no items/],
  ])('refuses %s with 400 naming jsonl and the line', async (_name, text, message) => {
    const body = datasetBody({ jsonl: text });
    const res = await api.request('POST', '/v1/datasets', { key: alice.apiKey, body });
    expect(res.status, res.text).toBe(400);
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors[0].field).toBe('jsonl');
    expect(res.body.errors[0].message).toMatch(message);
    expect(await listIds(alice.apiKey)).not.toContain(body.id);
  });

  it.each([
    ['an id with capitals', { id: 'My-Set' }, 'id'],
    ['an id too short', { id: 'ab' }, 'id'],
    ['an unknown domain', { domain: 'vision' }, 'domain'],
    ['an unknown metric', { metric: 'judge_score' }, 'metric'],
    ['an empty name', { name: '' }, 'name'],
    ['an empty jsonl', { jsonl: '' }, 'jsonl'],
    ['jsonl given as a list', { jsonl: items }, 'jsonl'],
    ['an unknown field', { owner: 'me' }, 'owner'],
  ])('refuses %s with 400 naming the field', async (_name, overrides, field) => {
    const res = await api.request('POST', '/v1/datasets', { key: alice.apiKey, body: datasetBody(overrides) });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual([field]);
  });

  it('takes uploads well beyond the 1 MiB other requests are held to', async () => {
    const many = Array.from({ length: 6000 }, (_, i) => ({
      id: `i${i}`,
      prompt: `${'padding '.repeat(40)}#${i}`,
      ground_truth: String(i),
    }));
    const body = datasetBody({ jsonl: jsonl(many) });
    expect(JSON.stringify(body).length).toBeGreaterThan(2 * 1024 * 1024);
    const res = await api.request('POST', '/v1/datasets', { key: alice.apiKey, body });
    expect(res.status, res.text.slice(0, 300)).toBe(201);
    expect(res.body.size).toBe(6000);

    const tooBigForOthers = await api.request('POST', '/v1/evaluations', {
      key: alice.apiKey,
      body: { description: 'x'.repeat(1024 * 1024) },
    });
    expect(tooBigForOthers.status).toBe(413);
  });
});

describe('a benchmark a custom evaluation image brings (source image)', () => {
  it('is registered without items and named in the view; jsonl is refused with it and required without it', async () => {
    const { jsonl: _items, ...withoutItems } = datasetBody();
    const res = await api.request('POST', '/v1/datasets', {
      key: alice.apiKey,
      body: { ...withoutItems, source: 'image' },
    });
    expect(res.status, res.text).toBe(201);
    expect(res.body).toMatchObject({ id: withoutItems.id, size: 0, source: 'image', builtin: false });
    expect(res.body.contentHash).toMatch(/^image:[0-9a-f]{64}$/);
    expect(await api.deps.db.select().from(datasetItems).where(eq(datasetItems.datasetId, withoutItems.id))).toEqual(
      [],
    );

    const both = await api.request('POST', '/v1/datasets', {
      key: alice.apiKey,
      body: datasetBody({ source: 'image' }),
    });
    expect(both.status).toBe(400);
    expect(both.body.errors).toEqual([
      { field: 'jsonl', message: expect.stringMatching(/must be left out with source image/) },
    ]);

    const neither = await api.request('POST', '/v1/datasets', {
      key: alice.apiKey,
      body: datasetBody({ jsonl: undefined }),
    });
    expect(neither.status).toBe(400);
    expect(neither.body.errors).toEqual([{ field: 'jsonl', message: expect.stringMatching(/is required/) }]);
  });

  it('cannot be run by an evaluation its rules score: the launch is refused naming the dataset', async () => {
    const { jsonl: _items, ...withoutItems } = datasetBody();
    expect(
      (await api.request('POST', '/v1/datasets', { key: bob.apiKey, body: { ...withoutItems, source: 'image' } }))
        .status,
    ).toBe(201);
    const created = await api.request('POST', '/v1/evaluations', {
      key: bob.apiKey,
      body: nlpEvaluationBody({ datasets: [withoutItems.id] }),
    });
    expect(created.status, created.text).toBe(201);
    const launched = await api.request('POST', `/v1/evaluations/${created.body.id}/runs`, { key: bob.apiKey });
    expect(launched.status, launched.text).toBe(400);
    expect(launched.body.errors[0]).toMatchObject({
      field: 'datasets',
      message: expect.stringMatching(
        /a benchmark a custom evaluation image brings; only an evaluation scored by a custom image/,
      ),
    });
  });
});
