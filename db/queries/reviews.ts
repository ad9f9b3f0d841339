/**
 * The manual-review aggregate: one review per run with subjective datasets, and the reviewers'
 * scores of its answers. Every status change is one guarded UPDATE (or a locked read and an update
 * in one transaction), so the API and the run's workflow may race and exactly one outcome is kept;
 * scores are upserts on (review, dataset, sample), so scoring again overwrites.
 */
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Db, Tx } from '../client';
import {
  datasetItems,
  evaluations,
  manualReviews,
  reviewScores,
  runDatasets,
  runs,
  sampleResults,
  users,
} from '../schema';
import {
  FINAL_REVIEW_STATUSES,
  RUBRIC_MAX,
  RUBRIC_MIN,
  RUBRIC_SCALE,
  type ReviewDetail,
  type ReviewItem,
  type ReviewStatus,
  type ReviewSummary,
} from '../../contracts/review';
import { consumeQuota, releaseQuota } from './quota';
import { claimIdempotencyKey, forgetIdempotencyKey, recordIdempotentRun, type IdempotentRequest } from './idempotency';

export type ReviewRow = typeof manualReviews.$inferSelect;

export async function getReviewOfRun(db: Db | Tx, runId: string): Promise<ReviewRow | null> {
  const [row] = await db.select().from(manualReviews).where(eq(manualReviews.runId, runId));
  return row ?? null;
}

export async function getReview(db: Db | Tx, reviewId: string): Promise<ReviewRow | null> {
  if (!isUuid(reviewId)) return null;
  const [row] = await db.select().from(manualReviews).where(eq(manualReviews.id, reviewId));
  return row ?? null;
}

/** Records that the run's subjective datasets go to reviewers; a retry finds the row it made. */
export async function planReview(db: Db, runId: string, ownerId: string, datasetIds: string[]): Promise<ReviewRow> {
  await db
    .insert(manualReviews)
    .values({ runId, ownerId, datasetIds })
    .onConflictDoNothing({ target: manualReviews.runId });
  return (await getReviewOfRun(db, runId))!;
}

/**
 * Whether the dataset's inference ends in a wait for reviewers rather than in automatic metrics.
 * A review abandoned while its datasets were still inferred holds them too, so they close
 * unscored like any abandoned review's, never with the metric's score.
 */
export async function isHeldForReview(db: Db, runId: string, datasetId: string): Promise<boolean> {
  const review = await getReviewOfRun(db, runId);
  return review !== null && review.status !== 'cancelled' && review.datasetIds.includes(datasetId);
}

/** The metric's scores of a held dataset are dropped: reviewers' points replace them. */
export async function clearAutomaticScores(db: Db, runId: string, datasetId: string): Promise<void> {
  await db
    .update(sampleResults)
    .set({ score: null })
    .where(
      and(eq(sampleResults.runId, runId), eq(sampleResults.datasetId, datasetId), eq(sampleResults.status, 'scored')),
    );
}

/** Answers stored for the review's datasets (failed samples have none and are not reviewed). */
async function answeredCount(db: Db | Tx, review: Pick<ReviewRow, 'runId' | 'datasetIds'>): Promise<number> {
  if (review.datasetIds.length === 0) return 0;
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(sampleResults)
    .where(
      and(
        eq(sampleResults.runId, review.runId),
        inArray(sampleResults.datasetId, review.datasetIds),
        eq(sampleResults.status, 'scored'),
      ),
    );
  return row?.n ?? 0;
}

async function scoredCount(db: Db | Tx, reviewId: string): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(reviewScores)
    .where(eq(reviewScores.reviewId, reviewId));
  return row?.n ?? 0;
}

/**
 * Inference is over: the review waits for its owner's launch until the deadline, or is cancelled
 * when no held dataset stored an answer to review. A review already past pending is left as it is.
 */
export async function openReviewGate(db: Db, runId: string, launchWindowMs: number): Promise<ReviewRow> {
  return db.transaction(async (tx) => {
    const [review] = await tx.select().from(manualReviews).where(eq(manualReviews.runId, runId)).for('update');
    if (!review) throw new Error(`run ${runId} has no manual review`);
    if (review.status !== 'pending') return review;
    const held = await tx
      .select({ datasetId: runDatasets.datasetId })
      .from(runDatasets)
      .where(
        and(
          eq(runDatasets.runId, runId),
          inArray(runDatasets.datasetId, review.datasetIds),
          eq(runDatasets.status, 'running'),
        ),
      );
    const answers =
      held.length === 0 ? 0 : await answeredCount(tx, { runId, datasetIds: held.map((h) => h.datasetId) });
    const [updated] =
      answers === 0
        ? await tx
            .update(manualReviews)
            .set({
              status: 'cancelled',
              endedAt: sql`now()`,
              note: 'the subjective datasets stored no answer to review',
            })
            .where(eq(manualReviews.id, review.id))
            .returning()
        : await tx
            .update(manualReviews)
            .set({
              status: 'awaiting-launch',
              datasetIds: held.map((h) => h.datasetId),
              launchDeadline: sql`now() + ${`${launchWindowMs} milliseconds`}::interval`,
            })
            .where(eq(manualReviews.id, review.id))
            .returning();
    return updated!;
  });
}

export type LaunchReviewOutcome =
  | { ok: true; review: ReviewRow; replayed: boolean }
  | { ok: false; reason: 'not-awaiting-launch'; review: ReviewRow }
  | { ok: false; reason: 'quota-exhausted'; used: number }
  | { ok: false; reason: 'idempotency-mismatch' };

/**
 * The owner launches the manual evaluation: one transaction locks the review, takes a slot of the
 * owner's manual quota for the month (the conditional upsert of quota.ts makes concurrent launches
 * race-free) and moves it to in-review. A refused launch takes nothing and forgets its key.
 */
export async function launchReview(
  db: Db,
  request: { runId: string; launchedBy: string; month: string; limit: number; idempotency: IdempotentRequest | null },
): Promise<LaunchReviewOutcome> {
  return db.transaction(async (tx): Promise<LaunchReviewOutcome> => {
    const { idempotency } = request;
    if (idempotency) {
      const claim = await claimIdempotencyKey(tx, idempotency);
      if (claim.state === 'mismatch') return { ok: false, reason: 'idempotency-mismatch' };
      if (claim.state === 'done') return { ok: true, replayed: true, review: (await getReviewOfRun(tx, claim.runId))! };
    }
    const outcome = await launchInTransaction(tx, request);
    if (idempotency) {
      if (outcome.ok) await recordIdempotentRun(tx, idempotency, request.runId);
      else await forgetIdempotencyKey(tx, idempotency);
    }
    return outcome;
  });
}

async function launchInTransaction(
  tx: Tx,
  request: { runId: string; launchedBy: string; month: string; limit: number },
): Promise<LaunchReviewOutcome> {
  const [review] = await tx.select().from(manualReviews).where(eq(manualReviews.runId, request.runId)).for('update');
  if (!review) throw new Error(`run ${request.runId} has no manual review`);
  if (review.status !== 'awaiting-launch') return { ok: false, reason: 'not-awaiting-launch', review };
  if (!(await consumeQuota(tx, review.ownerId, 'manual', request.month, request.limit))) {
    const rows = await tx.execute<{ used: number }>(
      sql`select used from quota_usage where user_id = ${review.ownerId}::uuid and month = ${request.month} and kind = 'manual'`,
    );
    return { ok: false, reason: 'quota-exhausted', used: rows[0]?.used ?? 0 };
  }
  const [updated] = await tx
    .update(manualReviews)
    .set({ status: 'in-review', launchedBy: request.launchedBy, launchedAt: sql`now()`, quotaMonth: request.month })
    .where(eq(manualReviews.id, review.id))
    .returning();
  return { ok: true, review: updated!, replayed: false };
}

/** The launch window closed without a launch; a launch that won the race keeps the review. */
export async function expireReview(db: Db, runId: string, note: string): Promise<ReviewRow> {
  await db
    .update(manualReviews)
    .set({ status: 'expired', endedAt: sql`now()`, note })
    .where(
      and(
        eq(manualReviews.runId, runId),
        eq(manualReviews.status, 'awaiting-launch'),
        sql`${manualReviews.launchDeadline} <= now()`,
      ),
    );
  return (await getReviewOfRun(db, runId))!;
}

/**
 * Counts reminder `number` as sent, once: the update matches only while the previous one is the
 * last, so a retried activity neither skips nor repeats a reminder. True when this call counted it.
 */
export async function recordReminder(db: Db, reviewId: string, number: number): Promise<boolean> {
  const rows = await db
    .update(manualReviews)
    .set({ reminders: number, lastRemindedAt: sql`now()` })
    .where(
      and(
        eq(manualReviews.id, reviewId),
        eq(manualReviews.status, 'in-review'),
        eq(manualReviews.reminders, number - 1),
      ),
    )
    .returning({ id: manualReviews.id });
  return rows.length === 1;
}

export async function cancelReview(db: Db, runId: string, note: string): Promise<void> {
  await db
    .update(manualReviews)
    .set({ status: 'cancelled', endedAt: sql`now()`, note })
    .where(
      and(eq(manualReviews.runId, runId), inArray(manualReviews.status, ['pending', 'awaiting-launch', 'in-review'])),
    );
}

export interface ScoreEntry {
  dataset: string;
  itemId: string;
  score: number;
  comment?: string | undefined;
}

export type ScoreOutcome =
  | { ok: true; total: number; scored: number }
  | { ok: false; reason: 'not-in-review'; status: ReviewStatus }
  | { ok: false; reason: 'unknown-items'; indices: number[] };

/** Stores a reviewer's points for answers of the review; an item scored before is overwritten. */
export async function scoreItems(
  db: Db,
  review: ReviewRow,
  reviewerId: string,
  entries: readonly ScoreEntry[],
): Promise<ScoreOutcome> {
  return db.transaction(async (tx): Promise<ScoreOutcome> => {
    // A shared lock: scores may be stored side by side, but not while the review completes or ends.
    const [current] = await tx.select().from(manualReviews).where(eq(manualReviews.id, review.id)).for('share');
    if (!current || current.status !== 'in-review')
      return { ok: false, reason: 'not-in-review', status: current?.status ?? review.status };
    const answers = await tx.execute<{ dataset_id: string; item_id: string; sample_idx: number }>(sql`
      select s.dataset_id, i.item_id, s.sample_idx
        from ${sampleResults} s
        join ${datasetItems} i on i.dataset_id = s.dataset_id and i.idx = s.sample_idx
       where s.run_id = ${current.runId} and s.status = 'scored'
         and s.dataset_id = any(${sql.param(current.datasetIds)}::text[])
         and (s.dataset_id, i.item_id) in (select * from unnest(${sql.param(entries.map((e) => e.dataset))}::text[], ${sql.param(entries.map((e) => e.itemId))}::text[]))`);
    const byKey = new Map(answers.map((a) => [`${a.dataset_id}\u0000${a.item_id}`, a.sample_idx]));
    const unknown = entries.flatMap((e, i) => (byKey.has(`${e.dataset}\u0000${e.itemId}`) ? [] : [i]));
    if (unknown.length > 0) return { ok: false, reason: 'unknown-items', indices: unknown };
    // The last score of an item in one request wins, as it would over several requests.
    const rows = new Map(entries.map((e) => [`${e.dataset}\u0000${e.itemId}`, e]));
    await tx
      .insert(reviewScores)
      .values(
        [...rows].map(([key, e]) => ({
          reviewId: current.id,
          datasetId: e.dataset,
          sampleIdx: byKey.get(key)!,
          points: e.score,
          comment: e.comment ?? null,
          reviewerId,
        })),
      )
      .onConflictDoUpdate({
        target: [reviewScores.reviewId, reviewScores.datasetId, reviewScores.sampleIdx],
        set: {
          points: sql`excluded.points`,
          comment: sql`excluded.comment`,
          reviewerId: sql`excluded.reviewer_id`,
          scoredAt: sql`now()`,
        },
      });
    return { ok: true, total: await answeredCount(tx, current), scored: await scoredCount(tx, current.id) };
  });
}

export type EndReviewOutcome =
  | { ok: true; review: ReviewRow }
  | { ok: false; reason: 'wrong-status'; status: ReviewStatus }
  | { ok: false; reason: 'unscored'; missing: number; total: number };

/** Completes a review whose every answer is scored; the lock keeps scores from landing meanwhile. */
export async function completeReview(db: Db, reviewId: string, reviewerId: string): Promise<EndReviewOutcome> {
  return db.transaction(async (tx): Promise<EndReviewOutcome> => {
    const [review] = await tx.select().from(manualReviews).where(eq(manualReviews.id, reviewId)).for('update');
    if (!review) throw new Error(`review ${reviewId} does not exist`);
    if (review.status !== 'in-review') return { ok: false, reason: 'wrong-status', status: review.status };
    const total = await answeredCount(tx, review);
    const missing = total - (await scoredCount(tx, reviewId));
    if (missing > 0) return { ok: false, reason: 'unscored', missing, total };
    const [updated] = await tx
      .update(manualReviews)
      .set({ status: 'completed', endedBy: reviewerId, endedAt: sql`now()` })
      .where(eq(manualReviews.id, reviewId))
      .returning();
    return { ok: true, review: updated! };
  });
}

/**
 * An admin gives a waiting review up. A launched review gives its manual quota slot back: the
 * platform, not the owner, did not deliver it.
 */
export async function abandonReview(
  db: Db,
  reviewId: string,
  adminId: string,
  note: string,
): Promise<EndReviewOutcome> {
  return db.transaction(async (tx): Promise<EndReviewOutcome> => {
    const [review] = await tx.select().from(manualReviews).where(eq(manualReviews.id, reviewId)).for('update');
    if (!review) throw new Error(`review ${reviewId} does not exist`);
    if (FINAL_REVIEW_STATUSES.includes(review.status))
      return { ok: false, reason: 'wrong-status', status: review.status };
    if (review.status === 'in-review' && review.quotaMonth)
      await releaseQuota(tx, review.ownerId, 'manual', review.quotaMonth);
    const [updated] = await tx
      .update(manualReviews)
      .set({ status: 'abandoned', endedBy: adminId, endedAt: sql`now()`, note })
      .where(eq(manualReviews.id, reviewId))
      .returning();
    return { ok: true, review: updated! };
  });
}

/** The reviewers' points become the held samples' scores (see normalisedPoints), so metrics and reports use them. */
export async function applyReviewScores(db: Db, review: ReviewRow): Promise<void> {
  await db.execute(sql`
    update ${sampleResults} s
       set score = (r.points - ${RUBRIC_MIN})::double precision / ${RUBRIC_MAX - RUBRIC_MIN}
      from ${reviewScores} r
     where r.review_id = ${review.id} and s.run_id = ${review.runId}
       and s.dataset_id = r.dataset_id and s.sample_idx = r.sample_idx and s.status = 'scored'`);
}

/** Held datasets of a review that ended without scores are closed unscored, saying why. */
export async function closeHeldDatasetsUnscored(
  db: Db,
  runId: string,
  datasetIds: string[],
  error: string,
): Promise<void> {
  if (datasetIds.length === 0) return;
  await db
    .update(runDatasets)
    .set({ status: 'failed', error, metrics: null, endedAt: sql`now()` })
    .where(
      and(eq(runDatasets.runId, runId), inArray(runDatasets.datasetId, datasetIds), eq(runDatasets.status, 'running')),
    );
}

// ---- views --------------------------------------------------------------------------------------

interface SummaryRow {
  review: ReviewRow;
  runVersion: number;
  modelName: string;
}

const summarySelect = { review: manualReviews, runVersion: runs.version, modelName: evaluations.modelName };

async function summaries(db: Db, rows: SummaryRow[]): Promise<ReviewSummary[]> {
  return Promise.all(
    rows.map(async ({ review, runVersion, modelName }) => ({
      reviewId: review.id,
      runId: review.runId,
      runVersion,
      modelName,
      status: review.status,
      datasets: review.datasetIds,
      progress: { total: await answeredCount(db, review), scored: await scoredCount(db, review.id) },
      launchDeadline: iso(review.launchDeadline),
      launchedAt: iso(review.launchedAt),
      endedAt: iso(review.endedAt),
      note: review.note,
      createdAt: review.createdAt.toISOString(),
    })),
  );
}

export async function reviewSummary(db: Db, review: ReviewRow): Promise<ReviewSummary> {
  const [row] = await db
    .select(summarySelect)
    .from(manualReviews)
    .innerJoin(runs, eq(runs.id, manualReviews.runId))
    .innerJoin(evaluations, eq(evaluations.id, runs.evaluationId))
    .where(eq(manualReviews.id, review.id));
  return (await summaries(db, [row!]))[0]!;
}

/** Reviews in the given statuses, oldest first: the work queue reviewers take from. */
export async function listReviews(db: Db, statuses: readonly ReviewStatus[], limit: number): Promise<ReviewSummary[]> {
  const rows = await db
    .select(summarySelect)
    .from(manualReviews)
    .innerJoin(runs, eq(runs.id, manualReviews.runId))
    .innerJoin(evaluations, eq(evaluations.id, runs.evaluationId))
    .where(inArray(manualReviews.status, [...statuses]))
    .orderBy(manualReviews.createdAt, manualReviews.id)
    .limit(limit);
  return summaries(db, rows);
}

export async function reviewDetail(db: Db, review: ReviewRow): Promise<ReviewDetail> {
  const rows = await db.execute<{
    dataset_id: string;
    item_id: string;
    prompt: string;
    predict: string | null;
    ground_truth: string;
    metadata: Record<string, unknown> | null;
    points: number | null;
    comment: string | null;
    reviewer: string | null;
    scored_at: Date | string | null;
  }>(sql`
    select s.dataset_id, i.item_id, i.prompt, s.predict, i.ground_truth, i.metadata, r.points, r.comment, u.name as reviewer, r.scored_at
      from ${sampleResults} s
      join ${datasetItems} i on i.dataset_id = s.dataset_id and i.idx = s.sample_idx
      left join ${reviewScores} r on r.review_id = ${review.id} and r.dataset_id = s.dataset_id and r.sample_idx = s.sample_idx
      left join ${users} u on u.id = r.reviewer_id
     where s.run_id = ${review.runId} and s.status = 'scored' and s.dataset_id = any(${sql.param(review.datasetIds)}::text[])
     order by s.dataset_id, s.position`);
  const items: ReviewItem[] = rows.map((r) => ({
    dataset: r.dataset_id,
    itemId: r.item_id,
    question: r.prompt,
    answer: r.predict ?? '',
    reference: r.ground_truth,
    rubric:
      typeof r.metadata?.rubric === 'string'
        ? r.metadata.rubric
        : 'judge the answer against the question and the reference',
    score: r.points,
    comment: r.comment,
    scoredBy: r.reviewer,
    scoredAt: r.scored_at === null ? null : new Date(r.scored_at).toISOString(),
  }));
  return { ...(await reviewSummary(db, review)), rubricScale: [...RUBRIC_SCALE], items };
}

function iso(at: Date | null): string | null {
  return at === null ? null : at.toISOString();
}

function isUuid(text: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(text);
}

/** Who is reminded of a waiting review: every reviewer but the run's owner, or the admins when there is none. */
export async function reminderRecipients(db: Db, ownerId: string): Promise<{ userId: string; email: string }[]> {
  const people = await db
    .select({ userId: users.id, email: users.email, role: users.role })
    .from(users)
    .where(inArray(users.role, ['reviewer', 'admin']));
  const others = people.filter((p) => p.userId !== ownerId);
  const reviewers = others.filter((p) => p.role === 'reviewer');
  return (reviewers.length > 0 ? reviewers : others.filter((p) => p.role === 'admin')).map(({ userId, email }) => ({
    userId,
    email,
  }));
}
