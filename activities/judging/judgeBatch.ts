/**
 * Judging one batch of a judge metric: every sample in the range still pending is preprocessed,
 * put to the judge with MAX_JUDGING_CONCURRENCY calls in flight and MAX_JUDGING_RETRY_PER_Q
 * retries each, postprocessed into a score, and stored with every step. Re-running skips samples
 * already judged. A judge that stays down fails its samples with the reason, not the batch: after
 * ten samples in a row found it unreachable, the rest of the batch fails with that reason unasked.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { endpointSettingsOr, type ActivityDeps } from '../activityDeps';
import type { JudgeBatchInput, JudgeBatchResult } from '../../contracts/workflow';
import { DEFAULT_JUDGING_LIMITS } from '../../contracts/scoringConfig';
import type { ScoringTrace } from '../../contracts/scoringTrace';
import { getRun } from '../../db/queries/runRecords';
import { appendRunLogs, type RunLogLine } from '../../db/queries/runLogs';
import { pendingSamples, storeJudgements, type Judgement } from '../../db/queries/judgeSteps';
import { scoreWithJudge, type ResolvedJudge } from '../../scoring/judge/scoreWithJudge';
import { createJudgeClient } from './judgeClient';
import { resolveJudgeTarget } from './resolveJudge';
import { ERROR_TYPES } from '../../temporal.config';

const HEARTBEAT_EVERY_MS = 1000;
const PAGE = 500;
const WRITE_GROUP = 100;
const BREAKER_THRESHOLD = 10;
const FAILURE_LOG_LINES = 5;
const BREAKER_KINDS = new Set(['connection', 'denied', 'timeout', 'auth', 'not_found']);

export function createJudgingActivities({
  db,
  logger,
  secretKey,
  judge: platformJudge,
  endpoints: configured,
}: ActivityDeps) {
  const endpoints = endpointSettingsOr(configured);
  return {
    async judgeBatch({ runId, datasetId, from, to }: JudgeBatchInput): Promise<JudgeBatchResult> {
      const ctx = Context.current();
      const run = await getRun(db, runId);
      const metric = run.config.scoring?.datasets[datasetId];
      if (!metric || metric.metric !== 'judge') return { judged: 0, failed: 0 };
      const limits = run.config.scoring?.limits ?? DEFAULT_JUDGING_LIMITS;

      const abort = new AbortController();
      const onCancel = () => abort.abort();
      ctx.cancellationSignal.addEventListener('abort', onCancel);
      let target;
      try {
        target = await resolveJudgeTarget(db, secretKey, metric, platformJudge, endpoints);
      } catch (error) {
        throw ApplicationFailure.nonRetryable((error as Error).message, ERROR_TYPES.invalidConfiguration);
      }
      const client = target
        ? createJudgeClient({ ...target, maxRetries: limits.maxJudgingRetryPerQ, signal: abort.signal })
        : null;

      let judged = 0;
      let failed = 0;
      let consecutiveDown = 0;
      let lastDownReason = '';
      const failureLogs: RunLogLine[] = [];
      let buffer: Judgement[] = [];
      let writing: Promise<void> = Promise.resolve();
      const flush = () => {
        const rows = buffer;
        buffer = [];
        writing = writing.then(async () => {
          const stored = await storeJudgements(db, runId, datasetId, rows);
          judged += stored.judged;
          failed += stored.failed;
        });
        return writing;
      };
      const heartbeat = setInterval(() => ctx.heartbeat({ judged }), HEARTBEAT_EVERY_MS);

      // The breaker's count decides for the samples not yet asked; the ones in flight finish.
      const judgeOne = async (
        judge: ResolvedJudge | null,
        sample: Awaited<ReturnType<typeof pendingSamples>>[number],
      ): Promise<ScoringTrace | null> => {
        if (judge && consecutiveDown >= BREAKER_THRESHOLD) {
          const reason = `not judged: the judge failed for ${consecutiveDown} samples in a row (last: ${lastDownReason})`;
          return { method: 'judge', steps: [], score: null, error: reason, attempts: 0 };
        }
        let failureKind: string | null = null;
        const watched: ResolvedJudge | null = judge && {
          model: judge.model,
          call: async (messages) => {
            const reply = await judge.call(messages);
            failureKind = reply.ok ? null : reply.kind;
            return reply;
          },
        };
        const trace = await scoreWithJudge(metric, watched, {
          question: sample.prompt,
          answer: sample.predict,
          reference: sample.groundTruth,
          choices: sample.choices,
        });
        // A call cut short by a stop is no judgement: the sample stays pending.
        if (abort.signal.aborted && trace.error) return null;
        if (failureKind && BREAKER_KINDS.has(failureKind)) {
          consecutiveDown += 1;
          lastDownReason = trace.error!;
        } else if (judge) {
          consecutiveDown = 0;
        }
        return trace;
      };

      let fault: unknown = null;
      try {
        let position = from;
        while (position < to && !abort.signal.aborted) {
          const page = await pendingSamples(db, runId, datasetId, position, to, PAGE);
          if (page.length === 0) break;
          position = page.at(-1)!.position + 1;
          let next = 0;
          const lane = async () => {
            while (next < page.length && !abort.signal.aborted) {
              const sample = page[next++]!;
              const trace = await judgeOne(client, sample);
              if (!trace) return;
              buffer.push({ sampleIdx: sample.sampleIdx, itemId: sample.itemId, trace });
              if (trace.error && failureLogs.length < FAILURE_LOG_LINES) {
                failureLogs.push({
                  runId,
                  datasetId,
                  level: 'warn',
                  message: `sample ${sample.itemId} not scored: ${trace.error}`,
                  dedupeKey: `judge-failed:${datasetId}:${sample.sampleIdx}`,
                });
              }
              if (buffer.length >= WRITE_GROUP) await flush();
            }
          };
          await Promise.all(
            Array.from({ length: Math.min(limits.maxJudgingConcurrency, page.length) }, () =>
              lane().catch((error: unknown) => {
                fault ??= error;
                abort.abort();
              }),
            ),
          );
          if (fault) break;
        }
      } finally {
        clearInterval(heartbeat);
        ctx.cancellationSignal.removeEventListener('abort', onCancel);
        await flush();
      }
      if (fault) throw fault;

      await appendRunLogs(db, [
        ...failureLogs,
        {
          runId,
          datasetId,
          level: failed > 0 ? 'warn' : 'info',
          message: `judged samples ${from + 1}–${to} of ${datasetId} with ${client ? `judge ${client.model}` : 'exact match (no judge configured)'}: ${judged} judged (${failed} failed)`,
          dedupeKey: `judge-batch:${datasetId}:${from}:${ctx.info.attempt}`,
        },
      ]);
      logger.debug({ runId, datasetId, from, to, judged, failed }, 'judge batch done');
      if (ctx.cancellationSignal.aborted) throw new CancelledFailure('run stopped');
      return { judged, failed };
    },
  };
}

export type JudgingActivities = ReturnType<typeof createJudgingActivities>;
