/**
 * Stall detection by polls, not by clocks: for every run, how many polls in a row saw neither its
 * status nor its count of finished samples move. A run that is waiting its turn shows as a long
 * streak; a run stuck for good shows as a streak that never ends.
 */

export interface PolledRun {
  status: string;
  done: number;
}

export class ProgressWatch {
  private readonly last = new Map<string, string>();
  private readonly streak = new Map<string, number>();
  private readonly longest = new Map<string, { polls: number; state: string }>();

  /** Records one poll of a run; returns the polls in a row (this one included) without progress. */
  observe(runId: string, run: PolledRun): number {
    const state = `${run.status}:${run.done}`;
    const streak = this.last.get(runId) === state ? (this.streak.get(runId) ?? 0) + 1 : 0;
    this.last.set(runId, state);
    this.streak.set(runId, streak);
    if (streak > (this.longest.get(runId)?.polls ?? -1)) this.longest.set(runId, { polls: streak, state });
    return streak;
  }

  /** The longest streak of polls without progress of any run, whose it was, and where it stood (`status:done`). */
  worst(): { runId: string | null; polls: number; state: string | null } {
    let worst: { runId: string | null; polls: number; state: string | null } = { runId: null, polls: 0, state: null };
    for (const [runId, { polls, state }] of this.longest) if (polls > worst.polls) worst = { runId, polls, state };
    return worst;
  }
}
