/**
 * How the API says no: every refusal is application/problem+json with type, title, status and
 * detail, whether a route refused, the schema, auth, or fastify before any route ran; unexpected
 * failures answer a generic 500; and neither answers nor logs carry a credential.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { buildApp } from '../../api/app';
import { connectDb } from '../../db/client';
import { startApi, type ApiResponse, type TestApi } from '../support/apiServer';
import { nlpEvaluationBody } from '../support/evaluationBodies';
import { freePort } from '../support/ports';

let api: TestApi;
let user: { id: string; apiKey: string };

beforeAll(async () => {
  api = await startApi();
  user = await api.createUser();
});
afterAll(async () => {
  await api?.close();
});

function expectProblem(res: ApiResponse, status: number): void {
  expect(res.status, res.text).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({
    type: expect.any(String),
    title: expect.any(String),
    status,
    detail: expect.any(String),
  });
  expect(res.body.detail.length).toBeGreaterThan(0);
}

describe('authentication and roles', () => {
  it('answers 401 without a key, asking for a bearer token', async () => {
    const res = await api.request('GET', '/v1/evaluations');
    expectProblem(res, 401);
    expect(res.body.title).toBe('Unauthorized');
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  it.each([
    ['an unknown key', { authorization: 'Bearer pk_not-a-key' }],
    ['another scheme', { authorization: 'Basic dXNlcjpwYXNz' }],
    ['an empty bearer', { authorization: 'Bearer ' }],
    ['two tokens', { authorization: 'Bearer a b' }],
  ])('answers 401 for %s', async (_name, headers) => {
    expectProblem(await api.request('GET', '/v1/me', { headers }), 401);
  });

  it('checks the key before reading the body: an anonymous bad body is a 401, not a 400', async () => {
    const res = await api.request('POST', '/v1/evaluations', {
      body: '{not json',
      headers: { 'content-type': 'application/json' },
    });
    expectProblem(res, 401);
  });

  it('answers 403 to a role the route does not admit', async () => {
    const reviewer = await api.createUser('reviewer');
    const res = await api.request('POST', '/v1/evaluations', { key: reviewer.apiKey, body: nlpEvaluationBody() });
    expectProblem(res, 403);
    expect(res.body.detail).toMatch(/user or admin/);
  });

  it('serves the health check and the OpenAPI document without a key', async () => {
    expect((await api.request('GET', '/healthz')).status).toBe(200);
    expect((await api.request('GET', '/openapi.json')).status).toBe(200);
  });
});

describe('requests fastify refuses before a route runs', () => {
  it('answers 404 for an unknown route, with or without a key', async () => {
    expectProblem(await api.request('GET', '/v1/nothing-here'), 404);
    expectProblem(await api.request('DELETE', '/v1/evaluations', { key: user.apiKey }), 404);
  });

  it('answers 413 for a body over 1 MiB', async () => {
    const res = await api.request('POST', '/v1/evaluations', {
      key: user.apiKey,
      body: nlpEvaluationBody({ description: 'x'.repeat(1024 * 1024 + 1) }),
    });
    expectProblem(res, 413);
    expect(res.body.detail).toMatch(/1 MiB/);
  });

  it.each(['text/plain', 'application/xml', 'application/x-www-form-urlencoded'])(
    'answers 415 for a %s body',
    async (type) => {
      const res = await api.request('POST', '/v1/evaluations', {
        key: user.apiKey,
        body: 'modelName=x',
        headers: { 'content-type': type },
      });
      expectProblem(res, 415);
      expect(res.body.detail).toMatch(/application\/json/);
    },
  );

  it('answers 400 naming the body for malformed JSON, and for an empty JSON body', async () => {
    const bad = await api.request('POST', '/v1/evaluations', {
      key: user.apiKey,
      body: '{"domain": "nlp",',
      headers: { 'content-type': 'application/json' },
    });
    expectProblem(bad, 400);
    expect(bad.body.errors).toEqual([{ field: 'body', message: expect.stringMatching(/not valid JSON/) }]);
    const empty = await api.request('POST', '/v1/evaluations', {
      key: user.apiKey,
      body: '',
      headers: { 'content-type': 'application/json' },
    });
    expectProblem(empty, 400);
    expect(empty.body.errors[0].field).toBe('body');
  });

  it('answers 400 when a JSON body is missing altogether', async () => {
    const res = await api.request('POST', '/v1/evaluations', { key: user.apiKey });
    expectProblem(res, 400);
    expect(res.body.errors[0].field).toBe('body');
  });

  it('refuses prototype pollution attempts', async () => {
    const res = await api.request('POST', '/v1/evaluations', {
      key: user.apiKey,
      body: `{"__proto__": {"admin": true}, "domain": "nlp"}`,
    });
    expectProblem(res, 400);
  });
});

describe('unexpected failures', () => {
  it('answer 500 with a generic detail and the request id, echoing nothing of the cause', async () => {
    const port = await freePort();
    const broken = connectDb(`postgres://proctor:secret-password@127.0.0.1:${port}/nowhere`, { max: 1 });
    const app = await buildApp({ ...api.deps, db: broken.db }, { logger: false });
    try {
      const res = await app.inject({
        method: 'GET',
        url: '/v1/me',
        headers: { authorization: `Bearer ${user.apiKey}` },
      });
      expect(res.statusCode).toBe(500);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      const body = res.json();
      expect(body).toMatchObject({ status: 500, title: 'Internal Server Error' });
      expect(body.detail).toMatch(/request id/);
      expect(res.body).not.toMatch(/secret-password|ECONNREFUSED|nowhere|select/i);

      const health = await app.inject({ method: 'GET', url: '/healthz' });
      expect(health.statusCode).toBe(503);
      expect(health.json()).toEqual({ status: 'degraded', db: 'unreachable', temporal: 'ok' });
    } finally {
      await app.close();
      await broken.close();
    }
  });
});

describe('secrets in logs', () => {
  it('logs neither the bearer key nor the model API key, and redacts them wherever a log line would carry them', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = pino({ level: 'trace' }, sink);
    const app = await buildApp({ ...api.deps, logger });
    try {
      const modelKey = `sk-log-${Date.now()}`;
      const headers = { authorization: `Bearer ${user.apiKey}`, 'content-type': 'application/json' };
      const ok = await app.inject({
        method: 'POST',
        url: '/v1/evaluations',
        headers,
        payload: nlpEvaluationBody({ deployment: { method: 'api', endpoint: 'http://h/v1', apiKey: modelKey } }),
      });
      expect(ok.statusCode).toBe(201);
      const refused = await app.inject({
        method: 'POST',
        url: '/v1/evaluations',
        headers,
        payload: nlpEvaluationBody({
          modelName: 'BAD',
          deployment: { method: 'api', endpoint: 'http://h/v1', apiKey: modelKey },
        }),
      });
      expect(refused.statusCode).toBe(400);
      // Should anyone log a request with its headers and body, the secrets are masked.
      app.log.info(
        { req: { headers: { authorization: `Bearer ${user.apiKey}` }, body: { deployment: { apiKey: modelKey } } } },
        'a careless line',
      );
      app.log.info({ body: { deployment: { apiKey: modelKey } } }, 'another careless line');

      const text = lines.join('');
      expect(lines.length).toBeGreaterThan(4);
      expect(text).toContain('a careless line');
      expect(text).toContain('[redacted]');
      expect(text).not.toContain(modelKey);
      expect(text).not.toContain(user.apiKey);
    } finally {
      await app.close();
    }
  });
});
