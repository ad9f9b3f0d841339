/**
 * How a board orders its rows and how sure the order is (docs/leaderboard.md, "Ranks").
 *
 * The order: overall score, best first; on equal scores the higher lower bound of the 95% interval
 * (the better-supported score); then the earlier submission; then the run id, so the order never
 * depends on how the database happened to return the rows.
 *
 * The range: models whose intervals overlap are not strictly ordered. A row's best possible rank is
 * 1 + the rows whose interval lies wholly above its own (their lower bound above its upper bound);
 * its worst is the number of rows whose interval does not lie wholly below its own (this one
 * included). A row without an interval counts as the point of its score.
 */
import type { ScoreInterval } from './scoreAggregation';

export interface RankCandidate {
  runId: string;
  score: number;
  ci95: ScoreInterval | null;
  submittedAt: Date;
}

export interface Ranked<T extends RankCandidate> {
  row: T;
  rank: number;
  rankRange: { best: number; worst: number };
}

export function rankRows<T extends RankCandidate>(rows: readonly T[]): Ranked<T>[] {
  const bounds = (row: T): ScoreInterval => row.ci95 ?? { lower: row.score, upper: row.score };
  const ordered = [...rows].sort(
    (a, b) =>
      b.score - a.score ||
      bounds(b).lower - bounds(a).lower ||
      a.submittedAt.getTime() - b.submittedAt.getTime() ||
      (a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0),
  );
  return ordered.map((row, i) => {
    const own = bounds(row);
    const above = ordered.filter((other) => bounds(other).lower > own.upper).length;
    const notBelow = ordered.filter((other) => !(bounds(other).upper < own.lower)).length;
    // The point rank always lies in the range: what lies wholly above is ranked first, and what lies
    // wholly below is ranked after.
    return { row, rank: i + 1, rankRange: { best: Math.min(above + 1, i + 1), worst: Math.max(notBelow, i + 1) } };
  });
}
