/**
 * Reuse of a finished dataset result. A formal run records, per dataset, a fingerprint of exactly
 * what decides the dataset's answers and scores: the model (API endpoint and online model name, or
 * the private upload version and image, or the uploaded prediction set), the dataset's content
 * hash and metric, the inference parameters, the limits that change answers (retries and request
 * timeout; not concurrency or the retry delay cap) and the dataset's frozen scoring configuration or custom image. When the dataset
 * begins, an earlier succeeded formal result of the same owner with the same fingerprint is copied
 * in, and inference finds every sample stored. Decided once per run and dataset, so a dataset that
 * continues as new (and begins again) never switches between inferring and copying.
 */
import { SAFETY_METRIC } from '../../contracts/dataset';
import { createHash } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import type { Db, Tx } from '../client';
import { runDatasetReuse } from '../schema';
import type { RunConfig, RunDatasetPlan } from '../../contracts/run';

/** Bumped when what the fingerprint covers changes, so older fingerprints never match newer ones. */
const FINGERPRINT_VERSION = 1;

export interface ReuseSource {
  runId: string;
  version: number;
}

/** What identifies the model that answers: the thing that, changed, changes the answers. */
function modelIdentity(evaluationId: string, config: RunConfig, plan: RunDatasetPlan): Record<string, unknown> {
  if (plan.predictionSetId) return { kind: 'predictions', setId: plan.predictionSetId };
  if (config.serving) {
    // Upload versions are numbered per evaluation.
    return {
      kind: 'private',
      evaluationId,
      uploadVersion: config.serving.uploadVersion,
      imageId: config.serving.imageId,
      imageRef: config.serving.imageRef,
    };
  }
  return { kind: 'api', endpoint: config.endpoint, onlineModelName: config.onlineModelName, apiMode: config.apiMode };
}

/** A stable hash of exactly the inputs that decide a dataset's answers and scores. */
export function reuseFingerprint(evaluationId: string, config: RunConfig, plan: RunDatasetPlan): string {
  // Neither how many requests run at once nor how long a retry waits changes an answer.
  const { maxConcurrency: _concurrency, maxRetryDelayMs: _retryDelay, ...answerLimits } = config.limits;
  const scoring = config.scoring;
  const judgingLimits = scoring
    ? Object.fromEntries(Object.entries(scoring.limits).filter(([k]) => !/concurrency/i.test(k)))
    : null;
  const inputs = {
    v: FINGERPRINT_VERSION,
    model: modelIdentity(evaluationId, config, plan),
    dataset: { id: plan.datasetId, contentHash: plan.contentHash, metric: plan.metric },
    inference: config.inference,
    limits: answerLimits,
    scoring: scoring?.datasets[plan.datasetId] ?? null,
    judgingLimits:
      scoring?.datasets[plan.datasetId]?.metric === 'judge' || plan.metric === SAFETY_METRIC ? judgingLimits : null,
    // A custom image's result is its metrics, with no samples to copy, so it must match no other run's
    // fingerprint; absent otherwise, which leaves every other fingerprint as it was.
    customImage: scoring?.customImage,
    // A partial run's result covers some items only, so it matches no full run's fingerprint;
    // absent otherwise, which leaves every other fingerprint as it was.
    limit: config.limit ? { ...config.limit, sampleIndices: plan.sampleIndices } : undefined,
  };
  return `sha256:${createHash('sha256').update(canonicalJson(inputs)).digest('hex')}`;
}

/** The launch records each formal dataset's fingerprint; `mayReuse` false is the launch's `reuse: false`. */
export async function recordReuseFingerprints(
  tx: Tx,
  runId: string,
  evaluationId: string,
  config: RunConfig,
  mayReuse: boolean,
): Promise<void> {
  if (config.datasets.length === 0) return;
  await tx
    .insert(runDatasetReuse)
    .values(
      config.datasets.map((plan) => ({
        runId,
        datasetId: plan.datasetId,
        fingerprint: reuseFingerprint(evaluationId, config, plan),
        mayReuse,
      })),
    )
    .onConflictDoNothing();
}

/**
 * Decides, once, whether the dataset reuses an earlier result: the latest succeeded formal result of
 * the same owner with the same fingerprint. Returns the run it reuses from, or null.
 */
export async function decideReuse(db: Db, runId: string, datasetId: string): Promise<ReuseSource | null> {
  await db.execute(sql`
    update run_dataset_reuse r
       set decided_at = now(),
           reused_from_run_id = (
             select s.run_id
               from run_dataset_reuse s
               join run_datasets sd on sd.run_id = s.run_id and sd.dataset_id = s.dataset_id
               join runs sr on sr.id = s.run_id
              where s.fingerprint = r.fingerprint
                and s.dataset_id = r.dataset_id
                and s.run_id <> r.run_id
                and sd.status = 'succeeded'
                and sr.type = 'formal'
                and sr.owner_id = (select owner_id from runs where id = r.run_id)
              order by sd.ended_at desc nulls last, s.run_id
              limit 1)
     where r.run_id = ${runId}::uuid and r.dataset_id = ${datasetId} and r.decided_at is null and r.may_reuse`);
  return reusedFrom(db, runId, datasetId);
}

/** The run a dataset was reused from, once decided. */
export async function reusedFrom(db: Db, runId: string, datasetId: string): Promise<ReuseSource | null> {
  const rows = await db.execute<{ run_id: string; version: number }>(sql`
    select r.reused_from_run_id as run_id, src.version
      from run_dataset_reuse r join runs src on src.id = r.reused_from_run_id
     where r.run_id = ${runId}::uuid and r.dataset_id = ${datasetId}`);
  const row = rows[0];
  return row ? { runId: row.run_id, version: Number(row.version) } : null;
}

/** Every reused dataset of a run, by dataset id. */
export async function reuseSourcesOfRun(db: Db, runId: string): Promise<Map<string, ReuseSource>> {
  const rows = await db.execute<{ dataset_id: string; run_id: string; version: number }>(sql`
    select r.dataset_id, r.reused_from_run_id as run_id, src.version
      from run_dataset_reuse r join runs src on src.id = r.reused_from_run_id
     where r.run_id = ${runId}::uuid`);
  return new Map(rows.map((r) => [r.dataset_id, { runId: r.run_id, version: Number(r.version) }]));
}

/**
 * Copies the source's stored samples and judge steps of the dataset into the run, in one statement:
 * rows already there stay (ON CONFLICT DO NOTHING), and the counters are set (not advanced) from the
 * source's rows, so running it again changes nothing.
 */
export async function copyReusedResult(
  db: Db,
  runId: string,
  datasetId: string,
  sourceRunId: string,
): Promise<{ samples: number; failed: number }> {
  const rows = await db.execute<{ done: number; failed: number }>(sql`
    with src as (
      select sample_idx, position, predict, score, status, error, output_length, latency_ms, attempts, prompt_tokens, tokens_counted, completions, code_verdicts
        from sample_results where run_id = ${sourceRunId}::uuid and dataset_id = ${datasetId}
    ), copied as (
      insert into sample_results (run_id, dataset_id, sample_idx, position, predict, score, status, error, output_length, latency_ms, attempts, prompt_tokens, tokens_counted, completions, code_verdicts)
      select ${runId}::uuid, ${datasetId}, sample_idx, position, predict, score, status, error, output_length, latency_ms, attempts, prompt_tokens, tokens_counted, completions, code_verdicts
        from src
      on conflict do nothing
      returning 1
    ), judged as (
      insert into judge_steps (run_id, dataset_id, sample_idx, item_id, method, score, error, attempts, steps)
      select ${runId}::uuid, dataset_id, sample_idx, item_id, method, score, error, attempts, steps
        from judge_steps where run_id = ${sourceRunId}::uuid and dataset_id = ${datasetId}
      on conflict do nothing
      returning 1
    ), counted as (
      update run_datasets
         set done = (select count(*) from src), failed = (select count(*) from src where status = 'failed')
       where run_id = ${runId}::uuid and dataset_id = ${datasetId}
      returning done, failed
    )
    select done, failed, (select count(*) from copied) as copied, (select count(*) from judged) as judged from counted`);
  const row = rows[0];
  return { samples: Number(row?.done ?? 0), failed: Number(row?.failed ?? 0) };
}

/** The fingerprint recorded for a run's dataset (tests and support look at it). */
export async function fingerprintOf(db: Db, runId: string, datasetId: string): Promise<string | null> {
  const [row] = await db
    .select({ fingerprint: runDatasetReuse.fingerprint })
    .from(runDatasetReuse)
    .where(and(eq(runDatasetReuse.runId, runId), eq(runDatasetReuse.datasetId, datasetId)));
  return row?.fingerprint ?? null;
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  const entries = Object.keys(value)
    .sort()
    .flatMap((key) => {
      const v = (value as Record<string, unknown>)[key];
      return v === undefined ? [] : [`${JSON.stringify(key)}:${canonicalJson(v)}`];
    });
  return `{${entries.join(',')}}`;
}
