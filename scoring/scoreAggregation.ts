/**
 * How dataset scores roll up, shared by the activity that closes a run, the API's live view and
 * the report so all three always agree: a task's score is the mean of its finished datasets, and
 * the run's overall score is the mean of its task scores (each task weighs the same, however many
 * datasets it has).
 *
 * Each score carries a 95% confidence interval:
 *   - a dataset's is the percentile bootstrap of its per-sample scores (bootstrapInterval.ts),
 *     seeded from the run and dataset ids, so a retried activity stores the same interval;
 *   - an average of several datasets (a task) or of several tasks (the run) is the normal interval
 *     score ± 1.96 × SE, with SE² = Σ SEᵢ² / k² over its k parts. The parts are independent
 *     samples, so that is exactly the spread a stratified bootstrap (resample within each dataset,
 *     average the means) would show, without its Monte-Carlo noise; its percentiles approach the
 *     normal ones as the samples add up (see test/scoring/scoreAggregation.test.ts). It is
 *     computed here from each dataset's stored SE rather than by resampling because the live view
 *     and the report derive task scores from the stored dataset metrics alone, and resampling every
 *     sample of a run on each read would cost about a second per 100,000 samples;
 *   - an average of one part is that part: its interval is passed on unchanged, as a stratified
 *     bootstrap with one stratum would give it.
 * Scores lie in [0, 1] (scoring/metrics.ts clamps them), so combined bounds are clipped to it.
 * An interval is null when any part lacks one (no samples, or stored before intervals existed).
 */
import type { DatasetMetrics, RunStatus } from '../contracts/run';
import type { ScoreInterval } from '../contracts/common';
import { bootstrapInterval } from './bootstrapInterval';

export type { ScoreInterval };

/** A task's score as runs store it and mails quote it. */
export interface TaskScore {
  task: string;
  score: number;
  datasets: number;
}

/** A task's score with its interval, as the API and the report show it. */
export interface TaskScoreWithInterval extends TaskScore {
  ci95: ScoreInterval | null;
  standardError: number | null;
}

interface ScoredDataset {
  task: string;
  status: RunStatus;
  metrics: DatasetMetrics | null;
}

interface Estimate {
  score: number;
  ci95: ScoreInterval | null;
  standardError: number | null;
}

/** Φ⁻¹(0.975): the two-sided 95% point of the standard normal. */
const Z_95 = 1.959963984540054;

/**
 * The bootstrap seed of a dataset's interval: FNV-1a over the run and dataset ids. Stable across
 * processes and versions — changing it would change the interval a retried activity stores.
 */
export function intervalSeed(runId: string, datasetId: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(`${runId}\u0000${datasetId}`)) {
    hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  }
  return hash;
}

/**
 * The interval and standard error of a dataset's score from its per-sample scores (failed samples
 * as 0). The same scores in the same order with the same seed give the same result.
 */
export function datasetInterval(
  scores: ArrayLike<number>,
  seed: number,
): Pick<DatasetMetrics, 'ci95' | 'standardError'> {
  const interval = bootstrapInterval(scores, { seed, confidence: 0.95 });
  if (!interval) return { ci95: null, standardError: null };
  let squares = 0;
  for (let i = 0; i < scores.length; i++) squares += (scores[i]! - interval.mean) ** 2;
  // √(Σ(x − x̄)² / n) / √n: the plug-in variance, which is the bootstrap's own.
  return { ci95: { lower: interval.lower, upper: interval.upper }, standardError: Math.sqrt(squares) / scores.length };
}

export function taskScores(datasets: readonly ScoredDataset[]): TaskScoreWithInterval[] {
  const byTask = new Map<string, Estimate[]>();
  for (const d of datasets) {
    if (d.status !== 'succeeded' || !d.metrics) continue;
    const parts = byTask.get(d.task) ?? [];
    // Metrics stored before intervals existed lack both fields.
    parts.push({
      score: d.metrics.score,
      ci95: d.metrics.ci95 ?? null,
      standardError: d.metrics.standardError ?? null,
    });
    byTask.set(d.task, parts);
  }
  return [...byTask].map(([task, parts]) => ({ task, datasets: parts.length, ...average(parts) }));
}

export function overallScore(tasks: readonly TaskScore[]): number | null {
  return tasks.length === 0 ? null : mean(tasks.map((t) => t.score));
}

/** The interval of overallScore(tasks); null when there is no task or a task has no interval. */
export function overallInterval(tasks: readonly TaskScoreWithInterval[]): ScoreInterval | null {
  return tasks.length === 0 ? null : average(tasks).ci95;
}

/** The mean of independent estimates, with its interval. */
function average(parts: readonly Estimate[]): Estimate {
  const score = mean(parts.map((p) => p.score));
  if (parts.length === 1) return { score, ci95: parts[0]!.ci95, standardError: parts[0]!.standardError };
  if (parts.some((p) => p.ci95 === null || p.standardError === null)) return { score, ci95: null, standardError: null };
  const standardError = Math.sqrt(parts.reduce((sum, p) => sum + p.standardError! ** 2, 0)) / parts.length;
  const half = Z_95 * standardError;
  return { score, ci95: { lower: clamp01(score - half), upper: clamp01(score + half) }, standardError };
}

function clamp01(x: number): number {
  return Math.min(1, Math.max(0, x));
}

function mean(values: readonly number[]): number {
  return values.reduce((sum, v) => sum + v, 0) / values.length;
}
