/**
 * Publishing runs on the leaderboard, through HTTP against real workers and the stand-in model:
 * an admin sets the NLP board's suite; formal runs over it succeed, their owners submit two named
 * and one anonymous, a run of one dataset is refused and stays unsubmitted; the board shows exactly
 * the submitted ones, ranked with rank ranges (two models of equal skill overlap), with the scores
 * of the runs' own views; the anonymous row reveals nothing of its submitter; a suite change moves
 * the submissions under their version.
 * Refusals: a second submission, another user's run, a reviewer, an admin, a verification run, a
 * run that has not succeeded. A submission the workflow's validator refuses leaves no event in the
 * publication workflow's history.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { asc, eq, inArray } from 'drizzle-orm';
import { ARITH_MC_ID } from '../../datasets/builtin/arithChoice';
import { WORD_REVERSE_ID } from '../../datasets/builtin/wordReverse';
import { datasets, leaderboardSubmissions } from '../../db/schema';
import { closePublicationWindow } from '../../db/queries/leaderboard';
import { type LeaderboardSubmission, type LeaderboardView } from '../../contracts/leaderboard';
import type { RunView } from '../../contracts/run';
import { submitToLeaderboardUpdate } from '../../contracts/workflow';
import { ERROR_TYPES, WORKFLOW_TYPES, workflowIds } from '../../temporal.config';
import { recordHistoryFixture, RECORD_HISTORIES } from '../support/historyFixtures';
import { createEvaluation, createNamedUser, finishedRun, launch, submit, type TestUser } from './leaderboardFixtures';
import { browseBoard } from './boardInBrowser';
import { useTestStack } from '../support/testStack';

const stack = useTestStack({
  api: true,
  workers: true,
  // Two models of different skill, so the board's order is not the order of submission.
  models: {
    strong: { skill: 0.95, seed: 5101, latencyMs: 0 },
    weak: { skill: 0.6, seed: 5102, latencyMs: 0 },
    // As good as the strong one: their intervals overlap, so their ranks are not strictly ordered.
    twin: { skill: 0.95, seed: 5103, latencyMs: 0 },
  },
});

/** A name and organisation a browser would run as markup if the page did not escape them. */
const HOSTILE_NAME = `Eve <img src=x onerror="document.title='pwned'"><script>document.title='pwned'</script> & "co"`;
const HOSTILE_ORG = `</td></tr></table><b id="injected">Evil Corp</b>`;

interface World {
  ada: TestUser;
  eve: TestUser;
  bob: TestUser;
  reviewer: TestUser;
  named: { runId: string; modelName: string; view: RunView };
  anonymous: { runId: string; modelName: string; view: RunView; evaluationId: string };
  twin: { runId: string; modelName: string; view: RunView };
  unsubmitted: { runId: string; modelName: string; view: RunView };
  verification: string;
  suiteVersion: number;
}

/** The NLP board's suite in this file: the two datasets its full runs cover. */
const SUITE = [ARITH_MC_ID, WORD_REVERSE_ID];
let w: World;

beforeAll(async () => {
  const ada = await createNamedUser(stack.api, `Ada Lovelace ${randomUUID().slice(0, 4)}`, 'Analytical Engines');
  const eve = await createNamedUser(stack.api, HOSTILE_NAME, HOSTILE_ORG);
  const bob = await createNamedUser(stack.api, 'Bob', 'Elsewhere');
  const reviewer = await createNamedUser(stack.api, 'Rita Reviewer', 'Proctor', 'reviewer');

  // The board ranks runs over its suite; this file's full runs cover exactly it.
  const suite = await stack.api.request('PUT', '/v1/leaderboards/nlp/suite', {
    key: stack.api.adminKey,
    body: { name: 'leaderboard flow', datasets: SUITE },
  });
  expect([200, 201], suite.text).toContain(suite.status);

  // Eve's run is named and weak (its hostile name must show as text); Ada's strong one is anonymous;
  // Bob's is as strong as Ada's; Ada's run of one dataset does not cover the suite.
  const evalEve = await createEvaluation(stack.api, eve.apiKey, stack.models.weak.url, SUITE);
  const evalAda = await createEvaluation(stack.api, ada.apiKey, stack.models.strong.url, SUITE);
  const evalBob = await createEvaluation(stack.api, bob.apiKey, stack.models.twin.url, SUITE);
  const evalAdaUnsubmitted = await createEvaluation(stack.api, ada.apiKey, stack.models.strong.url, [WORD_REVERSE_ID]);
  const ids = {
    named: await launch(stack.api, eve.apiKey, evalEve.id, 'runs'),
    anonymous: await launch(stack.api, ada.apiKey, evalAda.id, 'runs'),
    twin: await launch(stack.api, bob.apiKey, evalBob.id, 'runs'),
    unsubmitted: await launch(stack.api, ada.apiKey, evalAdaUnsubmitted.id, 'runs'),
    verification: await launch(stack.api, ada.apiKey, evalAda.id, 'verifications'),
  };
  const [named, anonymous, twin, unsubmitted] = await Promise.all([
    finishedRun(stack.api, eve.apiKey, ids.named),
    finishedRun(stack.api, ada.apiKey, ids.anonymous),
    finishedRun(stack.api, bob.apiKey, ids.twin),
    finishedRun(stack.api, ada.apiKey, ids.unsubmitted),
    finishedRun(stack.api, ada.apiKey, ids.verification),
  ]);
  w = {
    ada,
    eve,
    bob,
    reviewer,
    named: { runId: ids.named, modelName: evalEve.modelName, view: named },
    anonymous: { runId: ids.anonymous, modelName: evalAda.modelName, view: anonymous, evaluationId: evalAda.id },
    twin: { runId: ids.twin, modelName: evalBob.modelName, view: twin },
    unsubmitted: { runId: ids.unsubmitted, modelName: evalAdaUnsubmitted.modelName, view: unsubmitted },
    verification: ids.verification,
    suiteVersion: suite.body.version as number,
  };
});

// Registered after the stack, so it runs before the stack stops its workers.
afterAll(async () => {
  // The publication workflows would wait out their 30-day windows on a server no worker serves.
  for (const run of w ? [w.named, w.anonymous, w.twin, w.unsubmitted] : []) {
    await stack.temporal.workflow
      .getHandle(workflowIds.leaderboard(run.runId))
      .terminate('test finished')
      .catch(() => {});
  }
});

async function runView(key: string, runId: string): Promise<RunView> {
  const res = await stack.api.request('GET', `/v1/runs/${runId}`, { key });
  expect(res.status, res.text).toBe(200);
  return res.body as RunView;
}

async function board(domain = 'nlp'): Promise<LeaderboardView> {
  const res = await stack.api.request('GET', `/v1/leaderboards/${domain}`);
  expect(res.status, res.text).toBe(200);
  return res.body as LeaderboardView;
}

describe('submitting runs to the leaderboard', () => {
  it('opens a window for formal runs that succeeded, and none for verifications', async () => {
    for (const run of [w.named, w.anonymous, w.unsubmitted]) {
      expect(run.view.status).toBe('succeeded');
      const [row] = await stack.db
        .select()
        .from(leaderboardSubmissions)
        .where(eq(leaderboardSubmissions.runId, run.runId));
      expect(row).toMatchObject({ status: 'open', domain: 'nlp', mode: null });
      expect(row!.closesAt.getTime() - row!.opensAt.getTime()).toBe(30 * 86_400_000);
      const description = await stack.temporal.workflow.getHandle(workflowIds.leaderboard(run.runId)).describe();
      expect(description.status.name).toBe('RUNNING');
      // The run's own view says where it stands: open until closesAt, not yet submitted.
      const view = await runView(run === w.named ? w.eve.apiKey : w.ada.apiKey, run.runId);
      expect(view.leaderboard).toEqual({
        status: 'open',
        closesAt: row!.closesAt.toISOString(),
        mode: null,
        submittedAt: null,
      });
      expect(view.review).toBeNull();
    }
    expect(
      await stack.db.select().from(leaderboardSubmissions).where(eq(leaderboardSubmissions.runId, w.verification)),
    ).toEqual([]);
    expect((await runView(w.ada.apiKey, w.verification)).leaderboard).toBeNull();
  });

  it('refuses runs of others (404 as if missing), reviewers and admins (403), and changes nothing', async () => {
    const before = await stack.db
      .select()
      .from(leaderboardSubmissions)
      .where(eq(leaderboardSubmissions.runId, w.named.runId));
    const byStranger = await submit(stack.api, w.bob.apiKey, w.named.runId, 'named');
    const missing = await submit(stack.api, w.bob.apiKey, randomUUID(), 'named');
    expect(byStranger.status).toBe(404);
    expect(byStranger.text).toBe(missing.text);
    const byReviewer = await submit(stack.api, w.reviewer.apiKey, w.named.runId, 'named');
    expect(byReviewer.status).toBe(403);
    const byAdmin = await submit(stack.api, stack.api.adminKey, w.named.runId, 'named');
    expect(byAdmin.status).toBe(403);
    expect(byAdmin.body.detail).toBe('only the run’s owner may submit it to the leaderboard');
    expect(byAdmin.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(
      await stack.db.select().from(leaderboardSubmissions).where(eq(leaderboardSubmissions.runId, w.named.runId)),
    ).toEqual(before);
  });

  it('refuses a verification run and a mode that is neither named nor anonymous', async () => {
    const verification = await submit(stack.api, w.ada.apiKey, w.verification, 'named');
    expect(verification.status).toBe(409);
    expect(verification.body.errors).toEqual([
      { field: 'type', message: expect.stringMatching(/is a verification; only formal runs can be submitted/) },
    ]);
    const badMode = await submit(stack.api, w.ada.apiKey, w.anonymous.runId, 'public');
    expect(badMode.status).toBe(400);
    expect(badMode.body.errors[0].field).toBe('mode');
  });

  it('refuses a formal run that did not succeed (stopped), and opens it no window', async () => {
    const evaluation = await createEvaluation(stack.api, w.ada.apiKey, stack.models.strong.url, [ARITH_MC_ID]);
    const runId = await launch(stack.api, w.ada.apiKey, evaluation.id, 'runs');
    expect((await stack.api.request('POST', `/v1/runs/${runId}/stop`, { key: w.ada.apiKey })).status).toBe(202);
    expect((await finishedRun(stack.api, w.ada.apiKey, runId)).status).toBe('stopped');
    const refused = await submit(stack.api, w.ada.apiKey, runId, 'named');
    expect(refused.status).toBe(409);
    expect(refused.body.errors).toEqual([
      {
        field: 'status',
        message: 'run v1 is stopped; only a formal run that succeeded can be submitted to the leaderboard',
      },
    ]);
    expect(await stack.db.select().from(leaderboardSubmissions).where(eq(leaderboardSubmissions.runId, runId))).toEqual(
      [],
    );
    expect((await runView(w.ada.apiKey, runId)).leaderboard).toBeNull();
  });

  it('refuses a run that did not finish every dataset of the suite, naming what it lacks', async () => {
    const refused = await submit(stack.api, w.ada.apiKey, w.unsubmitted.runId, 'named');
    expect(refused.status, refused.text).toBe(409);
    expect(refused.body.errors).toEqual([
      {
        field: 'datasets',
        message: `the nlp leaderboard ranks runs that finished every dataset of its suite "leaderboard flow" (v${w.suiteVersion}); run v1 lacks ${ARITH_MC_ID} (not in the run)`,
      },
    ]);
    const [row] = await stack.db
      .select()
      .from(leaderboardSubmissions)
      .where(eq(leaderboardSubmissions.runId, w.unsubmitted.runId));
    expect(row).toMatchObject({ status: 'open', mode: null, suiteVersion: null });
  });

  it('accepts the named and the anonymous submission once each; a second is 409', async () => {
    const named = await submit(stack.api, w.eve.apiKey, w.named.runId, 'named');
    expect(named.status, named.text).toBe(201);
    expect(named.body).toMatchObject({
      runId: w.named.runId,
      domain: 'nlp',
      mode: 'named',
      submitter: HOSTILE_NAME,
      organization: HOSTILE_ORG,
      leaderboard: '/v1/leaderboards/nlp',
    });
    const anonymous = await submit(stack.api, w.ada.apiKey, w.anonymous.runId, 'anonymous');
    expect(anonymous.status, anonymous.text).toBe(201);
    expect(anonymous.body).toMatchObject({ mode: 'anonymous', submitter: 'anonymous', organization: 'anonymous' });

    for (const [user, run, mode] of [
      [w.eve, w.named, 'anonymous'],
      [w.ada, w.anonymous, 'anonymous'],
    ] as const) {
      const again = await submit(stack.api, user.apiKey, run.runId, mode);
      expect(again.status).toBe(409);
      expect(again.body.detail).toMatch(/was already submitted \((named|anonymous)\) at .*; a run is submitted once/);
    }
    // Each publication workflow ends once its submission is stored.
    for (const run of [w.named, w.anonymous]) {
      expect(await stack.temporal.workflow.getHandle(workflowIds.leaderboard(run.runId)).result()).toEqual({
        outcome: 'submitted',
      });
    }
    // The runs' views show the submission, as the owner and as an admin.
    for (const [user, run, mode] of [
      [w.eve, w.named, 'named'],
      [w.ada, w.anonymous, 'anonymous'],
    ] as const) {
      const [row] = await stack.db
        .select()
        .from(leaderboardSubmissions)
        .where(eq(leaderboardSubmissions.runId, run.runId));
      const expected = {
        status: 'submitted',
        closesAt: row!.closesAt.toISOString(),
        mode,
        submittedAt: row!.submittedAt!.toISOString(),
      };
      expect((await runView(user.apiKey, run.runId)).leaderboard).toEqual(expected);
      expect((await runView(stack.api.adminKey, run.runId)).leaderboard).toEqual(expected);
    }
  });

  it('shows exactly the submitted runs, best first, with the scores and intervals of their own views', async () => {
    const view = await board();
    expect(view.rows.map((r) => r.modelName)).toEqual(
      expect.arrayContaining([w.anonymous.modelName, w.named.modelName]),
    );
    expect(view.rows.map((r) => r.modelName)).not.toContain(w.unsubmitted.modelName);
    const mine = view.rows.filter((r) => r.modelName === w.anonymous.modelName || r.modelName === w.named.modelName);
    // The strong model's anonymous run outranks the weak model's named one, submitted first.
    expect(mine.map((r) => r.modelName)).toEqual([w.anonymous.modelName, w.named.modelName]);
    const scores = view.rows.map((r) => r.overallScore ?? -1);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    expect(view.rows.map((r) => r.rank)).toEqual(view.rows.map((_, i) => i + 1));

    const [anonymousRow, namedRow] = mine;
    expect(anonymousRow).toMatchObject({ mode: 'anonymous', submitter: 'anonymous', organization: 'anonymous' });
    expect(namedRow).toMatchObject({ mode: 'named', submitter: HOSTILE_NAME, organization: HOSTILE_ORG });
    expect(JSON.stringify(view)).not.toContain(w.ada.name);

    // Columns: the suite's datasets grouped by task, as GET /v1/datasets lists them.
    expect(view.suite).toMatchObject({ version: w.suiteVersion, name: 'leaderboard flow', setBy: 'admin' });
    expect([...view.suite.datasets].sort()).toEqual([...SUITE].sort());
    const suiteRows = await stack.db
      .select({ id: datasets.id, task: datasets.task })
      .from(datasets)
      .where(inArray(datasets.id, SUITE))
      .orderBy(asc(datasets.task), asc(datasets.id));
    expect(view.columns.flatMap((c) => c.datasets.map((d) => [c.task, d]))).toEqual(
      suiteRows.map((d) => [d.task, d.id]),
    );
    expect(new Set(view.columns.map((c) => c.task)).size).toBe(view.columns.length);

    for (const [row, run] of [
      [anonymousRow!, w.anonymous],
      [namedRow!, w.named],
    ] as const) {
      expect(row.overallScore).toBe(run.view.overallScore);
      expect(row.overallCi95).toEqual(run.view.overallCi95);
      expect(row.taskScores).toEqual(
        Object.fromEntries(run.view.taskScores.map((t) => [t.task, { score: t.score, ci95: t.ci95 }])),
      );
      expect(row.datasetScores).toEqual(
        Object.fromEntries(
          run.view.datasets.map((d) => [d.dataset, { score: d.metrics!.score, ci95: d.metrics!.ci95 }]),
        ),
      );
    }
    expect(Object.keys(namedRow!.taskScores).sort()).toEqual(['arithmetic', 'string-manipulation']);
    expect(anonymousRow!.overallScore!).toBeGreaterThan(namedRow!.overallScore!);
  });

  it('ranks with rank ranges: two models of equal skill overlap, and every rank lies in its range', async () => {
    const twin = await submit(stack.api, w.bob.apiKey, w.twin.runId, 'named');
    expect(twin.status, twin.text).toBe(201);
    const view = await board();
    expect(view.rows.map((r) => r.rank)).toEqual(view.rows.map((_, i) => i + 1));
    for (const row of view.rows) {
      expect(row.rankRange.best).toBeLessThanOrEqual(row.rank);
      expect(row.rankRange.worst).toBeGreaterThanOrEqual(row.rank);
    }
    const strong = view.rows.find((r) => r.modelName === w.anonymous.modelName)!;
    const equal = view.rows.find((r) => r.modelName === w.twin.modelName)!;
    // Their intervals overlap, so neither is placed strictly above the other.
    expect(strong.overallCi95!.lower).toBeLessThanOrEqual(equal.overallCi95!.upper);
    expect(equal.overallCi95!.lower).toBeLessThanOrEqual(strong.overallCi95!.upper);
    expect(strong.rankRange.best).toBeLessThanOrEqual(equal.rankRange.worst);
    expect(equal.rankRange.best).toBeLessThanOrEqual(strong.rankRange.worst);
    const [stored] = await stack.db
      .select()
      .from(leaderboardSubmissions)
      .where(eq(leaderboardSubmissions.runId, w.twin.runId));
    expect(stored!.suiteVersion).toBe(w.suiteVersion);
  });

  it('serves every domain’s board without a key, and 404 for a domain there is not', async () => {
    const cv = await board('cv');
    expect(cv.rows).toEqual([]);
    const unknown = await stack.api.request('GET', '/v1/leaderboards/chess');
    expect(unknown.status).toBe(404);
    expect(unknown.body.detail).toBe(
      'there is no leaderboard for "chess"; the domains are nlp, cv, multimodal, audio, safety',
    );
    const page = await stack.api.request('GET', '/leaderboard/chess');
    expect(page.status).toBe(404);
  });

  it('renders the board as a page a browser shows as the API says, names as text, with a domain switcher', async () => {
    const view = await board();
    const seen = await browseBoard(`${stack.api.url}/leaderboard/nlp`);
    expect(seen.title).toBe('nlp leaderboard · Proctor');
    expect(seen.injected).toEqual({ images: 0, scripts: 0, bold: 0 });
    expect(seen.header).toEqual(view.columns.flatMap((c) => ['average', ...c.datasets]));
    expect(seen.groups).toEqual(view.columns.map((c) => c.task));
    expect(seen.rows).toEqual(
      view.rows.map((r) => ({
        rank: String(r.rank),
        rankRange:
          r.rankRange.best === r.rankRange.worst
            ? String(r.rankRange.best)
            : `${r.rankRange.best}–${r.rankRange.worst}`,
        model: r.modelName,
        submitter: r.submitter,
        organization: r.organization,
        overall: r.overallScore === null ? '—' : r.overallScore.toFixed(4),
        overallCi: r.overallCi95 ? `${r.overallCi95.lower.toFixed(4)}–${r.overallCi95.upper.toFixed(4)}` : '',
        scores: view.columns.flatMap((c) =>
          [r.taskScores[c.task], ...c.datasets.map((d) => r.datasetScores[d])].map((s) =>
            s ? s.score.toFixed(4) : '—',
          ),
        ),
      })),
    );
    expect(seen.rows.find((r) => r.model === w.named.modelName)).toMatchObject({
      submitter: HOSTILE_NAME,
      organization: HOSTILE_ORG,
    });
    expect(seen.rows.find((r) => r.model === w.anonymous.modelName)).toMatchObject({
      submitter: 'anonymous',
      organization: 'anonymous',
    });
    expect(seen.switchedTo).toEqual({ url: `${stack.api.url}/leaderboard/cv`, heading: 'cv leaderboard', rows: 1 });
    expect(seen.suite).toBe(`Suite leaderboard flow, version ${w.suiteVersion}: ${view.suite.datasets.join(', ')}.`);

    // Anonymous hides the submitter everywhere: nothing in the page or the API names Ada or leads to her.
    const api = JSON.stringify(view);
    for (const secret of [
      w.ada.name,
      w.ada.organization,
      w.ada.email,
      w.ada.id,
      w.anonymous.runId,
      w.anonymous.evaluationId,
    ]) {
      expect(seen.html, secret).not.toContain(secret);
      expect(api, secret).not.toContain(secret);
    }
    // The named rows show names, and no ids either.
    for (const secret of [w.eve.id, w.eve.email, w.named.runId, w.twin.runId, w.bob.id]) {
      expect(seen.html, secret).not.toContain(secret);
      expect(api, secret).not.toContain(secret);
    }
  });

  it('an update the validator refuses leaves nothing in the publication workflow’s history', async () => {
    const handle = stack.temporal.workflow.getHandle(workflowIds.leaderboard(w.unsubmitted.runId));
    const eventsBefore = (await handle.fetchHistory()).events ?? [];
    const refused = await handle
      // A mode the contract does not have, as a client that bypassed the API's schema could send.
      .executeUpdate(submitToLeaderboardUpdate, {
        args: [{ mode: 'public', submittedBy: w.ada.id } as unknown as LeaderboardSubmission],
      })
      .then(
        () => null,
        (error: unknown) => error,
      );
    expect(refused).toBeInstanceOf(WorkflowUpdateFailedError);
    const cause = (refused as WorkflowUpdateFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect((cause as ApplicationFailure).type).toBe(ERROR_TYPES.invalidLeaderboardSubmission);

    const eventsAfter = (await handle.fetchHistory()).events ?? [];
    const updateEvents = eventsAfter.filter(
      (e) =>
        e.workflowExecutionUpdateAcceptedEventAttributes ||
        e.workflowExecutionUpdateCompletedEventAttributes ||
        e.workflowExecutionUpdateAdmittedEventAttributes,
    );
    expect(updateEvents).toEqual([]);
    // Whatever workflow tasks the refusal took, nothing but task bookkeeping was written.
    const added = eventsAfter
      .slice(eventsBefore.length)
      .filter(
        (e) =>
          !e.workflowTaskScheduledEventAttributes &&
          !e.workflowTaskStartedEventAttributes &&
          !e.workflowTaskCompletedEventAttributes,
      );
    expect(added).toEqual([]);
    const [row] = await stack.db
      .select()
      .from(leaderboardSubmissions)
      .where(eq(leaderboardSubmissions.runId, w.unsubmitted.runId));
    expect(row!.status).toBe('open');
    expect((await board()).rows.map((r) => r.modelName)).not.toContain(w.unsubmitted.modelName);
  });

  it('the accepted submission is the one update in its history', async () => {
    const history = await stack.temporal.workflow.getHandle(workflowIds.leaderboard(w.named.runId)).fetchHistory();
    const accepted = (history.events ?? []).filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes);
    expect(accepted).toHaveLength(1);
    expect(accepted[0]!.workflowExecutionUpdateAcceptedEventAttributes!.acceptedRequest?.input?.name).toBe(
      submitToLeaderboardUpdate.name,
    );
  });

  it('shows a window that passed unused as closed on the run view', async () => {
    // What the publication workflow's closing activity writes when the window passes (its own
    // test waits one out); the workflow is terminated when the file ends.
    await closePublicationWindow(stack.db, w.unsubmitted.runId);
    const [row] = await stack.db
      .select()
      .from(leaderboardSubmissions)
      .where(eq(leaderboardSubmissions.runId, w.unsubmitted.runId));
    expect((await runView(w.ada.apiKey, w.unsubmitted.runId)).leaderboard).toEqual({
      status: 'closed',
      closesAt: row!.closesAt.toISOString(),
      mode: null,
      submittedAt: null,
    });
  });

  // Defined only when recording (a skipped test would count as a failure in `npm test`); replayed by test/workflows/replay.test.ts.
  if (RECORD_HISTORIES)
    it('records the published run and its publication as replay fixtures', async () => {
      await recordHistoryFixture(
        stack.temporal,
        'run-completed-published',
        workflowIds.run(w.named.runId),
        WORKFLOW_TYPES.run,
      );
      await recordHistoryFixture(
        stack.temporal,
        'leaderboard-window-submitted',
        workflowIds.leaderboard(w.named.runId),
        WORKFLOW_TYPES.leaderboardWindow,
      );
    });
});

describe('changing the suite', () => {
  it('refuses datasets that are not admissible built-ins of the domain, and keeps a list it already has', async () => {
    const bad = await stack.api.request('PUT', '/v1/leaderboards/nlp/suite', {
      key: stack.api.adminKey,
      body: { name: 'bad', datasets: [ARITH_MC_ID, 'no-such-dataset'] },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0]).toMatchObject({ field: 'datasets[1]' });
    const repeated = await stack.api.request('PUT', '/v1/leaderboards/nlp/suite', {
      key: stack.api.adminKey,
      body: { name: 'twice', datasets: [ARITH_MC_ID, ARITH_MC_ID] },
    });
    expect(repeated.status).toBe(400);
    const same = await stack.api.request('PUT', '/v1/leaderboards/nlp/suite', {
      key: stack.api.adminKey,
      body: { name: 'same again', datasets: [...SUITE].reverse() },
    });
    expect(same.status, same.text).toBe(200);
    expect(same.body).toMatchObject({ version: w.suiteVersion, name: 'leaderboard flow' });
    const byUser = await stack.api.request('PUT', '/v1/leaderboards/nlp/suite', {
      key: w.ada.apiKey,
      body: { name: 'mine', datasets: [ARITH_MC_ID] },
    });
    expect(byUser.status).toBe(403);
  });

  it('moves the submissions made under the old suite under their version, in the API and on the page', async () => {
    const before = await board();
    const changed = await stack.api.request('PUT', '/v1/leaderboards/nlp/suite', {
      key: stack.api.adminKey,
      body: { name: 'arithmetic only', datasets: [ARITH_MC_ID] },
    });
    expect(changed.status, changed.text).toBe(201);
    expect(changed.body).toMatchObject({ version: w.suiteVersion + 1, datasets: [ARITH_MC_ID], setBy: 'admin' });

    const after = await board();
    expect(after.suite.version).toBe(w.suiteVersion + 1);
    expect(after.rows).toEqual([]);
    const earlier = after.earlier.find((e) => e.suite?.version === w.suiteVersion)!;
    expect(earlier.suite!.name).toBe('leaderboard flow');
    // The same rows as before the change, ranked on their own suite.
    expect(earlier.rows).toEqual(before.rows);
    expect(earlier.columns).toEqual(before.columns);

    const suites = await stack.api.request('GET', '/v1/leaderboards/nlp/suites');
    expect(suites.status).toBe(200);
    expect(suites.body.map((s: { version: number }) => s.version).slice(0, 2)).toEqual([
      w.suiteVersion + 1,
      w.suiteVersion,
    ]);

    const seen = await browseBoard(`${stack.api.url}/leaderboard/nlp`);
    expect(seen.rows).toEqual([]);
    expect(seen.suite).toBe(`Suite arithmetic only, version ${w.suiteVersion + 1}: ${ARITH_MC_ID}.`);
    const section = seen.earlier.find((e) => e.heading.includes(`v${w.suiteVersion},`))!;
    expect(section.heading).toBe(`Submitted under suite v${w.suiteVersion}, “leaderboard flow”`);
    expect([...section.models].sort()).toEqual([w.named.modelName, w.anonymous.modelName, w.twin.modelName].sort());
  });
});
