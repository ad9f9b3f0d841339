/**
 * One batch of a dataset run: infer every sample not yet stored, score it, store it. The batch is
 * the unit Temporal retries; what it already stored is skipped on the retry, so a crash costs at
 * most the samples in flight and no sample is ever stored twice.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { endpointSettingsOr, type ActivityDeps } from '../activityDeps';
import type { BatchInput, BatchResult } from '../../contracts/workflow';
import type { RunDatasetPlan } from '../../contracts/run';
import { getRun } from '../../db/queries/runRecords';
import { storedPositions, storeSampleResults } from '../../db/queries/sampleResults';
import { appendRunLogs, type RunLogLine } from '../../db/queries/runLogs';
import { runEndpoint } from './runEndpoint';
import { createPredictionsEndpoints, sharedEndpoint, type ItemEndpoints } from './predictionsEndpoint';
import { containerExitError } from '../../docker/containerRunner';
import { servingContainerName } from '../../docker/containerSpec';
import { inferWithRetries } from './inferWithRetries';
import { runBackoff } from './retryWithBackoff';
import { nthCompletion } from './samplingRequest';
import { inlineScore } from '../../scoring/judge/inlineScore';
import { promptOf } from './picturePrompts';
import { ResultBuffer } from '../batch/resultBuffer';
import { ItemPages } from './itemPages';
import { EndpointBreaker } from '../batch/endpointBreaker';
import { runBatch } from '../batch/batchActivity';
import { codeSamplingFor, isCodeDataset, textScoring } from '../../scoring/codeSampling';
import { storeCodeSamples, type CodeSampleRow } from '../../db/queries/codeSamples';
import { ERROR_TYPES } from '../../temporal.config';
import { runTrafficFor } from '../traffic/runTraffic';
import { governedEndpoint } from '../traffic/governedEndpoint';
import { runBudget, runEndpointIdentity } from '../traffic/runBudget';
import { ModelIdentities } from './modelIdentities';
import { recordModelIdentities } from '../../db/queries/modelIdentities';

const WRITE_GROUP_ROWS = 200;
const FAILURE_LOG_LINES_PER_BATCH = 5;

export function createInferenceActivities({ db, logger, secretKey, serving, endpoints: configured }: ActivityDeps) {
  const endpointSettings = endpointSettingsOr(configured);
  return {
    async inferBatch({ runId, datasetId, from, to, servingUrl }: BatchInput): Promise<BatchResult> {
      const run = await getRun(db, runId);
      const plan = run.config.datasets.find((d) => d.datasetId === datasetId);
      if (!plan)
        throw ApplicationFailure.nonRetryable(`run ${runId} has no dataset ${datasetId}`, ERROR_TYPES.datasetNotFound);

      const already = await storedPositions(db, runId, datasetId, from, to);
      const positions: number[] = [];
      for (let p = from; p < to; p++) if (!already.has(p)) positions.push(p);
      if (positions.length === 0) return { stored: 0, skipped: already.size, failed: 0, abortReason: null };

      const items = new ItemPages(db, datasetId, plan, positions);
      const { limits, inference } = run.config;
      // The run's adaptive concurrency and its endpoint's shared budget (docs/rate-limits.md).
      const identity = plan.predictionSetId ? null : runEndpointIdentity(secretKey, run, servingUrl);
      const traffic = await runTrafficFor(db, runId, limits.maxConcurrency, identity);
      // Evaluation only: the uploaded predictions answer, one lookup per item (no HTTP).
      const endpoints: ItemEndpoints = plan.predictionSetId
        ? createPredictionsEndpoints({
            db,
            setId: plan.predictionSetId,
            datasetId,
            indices: positions.map((p) => sampleIndex(plan, p)),
          })
        : sharedEndpoint(
            governedEndpoint(
              runEndpoint(run, servingUrl, secretKey, endpointSettings),
              traffic,
              runBudget({ db, logger }, runId, identity),
            ),
          );

      // A pass_at_k dataset asks n completions per problem and leaves the sample pending for the code sandbox.
      // Inference only: one answer per item, stored as answered and never scored (docs/evaluation-modes.md).
      const inferenceOnly = run.config.inferenceOnly === true;
      const code = isCodeDataset(plan) && !inferenceOnly ? codeSamplingFor(run.config, datasetId) : null;
      const scoring = textScoring(run.config.scoring?.datasets[datasetId]);
      const buffer = new ResultBuffer<CodeSampleRow>(
        code
          ? (rows) => storeCodeSamples(db, runId, datasetId, rows)
          : (rows) => storeSampleResults(db, runId, datasetId, rows),
        WRITE_GROUP_ROWS,
      );
      const breaker = new EndpointBreaker(Math.min(10, positions.length));
      const failureLogs: RunLogLine[] = [];
      const identities = new ModelIdentities();
      let next = 0;

      const lane = async (signal: AbortSignal) => {
        while (next < positions.length && !signal.aborted && !breaker.open) {
          const i = next++;
          const position = positions[i]!;
          const idx = sampleIndex(plan, position);
          const item = await items.item(i);
          if (!item)
            throw ApplicationFailure.nonRetryable(
              `dataset ${datasetId} has no item at index ${idx}`,
              ERROR_TYPES.datasetNotFound,
            );
          const endpoint = endpoints.forItem(item);
          const prompt = await promptOf(db, plan, item);
          const completions: string[] = [];
          let outcome = await inferWithRetries(endpoint, prompt, inference, {
            maxRetries: limits.maxRetryPerQuery,
            backoff: runBackoff(limits),
            signal,
          });
          if (outcome.ok) completions.push(outcome.text);
          // The other n − 1 completions of a code problem, at the run's temperature; one that fails fails the sample.
          // Each asks with its own seed, when one is set, or a seeded server would answer the same n times.
          while (code && outcome.ok && completions.length < code.n) {
            const more = await inferWithRetries(endpoint, prompt, nthCompletion(inference, completions.length), {
              maxRetries: limits.maxRetryPerQuery,
              backoff: runBackoff(limits),
              signal,
            });
            outcome = more.ok
              ? {
                  ...more,
                  latencyMs: outcome.latencyMs + more.latencyMs,
                  attempts: outcome.attempts + more.attempts,
                  outputTokens: outcome.outputTokens + more.outputTokens,
                  promptTokens: outcome.promptTokens + more.promptTokens,
                  tokensCounted: outcome.tokensCounted || more.tokensCounted,
                }
              : more;
            if (more.ok) completions.push(more.text);
          }
          // Abandoned, not answered (a stop, or another lane's fault): the batch's retry asks again.
          // Once the batch is aborted no failure is the endpoint's, whatever the cut request looked like.
          if (!outcome.ok && (outcome.kind === 'aborted' || signal.aborted)) break;
          breaker.record(outcome);
          if (outcome.ok) identities.seen(outcome);
          const row: CodeSampleRow = outcome.ok
            ? {
                sampleIdx: idx,
                position,
                predict: completions[0]!,
                completions: code ? completions : null,
                ...(code
                  ? { score: null, status: 'pending' as const }
                  : inferenceOnly
                    ? { score: null, status: 'answered' as const }
                    : inlineScore(scoring, plan.metric, outcome.text, item)),
                error: null,
                outputLength: outcome.outputTokens,
                latencyMs: Math.round(outcome.latencyMs),
                attempts: outcome.attempts,
                promptTokens: outcome.promptTokens,
                tokensCounted: outcome.tokensCounted,
              }
            : {
                sampleIdx: idx,
                position,
                predict: null,
                completions: null,
                score: null,
                status: 'failed',
                error: outcome.reason,
                outputLength: 0,
                latencyMs: Math.round(outcome.latencyMs),
                attempts: outcome.attempts,
                promptTokens: 0,
                tokensCounted: false,
              };
          if (!outcome.ok && failureLogs.length < FAILURE_LOG_LINES_PER_BATCH) {
            failureLogs.push({
              runId,
              datasetId,
              level: 'warn',
              message: `sample ${item.itemId} failed after ${outcome.attempts} attempt(s): ${outcome.reason}`,
              dedupeKey: `sample-failed:${datasetId}:${idx}`,
            });
          }
          const writing = buffer.add(row);
          if (writing) await writing;
        }
      };

      const report = async (): Promise<BatchResult> => {
        // An endpoint that looks down may be a model container that died: say so, with its last words.
        let abortReason = breaker.tripped;
        if (abortReason && servingUrl && serving?.docker) {
          const exited = await containerExitError(
            serving.docker,
            servingContainerName(runId),
            'while it was serving',
          ).catch(() => null);
          if (exited) abortReason = exited.message;
        }
        const summary: RunLogLine = {
          runId,
          datasetId,
          level: abortReason ? 'error' : 'info',
          message:
            `samples ${from + 1}–${to} of ${datasetId}: ${buffer.stored} stored (${buffer.failed} failed)` +
            (already.size > 0 ? `, ${already.size} already stored before this attempt` : '') +
            (abortReason ? ` — ${abortReason}` : ''),
          dedupeKey: `batch:${datasetId}:${from}:${Context.current().info.attempt}`,
        };
        await appendRunLogs(db, [...failureLogs, summary]);
        await recordModelIdentities(db, runId, datasetId, identities.list());
        logger.debug({ runId, datasetId, from, to, stored: buffer.stored, failed: buffer.failed }, 'batch done');
        return { stored: buffer.stored, skipped: already.size, failed: buffer.failed, abortReason };
      };

      const stopReporting = traffic.reportWhileWorking(db, datasetId, logger);
      return runBatch({
        heartbeat: () => ({ stored: buffer.stored, ...traffic.snapshot() }),
        work: (batch) => batch.lanes(Math.min(limits.maxConcurrency, positions.length), lane),
        flush: async () => {
          await stopReporting();
          await buffer.flush();
        },
        report,
      });
    },
  };
}

/** Formal runs take every item in order; verifications take the drawn indices. */
function sampleIndex(plan: RunDatasetPlan, position: number): number {
  return plan.sampleIndices ? plan.sampleIndices[position]! : position;
}

export type InferenceActivities = ReturnType<typeof createInferenceActivities>;
