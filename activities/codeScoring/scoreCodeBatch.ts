/**
 * Scoring one batch of a pass_at_k dataset on a container host: every completion of every sample
 * still pending in the range runs once in the code sandbox (a throw-away container, see
 * docs/code-sandbox.md) against the item's hidden tests, and the sample is stored with a verdict per
 * completion, c/n as its score, and `scored`. A program's verdict (tests failed, timed out, …) is a
 * result; trouble with the engine (SandboxError) fails the activity and Temporal retries it, and
 * samples already stored are skipped on the retry.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityDeps } from '../activityDeps';
import type { JudgeBatchInput } from '../../contracts/workflow';
import { getRun } from '../../db/queries/runRecords';
import { appendRunLogs } from '../../db/queries/runLogs';
import { scoreCodeProblem } from './scoreCodeProblem';
import { codeSamplingFor } from '../../scoring/codeSampling';
import { pendingCodeSamples, storeCodeScores, type CodeScore } from '../../db/queries/codeSamples';
import { runBatch } from '../batch/batchActivity';
import { ERROR_TYPES } from '../../temporal.config';

const PAGE = 100;
/** Sandboxes at once per batch: each takes up to one CPU for up to its 10 s limit. */
export const CODE_SANDBOX_CONCURRENCY = 2;

export interface CodeBatchResult {
  scored: number;
  passed: number;
}

export function createCodeScoringActivities({ db, logger, serving }: ActivityDeps) {
  return {
    async scoreCodeBatch({ runId, datasetId, from, to }: JudgeBatchInput): Promise<CodeBatchResult> {
      const docker = serving?.docker;
      if (!docker)
        throw ApplicationFailure.nonRetryable(
          'this worker has no Docker engine for the code sandbox',
          ERROR_TYPES.invalidConfiguration,
        );
      const run = await getRun(db, runId);
      const { ks } = codeSamplingFor(run.config, datasetId);

      let scored = 0;
      let passed = 0;
      let ran = 0;
      return runBatch({
        heartbeat: () => ({ scored, ran }),
        // One sample at a time: its completions already run CODE_SANDBOX_CONCURRENCY sandboxes at once.
        work: async ({ signal }) => {
          let position = from;
          while (position < to && !signal.aborted) {
            const page = await pendingCodeSamples(db, runId, datasetId, position, to, PAGE);
            if (page.length === 0) break;
            position = page.at(-1)!.position + 1;
            for (const sample of page) {
              if (signal.aborted) break;
              const completions = sample.completions.length > 0 ? sample.completions : [''];
              const result = await scoreCodeProblem(
                docker,
                { id: sample.itemId, entryPoint: sample.entryPoint ?? '', tests: sample.tests, prefix: sample.prefix },
                completions,
                {
                  ks: ks.filter((k) => k <= completions.length),
                  concurrency: CODE_SANDBOX_CONCURRENCY,
                  runId,
                  hostId: serving.containers.hostId,
                  signal,
                },
              );
              ran += completions.length;
              const score: CodeScore = {
                sampleIdx: sample.sampleIdx,
                score: result.c / result.n,
                verdicts: result.completions.map((c) => ({
                  passed: c.sandbox.passed,
                  verdict: c.sandbox.verdict,
                  durationMs: Math.round(c.sandbox.durationMs),
                })),
              };
              // Stored one by one: a sample's sandboxes are the expensive part, and a retry should not run them again.
              scored += await storeCodeScores(db, runId, datasetId, [score]);
              if (result.c > 0) passed += 1;
            }
          }
        },
        report: async () => {
          await appendRunLogs(db, [
            {
              runId,
              datasetId,
              level: 'info',
              message: `ran samples ${from + 1}–${to} of ${datasetId} in the code sandbox: ${scored} scored (${ran} completion(s) run), ${passed} with a passing completion`,
              dedupeKey: `code-batch:${datasetId}:${from}:${Context.current().info.attempt}`,
            },
          ]);
          logger.debug({ runId, datasetId, from, to, scored, ran }, 'code batch done');
          return { scored, passed };
        },
      });
    },
  };
}

export type CodeScoringActivities = ReturnType<typeof createCodeScoringActivities>;
