/**
 * Publishing a finished formal run on its domain's leaderboard. The owner chooses once, within a
 * window after the run succeeded, whether the entry shows their name and organisation or
 * "anonymous"; only runs submitted that way appear. The choice travels as an update to the run's
 * publication workflow (workflows/leaderboardWindow.ts); the board is read from the record.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Domain } from './domain';
import { literalUnion } from './literalUnion';
import { nullable, ScoreInterval, Timestamp, Uuid } from './common';

export const LEADERBOARD_MODES = ['named', 'anonymous'] as const;
export type LeaderboardMode = (typeof LEADERBOARD_MODES)[number];

/** What an anonymous entry shows in place of the submitter's name and organisation. */
export const ANONYMOUS = 'anonymous';

export const SubmitToLeaderboardBody = Type.Object(
  {
    mode: literalUnion(LEADERBOARD_MODES, {
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

/** A column group of a board: a task and its datasets, in the order the domain lists them. */
export const LeaderboardTaskColumn = Type.Object({ task: Type.String(), datasets: Type.Array(Type.String()) });
export type LeaderboardTaskColumn = Static<typeof LeaderboardTaskColumn>;

export const LeaderboardScore = Type.Object({ score: Type.Number(), ci95: nullable(ScoreInterval) });
export type LeaderboardScore = Static<typeof LeaderboardScore>;

export const LeaderboardRow = Type.Object({
  rank: Type.Integer(),
  modelName: Type.String(),
  mode: literalUnion(LEADERBOARD_MODES),
  submitter: Type.String({ description: 'the owner’s name, or "anonymous"' }),
  organization: Type.String({ description: 'the owner’s organisation, or "anonymous"' }),
  submittedAt: Timestamp,
  overallScore: nullable(Type.Number()),
  overallCi95: nullable(ScoreInterval),
  taskScores: Type.Record(Type.String(), LeaderboardScore, {
    description: 'by task; a task the run did not finish is absent',
  }),
  datasetScores: Type.Record(Type.String(), LeaderboardScore, {
    description: 'by dataset id; a dataset the run did not finish is absent',
  }),
  caveats: Type.Array(Type.String(), {
    description:
      'what a reader must know to compare this row: e.g. safety answers labelled by the refusal-phrase fallback because no judge was configured',
  }),
});
export type LeaderboardRow = Static<typeof LeaderboardRow>;

export const LeaderboardView = Type.Object({
  domain: Domain,
  columns: Type.Array(LeaderboardTaskColumn, {
    description: "the domain's built-in datasets grouped by task, as GET /v1/datasets lists them",
  }),
  rows: Type.Array(LeaderboardRow, {
    description: 'submitted runs only, best overall score first (earlier submission first on a tie)',
  }),
});
export type LeaderboardView = Static<typeof LeaderboardView>;

/** What a submission answers. */
export const LeaderboardSubmissionView = Type.Object({
  runId: Uuid,
  domain: Domain,
  mode: literalUnion(LEADERBOARD_MODES),
  submitter: Type.String({ description: 'as the board shows it' }),
  organization: Type.String({ description: 'as the board shows it' }),
  submittedAt: Timestamp,
  leaderboard: Type.String({ description: 'where the board is: its JSON; the page is /leaderboard/{domain}' }),
});
