/**
 * The submission window: its setting, and what happens when it passes. The workers of this file run
 * with a window of a few seconds (PROCTOR_LEADERBOARD_WINDOW_DAYS is read when the activities are
 * created); a formal run succeeds, nobody submits it, its publication workflow closes the window and
 * ends, and a later submission is refused with a 409 that names the rule.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { ARITH_MC_ID } from '../../datasets/builtin/arithChoice';
import { ConfigError, loadLeaderboardSettings } from '../../config/env';
import { leaderboardSubmissions } from '../../db/schema';
import { WORKFLOW_TYPES, workflowIds } from '../../temporal.config';
import { startReferenceModel, type ReferenceModel } from '../../stack/referenceModel/server';
import { startApi, type TestApi } from '../support/apiServer';
import { startWorkers, type RunningWorkers } from '../support/temporalTestKit';
import { recordHistoryFixture, RECORD_HISTORIES } from '../support/historyFixtures';
import { submitToLeaderboard } from '../../api/gateways/temporalGateway';
import { createEvaluation, createNamedUser, finishedRun, launch, submit } from './leaderboardFixtures';

const WINDOW_SECONDS = 4;

describe('the window setting', () => {
  it('defaults to 30 days, takes fractions of a day, and refuses anything else naming the variable', () => {
    expect(loadLeaderboardSettings({})).toEqual({ windowMs: 30 * 86_400_000 });
    expect(loadLeaderboardSettings({ PROCTOR_LEADERBOARD_WINDOW_DAYS: '0.5' })).toEqual({ windowMs: 43_200_000 });
    expect(loadLeaderboardSettings({ PROCTOR_LEADERBOARD_WINDOW_DAYS: ' 7 ' })).toEqual({ windowMs: 7 * 86_400_000 });
    for (const bad of ['0', '-1', 'soon', '3651', 'NaN', 'Infinity']) {
      expect(() => loadLeaderboardSettings({ PROCTOR_LEADERBOARD_WINDOW_DAYS: bad }), bad).toThrow(ConfigError);
      expect(() => loadLeaderboardSettings({ PROCTOR_LEADERBOARD_WINDOW_DAYS: bad }), bad).toThrow(
        /^PROCTOR_LEADERBOARD_WINDOW_DAYS must be a number of days/,
      );
    }
  });
});

describe('a window that passes without a submission', () => {
  let api: TestApi;
  let workers: RunningWorkers;
  let model: ReferenceModel;
  const previous = process.env.PROCTOR_LEADERBOARD_WINDOW_DAYS;

  beforeAll(async () => {
    api = await startApi();
    process.env.PROCTOR_LEADERBOARD_WINDOW_DAYS = String(WINDOW_SECONDS / 86_400);
    workers = await startWorkers(api.deps.db);
    model = await startReferenceModel({ port: 0, knobs: { skill: 0.9, seed: 5201, latencyMs: 0 } });
  });

  afterAll(async () => {
    if (previous === undefined) delete process.env.PROCTOR_LEADERBOARD_WINDOW_DAYS;
    else process.env.PROCTOR_LEADERBOARD_WINDOW_DAYS = previous;
    await workers?.shutdown();
    await model?.close();
    await api?.close();
  });

  it('closes the window, ends the publication workflow, and refuses a later submission with 409 naming the rule', async () => {
    const owner = await createNamedUser(api, 'Grace Hopper', 'Navy');
    const evaluation = await createEvaluation(api, owner.apiKey, model.url, [ARITH_MC_ID]);
    const runId = await launch(api, owner.apiKey, evaluation.id, 'runs');
    const view = await finishedRun(api, owner.apiKey, runId);
    expect(view.status).toBe('succeeded');

    const publication = api.deps.temporal.workflow.getHandle(workflowIds.leaderboard(runId));
    expect(await publication.result()).toEqual({ outcome: 'closed' });
    const [row] = await api.deps.db
      .select()
      .from(leaderboardSubmissions)
      .where(eq(leaderboardSubmissions.runId, runId));
    expect(row).toMatchObject({ status: 'closed', mode: null, submittedAt: null });
    expect(row!.closesAt.getTime() - row!.opensAt.getTime()).toBe(WINDOW_SECONDS * 1000);
    expect(row!.closedAt).not.toBeNull();

    const late = await submit(api, owner.apiKey, runId, 'named');
    expect(late.status).toBe(409);
    expect(late.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(late.body.detail).toBe(
      `the submission window of run v1 closed at ${row!.closesAt.toISOString()}: a run may be submitted within ${WINDOW_SECONDS} second(s) after it succeeded (PROCTOR_LEADERBOARD_WINDOW_DAYS)`,
    );
    expect(late.body.errors).toEqual([{ field: 'runId', message: late.body.detail }]);

    // Past the API's own check, the ended workflow refuses too: nothing reaches the record.
    expect(await submitToLeaderboard(api.deps.temporal, runId, { mode: 'named', submittedBy: owner.id })).toMatchObject(
      { ok: false, refusal: 'noWorkflow' },
    );
    const board = await api.request('GET', '/v1/leaderboards/nlp');
    expect(board.body.rows.map((r: { modelName: string }) => r.modelName)).not.toContain(evaluation.modelName);

    if (RECORD_HISTORIES)
      await recordHistoryFixture(
        api.deps.temporal,
        'leaderboard-window-closed',
        workflowIds.leaderboard(runId),
        WORKFLOW_TYPES.leaderboardWindow,
      );
  });
});
