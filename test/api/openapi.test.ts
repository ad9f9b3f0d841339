/**
 * The OpenAPI document describes every route the server has, with the shared contract schemas as
 * named components, and the health check reports the database and Temporal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { buildApp } from '../../api/app';
import { startApi, type TestApi } from '../support/apiServer';
import { freePort } from '../support/ports';

let api: TestApi;

beforeAll(async () => {
  api = await startApi();
});
afterAll(async () => {
  await api?.close();
});

/** Every method and path the server routes, in OpenAPI's {param} form, read from fastify's route tree. */
function serverRoutes(): Set<string> {
  const routes = new Set<string>();
  const prefixes: string[] = [];
  for (const line of api.app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^([│ ]*)[├└]── (\S+) \(([A-Z, ]+)\)$/.exec(line);
    if (!match) continue;
    const depth = match[1]!.length / 4;
    prefixes.length = depth;
    const route = `${prefixes.join('')}${match[2]!}`;
    prefixes.push(match[2]!);
    for (const method of match[3]!.split(', ')) routes.add(`${method} ${route.replace(/:(\w+)/g, '{$1}')}`);
  }
  return routes;
}

describe('GET /openapi.json', () => {
  it('is a public OpenAPI 3 document of every route, including each contract route the server has', async () => {
    const res = await api.request('GET', '/openapi.json');
    expect(res.status).toBe(200);
    const doc = res.body;
    expect(doc.openapi).toMatch(/^3\./);
    const documented = new Set<string>();
    for (const [p, ops] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
      for (const method of Object.keys(ops)) documented.add(`${method.toUpperCase()} ${p}`);
    }

    // Everything the server answers (but the document itself and HEAD) is documented, except the
    // flageval-serving CLI's protocol under /api/ (another tool's wire format, docs/uploads.md) and
    // the console's static files (docs/console.md).
    const undocumented = (r: string) => r.includes(' /api/') || r.includes(' /console/');
    const routed = [...serverRoutes()].filter(
      (r) => !r.startsWith('HEAD ') && !r.startsWith('OPTIONS ') && r !== 'GET /openapi.json' && !undocumented(r),
    );
    expect([...serverRoutes()].filter((r) => undocumented(r) && !r.startsWith('HEAD ')).sort()).toEqual([
      'GET /api/evaluations/models/files',
      'GET /console/',
      'GET /console/{asset}',
      'POST /api/evaluations/manage/op_file',
      'POST /api/evaluations/models/files',
      'POST /api/evaluations/models/files/{fileId}/chunks',
    ]);
    expect(routed.length).toBeGreaterThan(10);
    for (const route of routed) expect(documented, route).toContain(route);

    // The contract routes this stage of the product serves (../shared/API.md) must be there.
    for (const key of [
      'POST /v1/users',
      'GET /v1/me',
      'GET /v1/datasets',
      'POST /v1/datasets',
      'POST /v1/evaluations',
      'GET /v1/evaluations',
      'GET /v1/evaluations/{id}',
      'PATCH /v1/evaluations/{id}',
      'POST /v1/evaluations/{id}/verifications',
      'POST /v1/evaluations/{id}/runs',
      'GET /v1/evaluations/{id}/runs',
      'GET /v1/runs/{runId}',
      'POST /v1/runs/{runId}/stop',
      'GET /v1/runs/{runId}/results',
      'GET /v1/runs/{runId}/logs',
      'GET /v1/runs/{runId}/report.xlsx',
      'GET /v1/runs/{runId}/results.jsonl',
      'GET /healthz',
      'GET /v1/images',
      'POST /v1/images',
      'GET /v1/images/{id}',
      'POST /v1/images/{id}/approve',
      'POST /v1/images/{id}/reject',
      'GET /v1/resources',
    ]) {
      expect(documented, key).toContain(key);
    }
  });

  it('names the shared schemas as components and references them from the routes', async () => {
    const doc = (await api.request('GET', '/openapi.json')).body;
    for (const name of [
      'Problem',
      'CreateEvaluationBody',
      'PatchEvaluationBody',
      'EvaluationView',
      'Deployment',
      'DatasetView',
      'RegisterDatasetBody',
      'CreateUserBody',
      'MeView',
    ]) {
      expect(doc.components.schemas, name).toHaveProperty(name);
    }
    const create = doc.paths['/v1/evaluations'].post;
    expect(create.requestBody.content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/CreateEvaluationBody',
    });
    expect(JSON.stringify(create.responses['201'])).toContain('#/components/schemas/EvaluationView');
    expect(create.responses['400'].content['application/problem+json'].schema).toEqual({
      $ref: '#/components/schemas/Problem',
    });
    expect(create.responses['201'].content['application/json']).toBeDefined();
    // Rules travel with the schema: a client reads the model-name and URL rules from the document.
    const endpoint = doc.components.schemas.ApiDeployment.properties.endpoint;
    expect(endpoint.description).toMatch(/http\(s\) URL/);
    expect(doc.components.schemas.Deployment.discriminator).toEqual({ propertyName: 'method' });
    // Secured by bearer key, but the health check and the document are open.
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.paths['/healthz'].get.security).toEqual([]);
    expect(create.responses['401']).toBeDefined();
    // No reference points nowhere.
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]!);
    for (const ref of new Set(refs)) expect(doc.components.schemas, ref).toHaveProperty(ref);
  });

  it('gives every operation a schema for each success it answers: the schema that writes the response, and so filters it', async () => {
    const doc = (await api.request('GET', '/openapi.json')).body;
    const unschemed: string[] = [];
    for (const [path, operations] of Object.entries(doc.paths as Record<string, Record<string, OperationDoc>>)) {
      for (const [method, operation] of Object.entries(operations)) {
        const successes = Object.entries(operation.responses ?? {}).filter(([status]) => /^2/.test(status));
        if (successes.length === 0) unschemed.push(`${method.toUpperCase()} ${path}`);
        for (const [status, response] of successes) {
          const bodies = Object.values(response.content ?? {});
          if (status !== '204' && (bodies.length === 0 || bodies.some((b) => !b.schema)))
            unschemed.push(`${method.toUpperCase()} ${path} ${status}`);
        }
      }
    }
    expect(unschemed).toEqual([]);
  });
});

interface OperationDoc {
  responses?: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}

describe('GET /healthz', () => {
  it('reports ok for the database and Temporal, without a key', async () => {
    const res = await api.request('GET', '/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok', db: 'ok', temporal: 'ok' });
  });

  it('answers 503 naming Temporal when Temporal cannot be reached', async () => {
    const port = await freePort();
    // Without the SDK's retry interceptor: its retry timer, still pending when the probe has
    // answered, would fire on the closed connection below and throw from the timer.
    const connection = await Connection.lazy({ address: `127.0.0.1:${port}`, interceptors: [] });
    const app = await buildApp({ ...api.deps, temporal: new Client({ connection }) }, { logger: false });
    try {
      const res = await app.inject({ method: 'GET', url: '/healthz' });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toEqual({ status: 'degraded', db: 'ok', temporal: 'unreachable' });
    } finally {
      await app.close();
      await connection.close().catch(() => {});
    }
  });
});
