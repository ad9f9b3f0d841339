import { describe, expect, it } from 'vitest';
import { rankRows, type RankCandidate } from '../../scoring/leaderboardRanking';

const at = (minute: number) => new Date(Date.UTC(2026, 11, 7, 12, minute));
const row = (runId: string, score: number, lower: number | null, upper: number | null, minute = 0): RankCandidate => ({
  runId,
  score,
  ci95: lower === null || upper === null ? null : { lower, upper },
  submittedAt: at(minute),
});

describe('rankRows', () => {
  it('orders by score, then lower bound, then submission, then run id', () => {
    const ranked = rankRows([
      row('d', 0.5, 0.45, 0.55, 1),
      row('c', 0.5, 0.45, 0.55, 0),
      row('b', 0.5, 0.48, 0.52, 5),
      row('a', 0.9, 0.85, 0.95, 9),
      row('e', 0.5, 0.45, 0.55, 0),
    ]);
    expect(ranked.map((r) => [r.row.runId, r.rank])).toEqual([
      ['a', 1],
      ['b', 2],
      ['c', 3],
      ['e', 4],
      ['d', 5],
    ]);
  });

  it('gives overlapping intervals overlapping rank ranges, and separated ones separate ranks', () => {
    const ranked = rankRows([row('top', 0.95, 0.9, 1), row('close', 0.93, 0.88, 0.98), row('low', 0.6, 0.5, 0.7)]);
    const range = Object.fromEntries(ranked.map((r) => [r.row.runId, r.rankRange]));
    expect(range).toEqual({ top: { best: 1, worst: 2 }, close: { best: 1, worst: 2 }, low: { best: 3, worst: 3 } });
  });

  it('treats a row without an interval as the point of its score', () => {
    const ranked = rankRows([row('point', 0.8, null, null), row('wide', 0.7, 0.5, 0.9), row('sure', 0.3, 0.29, 0.31)]);
    const range = Object.fromEntries(ranked.map((r) => [r.row.runId, r.rankRange]));
    expect(range).toEqual({ point: { best: 1, worst: 2 }, wide: { best: 1, worst: 2 }, sure: { best: 3, worst: 3 } });
  });

  it('keeps every rank inside its range, whatever the intervals', () => {
    const rows: RankCandidate[] = [];
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 40; i++) {
      const score = next();
      const half = next() * 0.2;
      rows.push(row(`r${i}`, score, Math.max(0, score - half), Math.min(1, score + half), i));
    }
    for (const r of rankRows(rows)) {
      expect(r.rankRange.best).toBeLessThanOrEqual(r.rank);
      expect(r.rankRange.worst).toBeGreaterThanOrEqual(r.rank);
    }
  });

  it('ranks nothing as nothing', () => {
    expect(rankRows([])).toEqual([]);
  });
});
