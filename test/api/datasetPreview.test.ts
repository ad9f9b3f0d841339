/**
 * A dataset's items previewed through HTTP, page by page: every item once and in order, a custom
 * dataset with its labels for its owner, a built-in with its test labels (ground truth and the
 * metadata that gives answers away) hidden from everyone but admins, someone else's dataset not
 * found, and each bad query refused naming the field.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { startApi, type TestApi } from '../support/apiServer';
import { MM_SHAPES_VQA_ID } from '../../datasets/builtin/multimodal/mmShapesVqa';
import { ARITH_BASIC_ID } from '../../datasets/builtin/arithBasic';
import { BUILTIN_DATASETS } from '../../datasets/builtinCatalog';
import { renderBuiltinImage } from '../../datasets/builtin/multimodal/builtinImages';
import { customVqa } from '../support/multimodalModel';

let api: TestApi;
let alice: { id: string; apiKey: string };
let bob: { id: string; apiKey: string };
const customId = `preview-${randomUUID().slice(0, 8)}`;
const ITEMS = Array.from({ length: 7 }, (_, i) => ({
  id: `q${i}`,
  prompt: `What is ${i} + ${i}?`,
  ground_truth: String(2 * i),
  ...(i === 3 ? { metadata: { level: 'hard' } } : {}),
}));

beforeAll(async () => {
  api = await startApi();
  [alice, bob] = await Promise.all([api.createUser(), api.createUser()]);
  const created = await api.request('POST', '/v1/datasets', {
    key: alice.apiKey,
    body: {
      id: customId,
      name: 'sums',
      domain: 'nlp',
      task: 'arithmetic',
      metric: 'exact_match',
      jsonl: ITEMS.map((i) => JSON.stringify(i)).join('\n'),
    },
  });
  expect(created.status, created.text).toBe(201);
});
afterAll(async () => {
  await api?.close();
});

async function allPages(key: string, id: string, limit: number) {
  const seen: Record<string, unknown>[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const res = await api.request(
      'GET',
      `/v1/datasets/${id}/items?limit=${limit}${cursor === null ? '' : `&cursor=${cursor}`}`,
      { key },
    );
    expect(res.status, res.text).toBe(200);
    seen.push(...res.body.items);
    cursor = res.body.nextCursor;
    pages++;
  } while (cursor !== null);
  return { seen, pages };
}

describe('GET /v1/datasets/{id}/items', () => {
  it("pages through a custom dataset's items in order, labels and metadata included for its owner", async () => {
    const { seen, pages } = await allPages(alice.apiKey, customId, 3);
    expect(pages).toBe(3);
    expect(seen).toEqual(
      ITEMS.map((item, index) => ({
        index,
        id: item.id,
        prompt: item.prompt,
        choices: null,
        groundTruth: item.ground_truth,
        metadata: item.metadata ?? null,
      })),
    );
  });

  it("hides a built-in's test labels from users and shows them to admins", async () => {
    const generated = BUILTIN_DATASETS.find((d) => d.id === ARITH_BASIC_ID)!.generate();
    const asUser = await api.request('GET', `/v1/datasets/${ARITH_BASIC_ID}/items?limit=5`, { key: bob.apiKey });
    expect(asUser.status, asUser.text).toBe(200);
    expect(asUser.body.items.map((i: { prompt: string }) => i.prompt)).toEqual(
      generated.slice(0, 5).map((i) => i.prompt),
    );
    expect(asUser.body.items.some((i: object) => 'groundTruth' in i)).toBe(false);
    const asAdmin = await api.request('GET', `/v1/datasets/${ARITH_BASIC_ID}/items?limit=5`, { key: api.adminKey });
    expect(asAdmin.body.items.map((i: { groundTruth: string }) => i.groundTruth)).toEqual(
      generated.slice(0, 5).map((i) => i.ground_truth),
    );

    // A multimodal built-in's scenes would give its answers away: users see what the item shows, not what it is.
    const vqa = await api.request('GET', `/v1/datasets/${MM_SHAPES_VQA_ID}/items?limit=3`, { key: bob.apiKey });
    expect(vqa.status, vqa.text).toBe(200);
    for (const item of vqa.body.items)
      expect(Object.keys(item.metadata).sort()).toEqual(['images', 'questionType', 'task']);
    const vqaAdmin = await api.request('GET', `/v1/datasets/${MM_SHAPES_VQA_ID}/items?limit=3`, { key: api.adminKey });
    expect(vqaAdmin.body.items[0].metadata.scenes).toBeDefined();
  });

  it("does not reveal someone else's dataset, and refuses bad queries naming the field", async () => {
    const other = await api.request('GET', `/v1/datasets/${customId}/items`, { key: bob.apiKey });
    expect(other.status).toBe(404);
    const missing = await api.request('GET', '/v1/datasets/no-such-set/items', { key: bob.apiKey });
    expect(missing.status).toBe(404);
    expect(other.body.detail).toBe(missing.body.detail.replace('no-such-set', customId));
    for (const query of ['limit=0', 'limit=501', 'limit=two', 'cursor=abc', 'cursor=-1', 'extra=1']) {
      const res = await api.request('GET', `/v1/datasets/${customId}/items?${query}`, { key: alice.apiKey });
      expect(res.status, query).toBe(400);
      expect(res.text, query).toContain(query.split('=')[0]);
    }
    const unauthenticated = await api.request('GET', `/v1/datasets/${customId}/items`);
    expect(unauthenticated.status).toBe(401);
  });
});

describe('GET /v1/datasets/{id}/pictures/{name}', () => {
  it('serves the PNG an item names, drawn for a built-in or stored with a custom dataset, and nothing else', async () => {
    const [first] = (await api.request('GET', `/v1/datasets/${MM_SHAPES_VQA_ID}/items?limit=1`, { key: bob.apiKey }))
      .body.items;
    const name = first.metadata.images[0] as string;
    const res = await fetch(`${api.url}/v1/datasets/${MM_SHAPES_VQA_ID}/pictures/${name}`, {
      headers: { authorization: `Bearer ${bob.apiKey}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await res.arrayBuffer()).equals(renderBuiltinImage(MM_SHAPES_VQA_ID, name))).toBe(true);

    const { jsonl, pictures } = customVqa(2);
    const mine = `preview-pictures-${randomUUID().slice(0, 8)}`;
    const created = await api.request('POST', '/v1/datasets', {
      key: alice.apiKey,
      body: { id: mine, name: 'mine', domain: 'multimodal', task: 'vqa', metric: 'vqa_accuracy', jsonl, pictures },
    });
    expect(created.status, created.text).toBe(201);
    const [stored, png] = Object.entries(pictures)[0]!;
    const own = await fetch(`${api.url}/v1/datasets/${mine}/pictures/${stored}`, {
      headers: { authorization: `Bearer ${alice.apiKey}` },
    });
    expect(Buffer.from(await own.arrayBuffer()).toString('base64')).toBe(png);

    for (const [key, path] of [
      [alice.apiKey, `/v1/datasets/${mine}/pictures/nope.png`],
      [bob.apiKey, `/v1/datasets/${mine}/pictures/${stored}`],
      [bob.apiKey, `/v1/datasets/${MM_SHAPES_VQA_ID}/pictures/img-9999.png`],
      [bob.apiKey, `/v1/datasets/${ARITH_BASIC_ID}/pictures/img-0000.png`],
    ] as const)
      expect((await api.request('GET', path, { key })).status, path).toBe(404);
  });
});
