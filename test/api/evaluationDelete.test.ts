/**
 * Soft delete of an evaluation through HTTP on real workers: the owner no longer sees it (404 on
 * every route that names it, absent from the list), nothing new is done to it (edits, launches,
 * uploads, copies, a second delete), admins still read it, and its runs stay: readable through
 * /v1/runs, their reports downloadable, their leaderboard entries shown. A delete while a run is
 * queued or running is refused (409) until the run is stopped; quota is not given back.
 */
import { describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { leaderboardSubmissions } from '../../db/schema';
import type { LeaderboardView } from '../../contracts/leaderboard';
import { WORD_REVERSE_ID } from '../../datasets/builtin/wordReverse';
import type { RunView } from '../../contracts/run';
import { workflowIds } from '../../temporal.config';
import { nlpEvaluationBody, platformImageId } from '../support/evaluationBodies';
import { createPrivateEvaluation, issueToken } from '../uploads/uploadFixtures';
import { waitForRunEnd } from '../support/runThroughApi';
import { downloadRunReport } from '../support/runReport';
import { useTestStack } from '../support/testStack';
import { formalUsed } from '../support/quotaFixtures';
import { until } from '../support/until';

const stack = useTestStack({
  api: true,
  workers: ['runs', 'inference'],
  models: { quick: { skill: 1 }, slow: { skill: 1, latencyMs: 400 } },
});

async function evaluation(key: string, endpoint: string, overrides: Record<string, unknown> = {}): Promise<string> {
  const res = await stack.api.request('POST', '/v1/evaluations', {
    key,
    body: nlpEvaluationBody({
      datasets: [WORD_REVERSE_ID],
      deployment: { method: 'api', endpoint, onlineModelName: 'proctor-reference' },
      ...overrides,
    }),
  });
  expect(res.status, res.text).toBe(201);
  return res.body.id as string;
}

async function launch(key: string, evaluationId: string, body: unknown = {}): Promise<string> {
  const res = await stack.api.request('POST', `/v1/evaluations/${evaluationId}/runs`, { key, body });
  expect(res.status, res.text).toBe(202);
  return res.body.runId as string;
}

describe('DELETE /v1/evaluations/{id}', () => {
  it('hides the evaluation from its owner and closes it to changes, but keeps its runs, report and leaderboard entry', async () => {
    const { apiKey: key, id: userId } = await stack.api.createUser();
    const id = await evaluation(key, stack.models.quick.url);
    const run: RunView = await waitForRunEnd(stack.api, key, await launch(key, id));
    expect(run.status, run.error ?? '').toBe('succeeded');
    // The window opens as the run's workflow finishes, a moment after the run shows as ended.
    await until('the leaderboard window', async () => {
      const view = await stack.api.request('GET', `/v1/runs/${run.runId}`, { key });
      return view.body.leaderboard !== null;
    });
    // The entry is recorded as one submitted before boards had suites: every board shows those, whatever
    // its suite, and other test files change the NLP board's suite while this one runs (submitting
    // through the API is tested in test/leaderboard/).
    const [entry] = await stack.api.deps.db
      .update(leaderboardSubmissions)
      .set({ status: 'submitted', mode: 'named', submittedBy: userId, submittedAt: new Date(), suiteVersion: null })
      .where(eq(leaderboardSubmissions.runId, run.runId))
      .returning();
    expect(entry?.status).toBe('submitted');
    const { modelName } = (await stack.api.request('GET', `/v1/evaluations/${id}`, { key })).body;
    const usedBefore = await formalUsed(stack.api.deps.db, userId);

    const deleted = await stack.api.request('DELETE', `/v1/evaluations/${id}`, { key });
    expect(deleted.status, deleted.text).toBe(204);
    expect(deleted.text).toBe('');

    // Gone for the owner: the evaluation, its sub-resources and the list.
    for (const path of [
      `/v1/evaluations/${id}`,
      `/v1/evaluations/${id}/runs`,
      `/v1/evaluations/${id}/scoring`,
      `/v1/evaluations/${id}/predictions`,
    ]) {
      const res = await stack.api.request('GET', path, { key });
      expect(res.status, `${path}: ${res.text}`).toBe(404);
    }
    const list = await stack.api.request('GET', '/v1/evaluations?limit=100', { key });
    expect((list.body.items as { id: string }[]).map((e) => e.id)).not.toContain(id);

    // Nothing new: edits, launches, verifications, copies, predictions and a second delete are 404.
    const refused: [string, string, unknown][] = [
      ['PATCH', `/v1/evaluations/${id}`, { description: 'after the delete' }],
      ['POST', `/v1/evaluations/${id}/runs`, {}],
      ['POST', `/v1/evaluations/${id}/verifications`, { samplesPerDataset: 1 }],
      ['POST', `/v1/evaluations/${id}/copy`, { modelName: `${modelName}-copy` }],
      ['PUT', `/v1/evaluations/${id}/scoring`, { default: { metric: 'exact_match' } }],
      ['DELETE', `/v1/evaluations/${id}`, undefined],
    ];
    for (const [method, path, body] of refused) {
      const res = await stack.api.request(method, path, { key, ...(body === undefined ? {} : { body }) });
      expect(res.status, `${method} ${path}: ${res.text}`).toBe(404);
    }
    // A comparison cannot name it either.
    const compared = await stack.api.request('POST', '/v1/comparisons', {
      key,
      body: { name: 'after delete', evaluationIds: [id, id], datasets: [WORD_REVERSE_ID] },
    });
    expect(compared.status, compared.text).toBe(422);
    expect(compared.body.errors).toContainEqual({
      field: 'evaluationIds[0]',
      message: 'is not one of your evaluations',
    });

    // Its run stays: the view, the list of runs, the results and the report.
    const view = await stack.api.request('GET', `/v1/runs/${run.runId}`, { key });
    expect(view.status, view.text).toBe(200);
    expect(view.body).toMatchObject({ runId: run.runId, evaluationId: id, status: 'succeeded' });
    const runs = await stack.api.request('GET', `/v1/runs?evaluationId=${id}`, { key });
    expect(runs.status, runs.text).toBe(200);
    expect((runs.body.items as { runId: string }[]).map((r) => r.runId)).toEqual([run.runId]);
    expect((await stack.api.request('GET', `/v1/runs/${run.runId}/results?limit=1`, { key })).status).toBe(200);
    expect((await downloadRunReport(stack.api.url, key, run.runId)).byteLength).toBeGreaterThan(0);
    // Its leaderboard entry stays.
    const board = (await stack.api.request('GET', '/v1/leaderboards/nlp')).body as LeaderboardView;
    const beforeSuites = board.earlier.find((section) => section.suite === null);
    expect(beforeSuites?.rows.map((r) => r.modelName)).toContain(modelName);
    // The quota its run took is not given back.
    expect(await formalUsed(stack.api.deps.db, userId)).toBe(usedBefore);
    // The name stays taken: its runs and leaderboard entry still carry it.
    const again = await stack.api.request('POST', '/v1/evaluations', {
      key,
      body: nlpEvaluationBody({ modelName, deployment: { method: 'api', endpoint: stack.models.quick.url } }),
    });
    expect(again.status, again.text).toBe(400);
    expect(again.body.errors[0].field).toBe('modelName');

    // An admin still reads it, marked deleted, and in the list; changing it is refused with 409.
    const admin = stack.api.adminKey;
    const read = await stack.api.request('GET', `/v1/evaluations/${id}`, { key: admin });
    expect(read.status, read.text).toBe(200);
    expect(read.body.deletedAt).toEqual(expect.any(String));
    expect((await stack.api.request('GET', `/v1/evaluations/${id}/runs`, { key: admin })).status).toBe(200);
    const adminEdit = await stack.api.request('PATCH', `/v1/evaluations/${id}`, {
      key: admin,
      body: { description: 'by an admin' },
    });
    expect(adminEdit.status, adminEdit.text).toBe(409);
    expect(adminEdit.body.detail).toMatch(/was deleted at .*; it takes no new runs, uploads or edits/);
    const adminLaunch = await stack.api.request('POST', `/v1/evaluations/${id}/runs`, { key: admin, body: {} });
    expect(adminLaunch.status, adminLaunch.text).toBe(409);
    expect((await stack.api.request('DELETE', `/v1/evaluations/${id}`, { key: admin })).status).toBe(409);
    const adminList = await stack.api.request('GET', '/v1/evaluations?limit=100', { key: admin });
    expect(adminList.status).toBe(200);
    await stack.temporal.workflow
      .getHandle(workflowIds.leaderboard(run.runId))
      .terminate('test finished')
      .catch(() => {});
  });

  it('is refused while a run is queued or running, and goes through once the run is stopped', async () => {
    const { apiKey: key } = await stack.api.createUser();
    const id = await evaluation(key, stack.models.slow.url);
    const runId = await launch(key, id);

    const refused = await stack.api.request('DELETE', `/v1/evaluations/${id}`, { key });
    expect(refused.status, refused.text).toBe(409);
    expect(refused.body.detail).toMatch(
      new RegExp(
        `run v1 \\(${runId}\\) of this evaluation is (queued|running); stop it \\(POST /v1/runs/${runId}/stop\\)`,
      ),
    );
    expect((await stack.api.request('GET', `/v1/evaluations/${id}`, { key })).status).toBe(200);

    const stop = await stack.api.request('POST', `/v1/runs/${runId}/stop`, { key, body: {} });
    expect(stop.status, stop.text).toBe(202);
    expect((await waitForRunEnd(stack.api, key, runId)).status).toBe('stopped');
    const deleted = await stack.api.request('DELETE', `/v1/evaluations/${id}`, { key });
    expect(deleted.status, deleted.text).toBe(204);
    expect((await stack.api.request('GET', `/v1/runs/${runId}`, { key })).body.status).toBe('stopped');
  });

  it('turns away the upload tokens of a deleted evaluation', async () => {
    const { apiKey: key } = await stack.api.createUser();
    const id = await createPrivateEvaluation(stack.api, key, await platformImageId(stack.api, key));
    const token = await issueToken(stack.api, key, id);
    const ls = () => fetch(`${stack.api.url}/v1/upload/ls?path=%2F`, { headers: { authorization: `Bearer ${token}` } });
    // A token that made no version yet is let in and told so (409); the delete turns it away before that.
    expect((await ls()).status).toBe(409);
    expect((await stack.api.request('DELETE', `/v1/evaluations/${id}`, { key })).status).toBe(204);
    const refused = await ls();
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { detail: string }).detail).toMatch(
      /the upload token's evaluation was deleted at /,
    );
  });

  it("answers someone else's evaluation and one that does not exist as not found, and deletes nothing", async () => {
    const { apiKey: owner } = await stack.api.createUser();
    const { apiKey: stranger } = await stack.api.createUser();
    const id = await evaluation(owner, stack.models.quick.url);
    for (const path of [
      `/v1/evaluations/${id}`,
      '/v1/evaluations/00000000-0000-4000-8000-000000000000',
      '/v1/evaluations/nope',
    ]) {
      const res = await stack.api.request('DELETE', path, { key: stranger });
      expect(res.status, `${path}: ${res.text}`).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
    }
    expect((await stack.api.request('GET', `/v1/evaluations/${id}`, { key: owner })).status).toBe(200);
    // An evaluation with no runs is deleted at once.
    expect((await stack.api.request('DELETE', `/v1/evaluations/${id}`, { key: owner })).status).toBe(204);
    expect((await stack.api.request('GET', `/v1/evaluations/${id}`, { key: owner })).status).toBe(404);
  });
});
