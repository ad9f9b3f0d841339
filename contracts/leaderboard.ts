/**
 * Publishing a finished formal run on its domain's leaderboard. The owner chooses once, within a
 * window after the run succeeded, whether the entry shows their name and organisation or
 * "anonymous"; only runs submitted that way appear. The choice travels as an update to the run's
 * publication workflow (workflows/leaderboardWindow.ts); the board is read from the record.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { Domain } from './domain';
import type { ScoreInterval } from './run';

export const LEADERBOARD_MODES = ['named', 'anonymous'] as const;
export type LeaderboardMode = (typeof LEADERBOARD_MODES)[number];

/** What an anonymous entry shows in place of the submitter's name and organisation. */
export const ANONYMOUS = 'anonymous';

export const SubmitToLeaderboardBody = Type.Object(
  {
    mode: Type.Union([Type.Literal('named'), Type.Literal('anonymous')], {
      description: 'named shows your name and organisation on the board; anonymous shows "anonymous" for both',
    }),
  },
  { additionalProperties: false },
);
export type SubmitToLeaderboardBody = Static<typeof SubmitToLeaderboardBody>;

/** Where a run's submission stands: open until submitted or until its window closes. */
export const PUBLICATION_STATUSES = ['open', 'submitted', 'closed'] as const;
export type PublicationStatus = (typeof PUBLICATION_STATUSES)[number];

/** The run's publication workflow: its input, the update it takes and what it ends with. */
export interface LeaderboardWindowInput {
  runId: string;
  /** How long the window stays open, from the moment the workflow starts (worker setting, fixed at opening). */
  windowMs: number;
}

export interface LeaderboardSubmission {
  mode: LeaderboardMode;
  /** The user who submitted (the run's owner); an ID only, names stay out of workflow history. */
  submittedBy: string;
}

/** What the update answers: the stored entry, without names (they are read from the record). */
export interface LeaderboardSubmissionResult {
  runId: string;
  mode: LeaderboardMode;
  submittedAt: string;
}

export interface LeaderboardWindowResult {
  outcome: 'submitted' | 'closed';
}

/** Failure types the validator and the activity answer with; the API maps each to a 409. */
export const LEADERBOARD_FAILURES = {
  alreadySubmitted: 'LeaderboardAlreadySubmitted',
  windowClosed: 'LeaderboardWindowClosed',
  invalidSubmission: 'InvalidLeaderboardSubmission',
} as const;

/** A column group of a board: a task and its datasets, in the order the domain lists them. */
export interface LeaderboardTaskColumn {
  task: string;
  datasets: string[];
}

export interface LeaderboardScore {
  score: number;
  ci95: ScoreInterval | null;
}

export interface LeaderboardRow {
  rank: number;
  modelName: string;
  mode: LeaderboardMode;
  /** The owner's name, or "anonymous". */
  submitter: string;
  /** The owner's organisation, or "anonymous". */
  organization: string;
  submittedAt: string;
  overallScore: number | null;
  overallCi95: ScoreInterval | null;
  /** Per task of the columns; absent when the run did not finish a dataset of that task. */
  taskScores: Record<string, LeaderboardScore>;
  /** Per dataset of the columns; absent when the run did not evaluate it (or it did not succeed). */
  datasetScores: Record<string, LeaderboardScore>;
}

export interface LeaderboardView {
  domain: Domain;
  columns: LeaderboardTaskColumn[];
  rows: LeaderboardRow[];
}
