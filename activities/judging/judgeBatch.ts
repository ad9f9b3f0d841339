/**
 * Judging one batch of a judge metric: every sample in the range still pending is preprocessed,
 * put to the judge with MAX_JUDGING_CONCURRENCY calls in flight and MAX_JUDGING_RETRY_PER_Q
 * retries each, postprocessed into a score, and stored with every step. Re-running skips samples
 * already judged. A judge that stays down fails its samples with the reason, not the batch: after
 * ten samples in a row found it unreachable, the rest of the batch fails with that reason unasked.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
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
import { runBatch } from '../batch/batchActivity';
import { ResultBuffer } from '../batch/resultBuffer';
import { addJudgeTokens } from '../../db/queries/runUsage';
import { ENDPOINT_DOWN_KINDS, EndpointBreaker } from '../batch/endpointBreaker';
import { ERROR_TYPES } from '../../temporal.config';
import { SAFETY_METRIC } from '../../contracts/dataset';
import { scoreSafetyItem } from '../../scoring/safety/scoreSafety';
import { SAFETY_RUBRIC_VERSION } from '../../scoring/safety/safetyRubric';
import { endpointIdentity } from '../../db/endpointIdentity';
import { runBudget } from '../traffic/runBudget';

const PAGE = 500;
const WRITE_GROUP_ROWS = 100;
const BREAKER_THRESHOLD = 10;
const FAILURE_LOG_LINES = 5;
/** A judge that times out is unreachable too (judgeClient.ts), so timeouts count towards the breaker. */
const JUDGE_DOWN_KINDS: ReadonlySet<string> = new Set([...ENDPOINT_DOWN_KINDS, 'timeout']);
const ANSWERED = { ok: true } as const;

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
      const run = await getRun(db, runId);
      const configured = run.config.scoring?.datasets[datasetId];
      // A safety dataset is labelled under the safety rubric, by the judge its own entry names or the platform's.
      const safety = run.config.datasets.find((d) => d.datasetId === datasetId)?.metric === SAFETY_METRIC;
      if (!safety && configured?.metric !== 'judge') return { judged: 0, failed: 0 };
      const metric =
        configured && (configured.metric === 'judge' || configured.metric === SAFETY_METRIC) ? configured : {};
      const limits = run.config.scoring?.limits ?? DEFAULT_JUDGING_LIMITS;

      let target;
      try {
        target = await resolveJudgeTarget(db, secretKey, metric, platformJudge, endpoints);
      } catch (error) {
        throw ApplicationFailure.nonRetryable((error as Error).message, ERROR_TYPES.invalidConfiguration);
      }

      const breaker = new EndpointBreaker(BREAKER_THRESHOLD, JUDGE_DOWN_KINDS);
      // The judge's tokens of this attempt, added to the dataset's counters once it ends.
      const judgeTokens = { prompt: 0, completion: 0 };
      const failureLogs: RunLogLine[] = [];
      const buffer = new ResultBuffer<Judgement>(async (rows) => {
        const { judged, failed } = await storeJudgements(db, runId, datasetId, rows);
        return { stored: judged, failed };
      }, WRITE_GROUP_ROWS);

      // The breaker's count decides for the samples not yet asked; the ones in flight finish.
      const judgeOne = async (
        judge: ResolvedJudge | null,
        sample: Awaited<ReturnType<typeof pendingSamples>>[number],
        signal: AbortSignal,
      ): Promise<ScoringTrace | null> => {
        if (judge && breaker.open) {
          const reason = `not judged: the judge failed for ${breaker.failedInARow} samples in a row (last: ${breaker.lastReason})`;
          return { method: safety ? 'safety_judge' : 'judge', steps: [], score: null, error: reason, attempts: 0 };
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
        const trace = safety
          ? await scoreSafetyItem(watched, {
              prompt: sample.prompt,
              answer: sample.predict,
              reference: sample.groundTruth,
            })
          : await scoreWithJudge(metric, watched, {
              question: sample.prompt,
              answer: sample.predict,
              reference: sample.groundTruth,
              choices: sample.choices,
            });
        // A call cut short by a stop is no judgement: the sample stays pending.
        if (signal.aborted && trace.error) return null;
        if (judge)
          breaker.record(failureKind ? { ok: false, kind: failureKind, reason: trace.error ?? failureKind } : ANSWERED);
        return trace;
      };

      return runBatch({
        heartbeat: () => ({ judged: buffer.stored }),
        work: async (batch) => {
          const client = target
            ? createJudgeClient({
                ...target,
                maxRetries: limits.maxJudgingRetryPerQ,
                signal: batch.signal,
                budget: runBudget({ db, logger }, runId, endpointIdentity(secretKey, target.baseUrl, target.apiKey)),
                onTokens: (prompt, completion) => {
                  judgeTokens.prompt += prompt;
                  judgeTokens.completion += completion;
                },
              })
            : null;
          let position = from;
          while (position < to && !batch.signal.aborted) {
            const page = await pendingSamples(db, runId, datasetId, position, to, PAGE);
            if (page.length === 0) break;
            position = page.at(-1)!.position + 1;
            let next = 0;
            await batch.lanes(Math.min(limits.maxJudgingConcurrency, page.length), async (signal) => {
              while (next < page.length && !signal.aborted) {
                const sample = page[next++]!;
                const trace = await judgeOne(client, sample, signal);
                if (!trace) return;
                if (trace.error && failureLogs.length < FAILURE_LOG_LINES) {
                  failureLogs.push({
                    runId,
                    datasetId,
                    level: 'warn',
                    message: `sample ${sample.itemId} not scored: ${trace.error}`,
                    dedupeKey: `judge-failed:${datasetId}:${sample.sampleIdx}`,
                  });
                }
                const writing = buffer.add({ sampleIdx: sample.sampleIdx, itemId: sample.itemId, trace });
                if (writing) await writing;
              }
            });
          }
        },
        flush: async () => {
          await buffer.flush();
          const { prompt, completion } = judgeTokens;
          await addJudgeTokens(db, runId, datasetId, prompt, completion);
        },
        report: async () => {
          const { stored: judged, failed } = buffer;
          await appendRunLogs(db, [
            ...failureLogs,
            {
              runId,
              datasetId,
              level: failed > 0 ? 'warn' : 'info',
              message: `judged samples ${from + 1}–${to} of ${datasetId} with ${scorerText(safety, target?.model ?? null)}: ${judged} judged (${failed} failed)`,
              dedupeKey: `judge-batch:${datasetId}:${from}:${Context.current().info.attempt}`,
            },
          ]);
          logger.debug({ runId, datasetId, from, to, judged, failed }, 'judge batch done');
          return { judged, failed };
        },
      });
    },
  };
}

export type JudgingActivities = ReturnType<typeof createJudgingActivities>;

function scorerText(safety: boolean, judgeModel: string | null): string {
  if (safety)
    return judgeModel
      ? `the safety rubric (${SAFETY_RUBRIC_VERSION}) put to judge ${judgeModel}`
      : `the refusal-phrase fallback (no judge configured)`;
  return judgeModel ? `judge ${judgeModel}` : 'exact match (no judge configured)';
}
