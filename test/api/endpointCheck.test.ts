/**
 * POST /v1/evaluations/{id}/endpoint-check through HTTP, with real run and inference workers and
 * reference models as the endpoints: a healthy endpoint passes every step with latencies, a model
 * the endpoint does not serve is named, an endpoint that is down or refuses the key says so and
 * skips what it could not try, and a deployment that is not an API is refused. Nothing is stored:
 * no run, no quota.
 */
import { describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { runs } from '../../db/schema';
import type { EndpointCheckView } from '../../contracts/endpointCheck';
import { nlpEvaluationBody } from '../support/evaluationBodies';
import { freePort } from '../support/ports';
import { useTestStack } from '../support/testStack';

const stack = useTestStack({
  api: true,
  workers: ['runs', 'inference'],
  models: { open: {}, locked: { requiredApiKey: 'sk-right' } },
});

async function evaluation(key: string, deployment: Record<string, unknown>): Promise<string> {
  const res = await stack.api.request('POST', '/v1/evaluations', { key, body: nlpEvaluationBody({ deployment }) });
  expect(res.status, res.text).toBe(201);
  return res.body.id as string;
}

async function check(key: string, evaluationId: string) {
  return stack.api.request('POST', `/v1/evaluations/${evaluationId}/endpoint-check`, { key });
}

const stepsOf = (view: EndpointCheckView) => view.steps.map((s) => [s.step, s.status]);

describe('the endpoint check', () => {
  it('passes a healthy endpoint step by step, with latencies, and stores nothing', async () => {
    const { apiKey: key } = await stack.api.createUser();
    const id = await evaluation(key, {
      method: 'api',
      endpoint: stack.models.open.url,
      onlineModelName: 'proctor-reference',
      apiKey: 'sk-any',
    });
    const res = await check(key, id);
    expect(res.status, res.text).toBe(200);
    const view = res.body as EndpointCheckView;
    expect(view).toMatchObject({
      ok: true,
      endpoint: stack.models.open.url,
      model: 'proctor-reference',
      apiMode: 'chat',
    });
    expect(stepsOf(view)).toEqual([
      ['reachable', 'passed'],
      ['model', 'passed'],
      ['completion', 'passed'],
    ]);
    expect(view.steps[0]!.latencyMs).toBeGreaterThanOrEqual(0);
    expect(view.steps[2]!.latencyMs).toBeGreaterThanOrEqual(0);
    expect(view.steps[2]!.detail).toMatch(/^proctor-reference answered ".*" \(\d+ token\(s\)\)$/);
    expect(await stack.db.select().from(runs).where(eq(runs.evaluationId, id))).toEqual([]);
  });

  it('picks the first listed model when none is named, as a run does', async () => {
    const { apiKey: key } = await stack.api.createUser();
    const id = await evaluation(key, { method: 'api', endpoint: stack.models.open.url, apiMode: 'completion' });
    const view = (await check(key, id)).body as EndpointCheckView;
    expect(view).toMatchObject({ ok: true, model: 'proctor-reference', apiMode: 'completion' });
    expect(view.steps[1]!.detail).toBe(
      'no online model name is set: runs ask the first listed model, proctor-reference',
    );
  });

  it('names a model the endpoint does not serve, and the completion that fails for it', async () => {
    const { apiKey: key } = await stack.api.createUser();
    const id = await evaluation(key, { method: 'api', endpoint: stack.models.open.url, onlineModelName: 'gpt-9' });
    const view = (await check(key, id)).body as EndpointCheckView;
    expect(view.ok).toBe(false);
    expect(stepsOf(view)).toEqual([
      ['reachable', 'passed'],
      ['model', 'warning'],
      ['completion', 'failed'],
    ]);
    expect(view.steps[1]!.detail).toMatch(/^gpt-9 is not among the 1 listed \(proctor-reference\)/);
    expect(view.steps[2]!.detail).toMatch(/^chat completion of gpt-9 failed: .*does not exist/);
  });

  it('says when the endpoint cannot be reached, and skips what it could not try', async () => {
    const { apiKey: key } = await stack.api.createUser();
    const id = await evaluation(key, { method: 'api', endpoint: `http://127.0.0.1:${await freePort()}/v1` });
    const view = (await check(key, id)).body as EndpointCheckView;
    expect(view.ok).toBe(false);
    expect(stepsOf(view)).toEqual([
      ['reachable', 'failed'],
      ['model', 'skipped'],
      ['completion', 'skipped'],
    ]);
    expect(view.steps[0]!.detail).toMatch(/^the endpoint could not be reached: connection refused/);
  });

  it('says when the endpoint refuses the key, without showing the key', async () => {
    const { apiKey: key } = await stack.api.createUser();
    const wrong = `sk-wrong-${Date.now()}`;
    const id = await evaluation(key, { method: 'api', endpoint: stack.models.locked.url, apiKey: wrong });
    const res = await check(key, id);
    const view = res.body as EndpointCheckView;
    expect(view.ok).toBe(false);
    expect(stepsOf(view)).toEqual([
      ['reachable', 'passed'],
      ['model', 'skipped'],
      ['completion', 'skipped'],
    ]);
    expect(view.steps[0]!.detail).toMatch(/^the endpoint answered, but listing its models failed: .*(401|key)/i);
    expect(res.text).not.toContain(wrong);

    const fixed = await stack.api.request('PATCH', `/v1/evaluations/${id}`, {
      key,
      body: { deployment: { method: 'api', endpoint: stack.models.locked.url, apiKey: 'sk-right' } },
    });
    expect(fixed.status, fixed.text).toBe(200);
    expect(((await check(key, id)).body as EndpointCheckView).ok).toBe(true);
  });

  it('refuses a deployment that is not an API, and someone else’s evaluation', async () => {
    const { apiKey: key } = await stack.api.createUser();
    const { apiKey: other } = await stack.api.createUser();
    const predictions = await evaluation(key, { method: 'predictions' });
    const refused = await check(key, predictions);
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toMatch(/^the evaluation's deployment is predictions, not an API/);
    const id = await evaluation(key, { method: 'api', endpoint: stack.models.open.url });
    expect((await check(other, id)).status).toBe(404);
  });
});
