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

/** One dataset of a suite, pinned to the content it had when the suite was set. */
export interface SuiteDataset {
  id: string;
  task: string;
  contentHash: string;
}

export const LeaderboardSuiteView = Type.Object({
  domain: Domain,
  version: Type.Integer({ description: 'versions count up from 1; a new list of datasets is a new version' }),
  name: Type.String(),
  datasets: Type.Array(Type.String(), { description: 'the dataset ids every ranked run has finished' }),
  createdAt: Timestamp,
  setBy: Type.String({ description: '"default" for the platform’s (every admissible built-in dataset), else "admin"' }),
});
export type LeaderboardSuiteView = Static<typeof LeaderboardSuiteView>;

export const SetLeaderboardSuiteBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 120, description: 'must be 1 to 120 characters' }),
    datasets: Type.Array(Type.String({ minLength: 1, maxLength: 200, description: 'must be a dataset id' }), {
      minItems: 1,
      maxItems: 500,
      uniqueItems: true,
      description: 'must list 1 to 500 distinct admissible built-in datasets of the domain',
    }),
  },
  { additionalProperties: false },
);
export type SetLeaderboardSuiteBody = Static<typeof SetLeaderboardSuiteBody>;

export const RankRange = Type.Object(
  {
    best: Type.Integer({ description: '1 + the rows whose interval lies wholly above this row’s' }),
    worst: Type.Integer({
      description: 'the rows whose interval does not lie wholly below this row’s (this one included)',
    }),
  },
  { description: 'the ranks this row could hold given the 95% intervals' },
);
export type RankRange = Static<typeof RankRange>;

export const LeaderboardRow = Type.Object({
  rank: Type.Integer({
    description: 'place in the order: overall score, then lower interval bound, then earlier submission',
  }),
  rankRange: RankRange,
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

const SuiteBoard = {
  columns: Type.Array(LeaderboardTaskColumn, { description: "the suite's datasets grouped by task" }),
  rows: Type.Array(LeaderboardRow, {
    description: 'runs submitted under this suite version, ranked on its datasets only',
  }),
};

export const EarlierLeaderboard = Type.Object({
  suite: nullable(LeaderboardSuiteView, { description: 'null: submitted before the board had suites' }),
  ...SuiteBoard,
});
export type EarlierLeaderboard = Static<typeof EarlierLeaderboard>;

export const LeaderboardView = Type.Object({
  domain: Domain,
  suite: LeaderboardSuiteView,
  ...SuiteBoard,
  earlier: Type.Array(EarlierLeaderboard, {
    description: 'submissions made under earlier suite versions, newest version first, each ranked on its own suite',
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
