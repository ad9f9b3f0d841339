/**
 * Manual evaluation end to end, through HTTP against real workers (OS processes), PostgreSQL,
 * Temporal and an SMTP sink: a formal run of an SFT model over zh-open-qa infers, waits for its
 * owner's launch, reviewers score every answer (surviving a SIGKILLed worker in between), the run
 * closes with the reviewers' scores in its metrics, overall score and report, and the owner is
 * mailed. Reminders, the own-model rule, incomplete completion, admin abandonment, the launch
 * window, and base models are covered against the same stack.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import ExcelJS from 'exceljs';
import { ZH_OPEN_QA_ID } from '../../datasets/builtin/zhOpenQa';
import { RUBRIC_MAX, type ReviewDetail } from '../../contracts/review';
import type { RunView, SampleResultView } from '../../contracts/run';
import { WORKFLOW_TYPES, workflowIds } from '../../temporal.config';
import { startReferenceModel, type ReferenceModel } from '../../stack/referenceModel/server';
import { startApi, type TestApi } from '../support/apiServer';
import { startWorkerProcess, type WorkerProcess } from '../support/workerProcess';
import { createSmtpSink, until, type SmtpSink } from '../notifications/smtpSink';
import { recordHistoryFixture, RECORD_HISTORIES } from '../support/historyFixtures';
import { downloadRunReport } from '../support/runReport';
import { launchSubjectiveRun, reviewOfRun, waitFor, waitForReviewStatus, waitForRunEnd } from './support';

/** 3.6 s between reminders, and a 30-second launch window: short enough to watch both happen. */
const WORKER_ENV = { PROCTOR_REVIEW_REMINDER_HOURS: '0.001', PROCTOR_MANUAL_EVALUATION_WINDOW_DAYS: '0.00035' };

let api: TestApi;
let model: ReferenceModel;
let sink: SmtpSink;
let worker: WorkerProcess;

const startWorker = () =>
  startWorkerProcess({
    ...WORKER_ENV,
    PROCTOR_SMTP_URL: sink.url,
    PROCTOR_MAIL_FROM: 'Proctor <proctor@review.example>',
  });

beforeAll(async () => {
  api = await startApi();
  model = await startReferenceModel({ port: 0, knobs: { skill: 1 } });
  sink = await createSmtpSink();
  await sink.start();
  worker = await startWorker();
});

afterAll(async () => {
  await worker?.kill();
  await sink?.stop();
  await model?.close();
  await api?.close();
});

async function email(key: string): Promise<string> {
  const me = await api.request('GET', '/v1/me', { key });
  return me.body.email as string;
}

async function openReview(key: string, reviewId: string): Promise<ReviewDetail> {
  const res = await api.request('GET', `/v1/reviews/${reviewId}`, { key });
  expect(res.status, res.text).toBe(200);
  return res.body as ReviewDetail;
}

/** Points an item gets in these tests: spread over the scale, so the dataset's score is neither 0 nor 1. */
const pointsFor = (i: number) => i % (RUBRIC_MAX + 1);

describe('manual evaluation of a subjective dataset', () => {
  it('runs from inference through launch, scoring, a worker crash and completion to a run scored by reviewers', async () => {
    const owner = await api.createUser('user');
    const reviewer = await api.createUser('reviewer');
    const { runId, customDataset } = await launchSubjectiveRun(api, owner.apiKey, model.url);

    // Inference ends; the zh dataset is held open, its answers stored without an automatic score.
    const waiting = await waitForReviewStatus(api, owner.apiKey, runId, 'awaiting-launch');
    expect(waiting).toMatchObject({
      runId,
      datasets: [ZH_OPEN_QA_ID],
      progress: { total: 40, scored: 0 },
      launchedAt: null,
    });
    expect(Date.parse(waiting.launchDeadline!)).toBeGreaterThan(Date.now());
    const running = (await api.request('GET', `/v1/runs/${runId}`, { key: owner.apiKey })).body as RunView;
    expect(running.status).toBe('running');
    // The run's view says it waits for its owner's launch, and until when.
    expect(running.review).toEqual({
      reviewId: waiting.reviewId,
      status: 'awaiting-launch',
      datasets: [ZH_OPEN_QA_ID],
      launchDeadline: waiting.launchDeadline,
      launchedAt: null,
      endedAt: null,
      note: null,
    });
    expect(running.leaderboard).toBeNull();
    expect(running.datasets.find((d) => d.dataset === ZH_OPEN_QA_ID)).toMatchObject({
      status: 'running',
      done: 40,
      metrics: null,
    });
    expect(running.datasets.find((d) => d.dataset === customDataset)).toMatchObject({ status: 'succeeded' });
    const held = await api.request('GET', `/v1/runs/${runId}/results?dataset=${ZH_OPEN_QA_ID}&limit=100`, {
      key: owner.apiKey,
    });
    expect((held.body.items as SampleResultView[]).map((r) => r.score)).toEqual(Array(40).fill(null));
    const ownerEmail = await email(owner.apiKey);
    await until(
      () => sink.mailsTo(ownerEmail).some((m) => /awaits its manual evaluation/.test(m.parsed.subject ?? '')),
      'the owner is told to launch',
    );

    // Launch, retried with the same key: one launch, one quota slot.
    const key = `manual-${randomUUID()}`;
    const launched = await api.request('POST', `/v1/runs/${runId}/manual-evaluation`, {
      key: owner.apiKey,
      headers: { 'idempotency-key': key },
    });
    expect(launched.status, launched.text).toBe(202);
    expect(launched.body).toMatchObject({ runId, status: 'in-review' });
    const replayed = await api.request('POST', `/v1/runs/${runId}/manual-evaluation`, {
      key: owner.apiKey,
      headers: { 'idempotency-key': key },
    });
    expect(replayed.status, replayed.text).toBe(202);
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    expect(replayed.body.reviewId).toBe(launched.body.reviewId);
    const again = await api.request('POST', `/v1/runs/${runId}/manual-evaluation`, { key: owner.apiKey });
    expect(again.status).toBe(409);
    expect(again.body.detail).toMatch(/already launched and is in review/);
    expect((await api.request('GET', '/v1/me', { key: owner.apiKey })).body.quota.manual).toEqual({
      used: 1,
      limit: 2,
    });
    const reviewId = launched.body.reviewId as string;
    const inReview = (await api.request('GET', `/v1/runs/${runId}`, { key: owner.apiKey })).body as RunView;
    expect(inReview.review).toMatchObject({
      reviewId,
      status: 'in-review',
      launchedAt: launched.body.launchedAt,
      endedAt: null,
    });
    expect(Date.parse(inReview.review!.launchedAt!)).not.toBeNaN();

    // Reviewers find it, and are reminded when it waits past the (short) reminder delay.
    const queue = await api.request('GET', '/v1/reviews', { key: reviewer.apiKey });
    expect(queue.status).toBe(200);
    expect(queue.body.items.map((r: { reviewId: string }) => r.reviewId)).toContain(reviewId);
    const reviewerEmail = await email(reviewer.apiKey);
    await until(
      () => sink.mailsTo(reviewerEmail).some((m) => (m.parsed.text ?? '').includes(`/v1/reviews/${reviewId}`)),
      'the reviewer is reminded',
    );
    expect(sink.mailsTo(reviewerEmail).find((m) => (m.parsed.text ?? '').includes(reviewId))!.parsed.subject).toMatch(
      /^\[Proctor\] Reminder: a manual review is waiting/,
    );

    const detail = await openReview(reviewer.apiKey, reviewId);
    expect(detail.items).toHaveLength(40);
    for (const item of detail.items) {
      expect(item.question).toMatch(/^请用中文回答下面的问题/);
      expect(item.answer.length).toBeGreaterThan(0);
      expect(item.reference.length).toBeGreaterThan(0);
      expect(item.rubric.length).toBeGreaterThan(0);
      expect(item.score).toBeNull();
    }
    expect(detail.rubricScale).toHaveLength(RUBRIC_MAX + 1);

    // Half the answers, then the worker dies; the scores are in PostgreSQL, not in the worker.
    const scoreAll = (items: ReviewDetail['items'], offset: number) =>
      api.request('POST', `/v1/reviews/${reviewId}/scores`, {
        key: reviewer.apiKey,
        body: {
          scores: items.map((item, i) => ({
            dataset: item.dataset,
            itemId: item.itemId,
            score: pointsFor(offset + i),
            comment: `item ${offset + i}`,
          })),
        },
      });
    const first = await scoreAll(detail.items.slice(0, 20), 0);
    expect(first.status, first.text).toBe(200);
    expect(first.body.progress).toEqual({ total: 40, scored: 20 });
    const early = await api.request('POST', `/v1/reviews/${reviewId}/complete`, { key: reviewer.apiKey });
    expect(early.status).toBe(409);
    expect(early.body.errors).toEqual([{ field: 'scores', message: '20 of 40 answers are not scored yet' }]);

    await worker.kill('SIGKILL');
    worker = await startWorker();

    // Re-scoring overwrites; an unknown item is refused by name.
    const wrong = await api.request('POST', `/v1/reviews/${reviewId}/scores`, {
      key: reviewer.apiKey,
      body: { scores: [{ dataset: ZH_OPEN_QA_ID, itemId: 'no-such-item', score: 3 }] },
    });
    expect(wrong.status).toBe(400);
    expect(wrong.body.errors[0].field).toBe('scores[0].itemId');
    const tooHigh = await api.request('POST', `/v1/reviews/${reviewId}/scores`, {
      key: reviewer.apiKey,
      body: { scores: [{ dataset: ZH_OPEN_QA_ID, itemId: detail.items[0]!.itemId, score: 6 }] },
    });
    expect(tooHigh.status).toBe(400);
    expect(tooHigh.body.errors[0].field).toBe('scores[0].score');
    await scoreAll([detail.items[0]!], 5); // item 0 first got 0 points, now 5
    const rest = await scoreAll(detail.items.slice(20), 20);
    expect(rest.body.progress).toEqual({ total: 40, scored: 40 });
    const rescored = await openReview(reviewer.apiKey, reviewId);
    expect(rescored.items[0]).toMatchObject({ score: 5, comment: 'item 5' });

    const completed = await api.request('POST', `/v1/reviews/${reviewId}/complete`, { key: reviewer.apiKey });
    expect(completed.status, completed.text).toBe(200);
    expect(completed.body.status).toBe('completed');

    const ended = await waitForRunEnd(api, owner.apiKey, runId);
    const points = detail.items.map((_, i) => (i === 0 ? 5 : pointsFor(i)));
    const expected = points.reduce((a, b) => a + b, 0) / RUBRIC_MAX / 40;
    const zh = ended.datasets.find((d) => d.dataset === ZH_OPEN_QA_ID)!;
    expect(ended.status).toBe('succeeded');
    expect(ended.review).toMatchObject({ reviewId, status: 'completed', endedAt: completed.body.endedAt });
    expect(Date.parse(ended.review!.endedAt!)).not.toBeNaN();
    expect(zh.status).toBe('succeeded');
    expect(zh.metrics!.score).toBeCloseTo(expected, 10);
    // Two tasks, each weighing the same: the reviewed one and the custom one (the reference model cannot say yes: 0).
    const custom = ended.datasets.find((d) => d.dataset === customDataset)!;
    expect(custom.status).toBe('succeeded');
    expect(ended.taskScores.find((t) => t.task === 'zh-open-qa')!.score).toBeCloseTo(expected, 10);
    expect(ended.overallScore).toBeCloseTo((expected + custom.metrics!.score) / 2, 10);
    const scored = await api.request('GET', `/v1/runs/${runId}/results?dataset=${ZH_OPEN_QA_ID}&limit=100`, {
      key: owner.apiKey,
    });
    expect((scored.body.items as SampleResultView[]).map((r) => r.score)).toEqual(points.map((p) => p / RUBRIC_MAX));

    // The report carries the reviewers' score.
    // It is written just after the run closes.
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(await downloadRunReport(api.url, owner.apiKey, runId));
    const summaryRow = workbook
      .getWorksheet('Summary')!
      .getRows(1, 200)!
      .find((row) => (row.values as unknown[]).includes(ZH_OPEN_QA_ID));
    expect(summaryRow, 'a summary row for zh-open-qa').toBeDefined();
    expect((summaryRow!.values as unknown[]).some((v) => typeof v === 'number' && Math.abs(v - expected) < 1e-9)).toBe(
      true,
    );

    await until(
      () => sink.mailsTo(ownerEmail).some((m) => /manual evaluation of v1 completed/.test(m.parsed.subject ?? '')),
      'the owner is told the review is done',
    );
    const done = sink
      .mailsTo(ownerEmail)
      .find((m) => /manual evaluation of v1 completed/.test(m.parsed.subject ?? ''))!;
    expect(done.parsed.text).toContain(`${ZH_OPEN_QA_ID}: ${expected.toFixed(4)} over 40 reviewed answer(s)`);
    expect((await reviewOfRun(api, owner.apiKey, runId))!.status).toBe('completed');

    if (RECORD_HISTORIES) {
      await recordHistoryFixture(api.deps.temporal, 'run-manual-review', workflowIds.run(runId), WORKFLOW_TYPES.run);
    }
  });

  it('refuses a reviewer the runs of their own model, and lets an admin give a waiting review up', async () => {
    // Admins may own evaluations and review; the rule holds for them too.
    const { runId, customDataset } = await launchSubjectiveRun(api, api.adminKey, model.url);
    await waitForReviewStatus(api, api.adminKey, runId, 'awaiting-launch');
    const launched = await api.request('POST', `/v1/runs/${runId}/manual-evaluation`, { key: api.adminKey });
    expect(launched.status, launched.text).toBe(202);
    const reviewId = launched.body.reviewId as string;
    const rule = /reviewers may not review runs of their own models/;
    for (const [method, path, body] of [
      ['GET', `/v1/reviews/${reviewId}`, undefined],
      [
        'POST',
        `/v1/reviews/${reviewId}/scores`,
        { scores: [{ dataset: ZH_OPEN_QA_ID, itemId: `${ZH_OPEN_QA_ID}-0001`, score: 5 }] },
      ],
      ['POST', `/v1/reviews/${reviewId}/complete`, undefined],
    ] as const) {
      const res = await api.request(method, path, { key: api.adminKey, ...(body ? { body } : {}) });
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(res.body.detail).toMatch(rule);
    }
    const adminQuotaBefore = (await api.request('GET', '/v1/me', { key: api.adminKey })).body.quota.manual
      .used as number;

    // A reviewer cannot abandon; an admin can, and the launch's quota slot comes back.
    const reviewer = await api.createUser('reviewer');
    expect(
      (await api.request('POST', `/v1/reviews/${reviewId}/abandon`, { key: reviewer.apiKey, body: {} })).status,
    ).toBe(403);
    const abandoned = await api.request('POST', `/v1/reviews/${reviewId}/abandon`, {
      key: api.adminKey,
      body: { reason: 'no Chinese-speaking reviewer this month' },
    });
    expect(abandoned.status, abandoned.text).toBe(200);
    expect(abandoned.body).toMatchObject({ status: 'abandoned', note: 'no Chinese-speaking reviewer this month' });
    expect((await api.request('POST', `/v1/reviews/${reviewId}/abandon`, { key: api.adminKey, body: {} })).status).toBe(
      409,
    );
    expect((await api.request('GET', '/v1/me', { key: api.adminKey })).body.quota.manual.used).toBe(
      adminQuotaBefore - 1,
    );

    const ended = await waitForRunEnd(api, api.adminKey, runId);
    expect(ended.status).toBe('succeeded');
    expect(ended.datasets.find((d) => d.dataset === ZH_OPEN_QA_ID)).toMatchObject({
      status: 'failed',
      metrics: null,
      error: 'unscored: the manual evaluation was abandoned by an admin (no Chinese-speaking reviewer this month)',
    });
    expect(ended.review).toMatchObject({
      reviewId,
      status: 'abandoned',
      note: 'no Chinese-speaking reviewer this month',
    });
    const custom = ended.datasets.find((d) => d.dataset === customDataset)!;
    expect(custom.status).toBe('succeeded');
    // The unscored dataset counts in no task: the overall score is the custom task's alone.
    expect(ended.taskScores.map((t) => t.task)).toEqual(['custom']);
    expect(ended.overallScore).toBe(custom.metrics!.score);
  });

  it('closes the run with the subjective dataset unscored when the owner does not launch within the window', async () => {
    const owner = await api.createUser('user');
    const { runId } = await launchSubjectiveRun(api, owner.apiKey, model.url);
    await waitForReviewStatus(api, owner.apiKey, runId, 'awaiting-launch');
    const ended = await waitForRunEnd(api, owner.apiKey, runId);
    expect(ended.status).toBe('succeeded');
    expect(ended.datasets.find((d) => d.dataset === ZH_OPEN_QA_ID)).toMatchObject({ status: 'failed', metrics: null });
    expect(ended.datasets.find((d) => d.dataset === ZH_OPEN_QA_ID)!.error).toBe(
      'unscored: the manual evaluation was not launched within 30 second(s) of the end of inference',
    );
    expect((await reviewOfRun(api, owner.apiKey, runId))!.status).toBe('expired');
    const afterWindow = (await api.request('GET', `/v1/runs/${runId}`, { key: owner.apiKey })).body as RunView;
    expect(afterWindow.review).toMatchObject({ status: 'expired', launchedAt: null, datasets: [ZH_OPEN_QA_ID] });
    expect(Date.parse(afterWindow.review!.launchDeadline!)).not.toBeNaN();
    const late = await api.request('POST', `/v1/runs/${runId}/manual-evaluation`, { key: owner.apiKey });
    expect(late.status).toBe(409);
    expect(late.body.detail).toMatch(/its launch window has passed/);
    expect((await api.request('GET', '/v1/me', { key: owner.apiKey })).body.quota.manual.used).toBe(0);
  });

  it('scores zh-open-qa automatically for a base model, and refuses its manual evaluation naming the rule', async () => {
    const owner = await api.createUser('user');
    const { runId } = await launchSubjectiveRun(api, owner.apiKey, model.url, 'base');
    const ended = await waitForRunEnd(api, owner.apiKey, runId);
    expect(ended.status).toBe('succeeded');
    const zh = ended.datasets.find((d) => d.dataset === ZH_OPEN_QA_ID)!;
    expect(zh.status).toBe('succeeded');
    expect(zh.metrics!.metric).toBe('rouge_l');
    expect(await reviewOfRun(api, owner.apiKey, runId)).toBeNull();
    expect(ended.review).toBeNull();
    const refused = await api.request('POST', `/v1/runs/${runId}/manual-evaluation`, { key: owner.apiKey });
    expect(refused.status).toBe(422);
    expect(refused.body.errors[0].field).toBe('runId');
    expect(refused.body.detail).toMatch(/base models score them automatically/);
  });

  it('ends a run stopped while it waits for reviewers, and cancels its review', async () => {
    const owner = await api.createUser('user');
    const { runId } = await launchSubjectiveRun(api, owner.apiKey, model.url);
    await waitForReviewStatus(api, owner.apiKey, runId, 'awaiting-launch');
    expect((await api.request('POST', `/v1/runs/${runId}/manual-evaluation`, { key: owner.apiKey })).status).toBe(202);
    expect((await api.request('POST', `/v1/runs/${runId}/stop`, { key: owner.apiKey })).status).toBe(202);
    const ended = await waitForRunEnd(api, owner.apiKey, runId);
    expect(ended.status).toBe('stopped');
    expect(ended.datasets.find((d) => d.dataset === ZH_OPEN_QA_ID)!.status).toBe('stopped');
    await waitFor('the review is cancelled', async () =>
      (await reviewOfRun(api, owner.apiKey, runId))!.status === 'cancelled' ? true : null,
    );
  });
});
