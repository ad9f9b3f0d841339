/**
 * How dataset scores roll up, shared by the activity that closes a run and the API's live view so
 * both always agree: a task's score is the mean of its finished datasets, and the run's overall
 * score is the mean of its task scores (each task weighs the same, however many datasets it has).
 */
import type { DatasetMetrics, RunStatus } from './run';

export interface TaskScore {
  task: string;
  score: number;
  datasets: number;
}

interface ScoredDataset {
  task: string;
  status: RunStatus;
  metrics: DatasetMetrics | null;
}

export function taskScores(datasets: readonly ScoredDataset[]): TaskScore[] {
  const byTask = new Map<string, number[]>();
  for (const d of datasets) {
    if (d.status !== 'succeeded' || !d.metrics) continue;
    const scores = byTask.get(d.task) ?? [];
    scores.push(d.metrics.score);
    byTask.set(d.task, scores);
  }
  return [...byTask].map(([task, scores]) => ({ task, score: mean(scores), datasets: scores.length }));
}

export function overallScore(tasks: readonly TaskScore[]): number | null {
  return tasks.length === 0 ? null : mean(tasks.map((t) => t.score));
}

function mean(values: readonly number[]): number {
  return values.reduce((sum, v) => sum + v, 0) / values.length;
}
