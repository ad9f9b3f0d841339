/**
 * One batch of the robustness pass: every sample of the range not yet stored there is asked again
 * with its prompt perturbed (perturbItems, kind `mixed`, seeded by the run, so a retry asks the very
 * same prompt), scored by the dataset's rule metric and stored in perturbed_sample_results. Like the
 * clean pass's batch, it is the unit Temporal retries and skips what it already stored; a sample the
 * model does not answer is stored failed with the reason, and the clean results are never touched.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { endpointSettingsOr, type ActivityDeps } from '../activityDeps';
import type { BatchInput } from '../../contracts/workflow';
import { getRun } from '../../db/queries/runRecords';
import { appendRunLogs } from '../../db/queries/runLogs';
import { runEndpoint } from '../inference/runEndpoint';
import { runTrafficFor } from '../traffic/runTraffic';
import { governedEndpoint } from '../traffic/governedEndpoint';
import { runBudget, runEndpointIdentity } from '../traffic/runBudget';
import { runBackoff } from '../inference/retryWithBackoff';
import { inferWithRetries } from '../inference/inferWithRetries';
import { ItemPages } from '../inference/itemPages';
import { promptOf } from '../inference/picturePrompts';
import { inlineScore } from '../../scoring/judge/inlineScore';
import { perturbItems } from '../../scoring/robustness/perturbItems';
import { PERTURBATION_KIND, runPerturbationSeed } from './robustnessPlan';
import { textScoring } from '../../scoring/codeSampling';
import { storedPerturbedPositions, storePerturbedRows, type PerturbedRow } from '../../db/queries/perturbedResults';
import { ResultBuffer } from '../batch/resultBuffer';
import { runBatch } from '../batch/batchActivity';
import { ERROR_TYPES } from '../../temporal.config';

const WRITE_GROUP_ROWS = 100;

export function createRobustnessActivities({ db, logger, secretKey, endpoints: configured }: ActivityDeps) {
  const endpoints = endpointSettingsOr(configured);
  return {
    async inferPerturbedBatch({
      runId,
      datasetId,
      from,
      to,
      servingUrl,
    }: BatchInput): Promise<{ stored: number; failed: number }> {
      const run = await getRun(db, runId);
      const plan = run.config.datasets.find((d) => d.datasetId === datasetId);
      if (!plan)
        throw ApplicationFailure.nonRetryable(`run ${runId} has no dataset ${datasetId}`, ERROR_TYPES.datasetNotFound);
      const already = await storedPerturbedPositions(db, runId, datasetId, from, to);
      const positions: number[] = [];
      for (let p = from; p < to; p++) if (!already.has(p)) positions.push(p);
      if (positions.length === 0) return { stored: 0, failed: 0 };

      const items = new ItemPages(db, datasetId, plan, positions);
      const { limits, inference } = run.config;
      // The same adaptive gate and endpoint budget as the clean pass (docs/rate-limits.md).
      const identity = runEndpointIdentity(secretKey, run, servingUrl);
      const traffic = await runTrafficFor(db, runId, limits.maxConcurrency, identity);
      const endpoint = governedEndpoint(
        runEndpoint(run, servingUrl, secretKey, endpoints),
        traffic,
        runBudget({ db, logger }, runId, identity),
      );
      const runSeed = runPerturbationSeed(runId, run.config.sampleSeed);
      const scoring = textScoring(run.config.scoring?.datasets[datasetId]);

      const buffer = new ResultBuffer<PerturbedRow>(
        (rows) => storePerturbedRows(db, runId, datasetId, rows),
        WRITE_GROUP_ROWS,
      );
      let next = 0;
      const lane = async (signal: AbortSignal) => {
        while (next < positions.length && !signal.aborted) {
          const i = next++;
          const position = positions[i]!;
          const item = await items.item(i);
          if (!item)
            throw ApplicationFailure.nonRetryable(
              `dataset ${datasetId} has no item for position ${position}`,
              ERROR_TYPES.datasetNotFound,
            );
          const [perturbed] = perturbItems([{ id: item.itemId, prompt: item.prompt, ground_truth: item.groundTruth }], {
            runSeed,
            kind: PERTURBATION_KIND,
          });
          const prompt = perturbed!.prompt;
          // A visual question is asked again with its text perturbed and the same pictures.
          const asked = await promptOf(db, plan, { ...item, prompt });
          const outcome = await inferWithRetries(endpoint, asked, inference, {
            maxRetries: limits.maxRetryPerQuery,
            backoff: runBackoff(limits),
            signal,
          });
          if (!outcome.ok && outcome.kind === 'aborted') break;
          const row: PerturbedRow = outcome.ok
            ? {
                sampleIdx: item.idx,
                position,
                prompt,
                predict: outcome.text,
                score: inlineScore(scoring, plan.metric, outcome.text, item).score,
                status: 'scored',
                error: null,
                outputLength: outcome.outputTokens,
                latencyMs: Math.round(outcome.latencyMs),
                attempts: outcome.attempts,
              }
            : {
                sampleIdx: item.idx,
                position,
                prompt,
                predict: null,
                score: null,
                status: 'failed',
                error: outcome.reason,
                outputLength: 0,
                latencyMs: Math.round(outcome.latencyMs),
                attempts: outcome.attempts,
              };
          const writing = buffer.add(row);
          if (writing) await writing;
        }
      };

      const stopReporting = traffic.reportWhileWorking(db, datasetId, logger);
      return runBatch({
        heartbeat: () => ({ stored: buffer.stored, ...traffic.snapshot() }),
        work: (batch) => batch.lanes(Math.min(limits.maxConcurrency, positions.length), lane),
        flush: async () => {
          await stopReporting();
          await buffer.flush();
        },
        report: async () => {
          await appendRunLogs(db, [
            {
              runId,
              datasetId,
              level: 'info',
              message: `robustness pass, samples ${from + 1}–${to} of ${datasetId}: ${buffer.stored} perturbed prompt(s) answered and stored (${buffer.failed} failed)`,
              dedupeKey: `perturbed-batch:${datasetId}:${from}:${Context.current().info.attempt}`,
            },
          ]);
          logger.debug(
            { runId, datasetId, from, to, stored: buffer.stored, failed: buffer.failed },
            'perturbed batch done',
          );
          return { stored: buffer.stored, failed: buffer.failed };
        },
      });
    },
  };
}

export type RobustnessActivities = ReturnType<typeof createRobustnessActivities>;
