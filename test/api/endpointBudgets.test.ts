/**
 * /v1/admin/endpoint-budgets: an admin sets, lists, replaces and removes the budget of an endpoint
 * identity, naming the key by value or by an evaluation; only the key's fingerprint is stored and
 * shown. (Who may call the routes: test/api/accessMatrix.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { endpointIdentity } from '../../db/endpointIdentity';
import { startApi, type TestApi } from '../support/apiServer';
import { nlpEvaluationBody } from '../support/evaluationBodies';

let api: TestApi;
const path = '/v1/admin/endpoint-budgets';

beforeAll(async () => {
  api = await startApi();
});

afterAll(async () => {
  await api?.close();
});

const uniqueUrl = () => `http://Budget-${randomUUID().slice(0, 8)}.example.test/v1/`;

describe('endpoint budgets', () => {
  it('sets a budget by base URL and key, keeps only the fingerprint, lists it, replaces it and removes it', async () => {
    const baseUrl = uniqueUrl();
    const apiKey = `sk-${randomUUID()}`;
    const put = await api.request('PUT', path, {
      key: api.adminKey,
      body: { baseUrl, apiKey, requestsPerMinute: 600, maxConcurrent: 8 },
    });
    expect(put.status, put.text).toBe(200);
    const identity = endpointIdentity(api.deps.env.secretKey, baseUrl, apiKey);
    expect(put.body).toMatchObject({
      baseUrl: identity.baseUrl,
      keyFingerprint: identity.keyFingerprint,
      requestsPerMinute: 600,
      tokensPerMinute: null,
      maxConcurrent: 8,
    });
    expect(identity.baseUrl).toBe(baseUrl.toLowerCase().replace(/\/$/, ''));
    expect(put.text).not.toContain(apiKey);

    const again = await api.request('PUT', path, {
      key: api.adminKey,
      body: { baseUrl: identity.baseUrl, apiKey, tokensPerMinute: 100_000 },
    });
    expect(again.status, again.text).toBe(200);
    expect(again.body).toMatchObject({ id: put.body.id, requestsPerMinute: null, tokensPerMinute: 100_000 });

    const list = await api.request('GET', path, { key: api.adminKey });
    expect(list.status).toBe(200);
    const listed = (list.body.items as { id: string }[]).filter((b) => b.id === put.body.id);
    expect(listed).toEqual([expect.objectContaining({ tokensPerMinute: 100_000, concurrentInUse: 0 })]);

    expect((await api.request('DELETE', `${path}/${put.body.id}`, { key: api.adminKey })).status).toBe(204);
    expect((await api.request('DELETE', `${path}/${put.body.id}`, { key: api.adminKey })).status).toBe(404);
  });

  it('names the identity by an evaluation: its stored key and endpoint', async () => {
    const user = await api.createUser();
    const body = nlpEvaluationBody();
    const created = await api.request('POST', '/v1/evaluations', { key: user.apiKey, body });
    expect(created.status, created.text).toBe(201);
    const evaluationId = created.body.id ?? created.body.evaluationId;
    const put = await api.request('PUT', path, { key: api.adminKey, body: { evaluationId, requestsPerMinute: 60 } });
    expect(put.status, put.text).toBe(200);
    const identity = endpointIdentity(api.deps.env.secretKey, body.deployment.endpoint, body.deployment.apiKey);
    expect(put.body).toMatchObject({ baseUrl: identity.baseUrl, keyFingerprint: identity.keyFingerprint });
    await api.request('DELETE', `${path}/${put.body.id}`, { key: api.adminKey });
  });

  it('refuses a body that names no identity, two keys, or no limit, naming the field', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ requestsPerMinute: 60 }, 'baseUrl'],
      [{ baseUrl: uniqueUrl(), apiKey: 'sk-x', evaluationId: randomUUID(), requestsPerMinute: 60 }, 'apiKey'],
      [{ baseUrl: uniqueUrl() }, 'requestsPerMinute'],
      [{ baseUrl: uniqueUrl(), requestsPerMinute: 0 }, 'requestsPerMinute'],
      [{ evaluationId: randomUUID(), requestsPerMinute: 60 }, 'evaluationId'],
      [{ baseUrl: 'ftp://x', requestsPerMinute: 60 }, 'baseUrl'],
    ];
    for (const [body, field] of cases) {
      const res = await api.request('PUT', path, { key: api.adminKey, body });
      expect(res.status, `${JSON.stringify(body)}: ${res.text}`).toBe(400);
      expect(res.headers.get('content-type') ?? '').toContain('problem+json');
      expect(JSON.stringify(res.body.errors ?? res.body), JSON.stringify(body)).toContain(field);
    }
  });
});
