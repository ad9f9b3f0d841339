/**
 * Every patch the workflows ask `patched()` about. An execution begun before a patch replays the
 * code path it took then; one begun after records the patch's marker and takes the new path. The
 * IDs are written into histories: never rename or reuse one, and keep a patch here until no
 * execution begun before it can still be running or replayed.
 *
 * `pinnedBy` names the replay fixtures (test/fixtures/histories/, listed in its index.ts) that hold
 * each path in place: `before` histories reach the patch's question without its marker and replay
 * the old path, `after` histories carry the marker. test/workflows/replay.test.ts checks each
 * fixture's markers against these lists.
 */
export const PATCHES = {
  /** The run's and its datasets' bookkeeping steps as local activities (workflows/activityProxies.ts). */
  localBookkeeping: {
    id: 'local-bookkeeping',
    pinnedBy: {
      before: [
        'run-completed-before-local-bookkeeping',
        'run-stopped-before-local-bookkeeping',
        'dataset-continued-as-new-before-local-bookkeeping',
        'dataset-stopped-before-local-bookkeeping',
        'private-run-completed',
        'private-run-container-restarted',
        'run-completed-published',
        'run-manual-review',
        'dataset-judged',
        'dataset-code-scored',
        'dataset-robustness',
      ],
      after: [
        'run-completed',
        'run-stopped',
        'run-completed-before-stoppable-child',
        'run-stopped-before-stoppable-child',
        'dataset-continued-as-new',
        'dataset-stopped',
      ],
    },
  },
  /** A dataset's child started out of the stop's reach and cancelled by ID (workflows/stoppableChild.ts). */
  stoppableDatasetChild: {
    id: 'stoppable-dataset-child',
    pinnedBy: {
      before: [
        'run-completed-before-stoppable-child',
        'run-stopped-before-stoppable-child',
        'run-completed-before-local-bookkeeping',
        'run-stopped-before-local-bookkeeping',
        'private-run-completed',
        'private-run-container-restarted',
        'run-completed-published',
        'run-manual-review',
      ],
      after: ['run-completed', 'run-stopped'],
    },
  },
  /** Each inference batch of a judged dataset followed by a judgeBatch on the judge queue (workflows/pipelinedScoring.ts). */
  judgeScoring: { id: 'judge-scoring', pinnedBy: { before: [], after: ['dataset-judged'] } },
  /** Each inference batch of a pass@k dataset followed by a scoreCodeBatch in the code sandbox. */
  codeScoring: { id: 'code-scoring', pinnedBy: { before: [], after: ['dataset-code-scored'] } },
  /** A formal run's datasets asked again with perturbed prompts after the clean pass. */
  robustnessPass: { id: 'robustness-pass', pinnedBy: { before: [], after: ['dataset-robustness'] } },
  /** A succeeded formal run opens its leaderboard submission window (workflows/leaderboardWindow.ts). */
  leaderboardWindow: {
    id: 'leaderboard-window',
    pinnedBy: {
      before: ['run-completed-before-local-bookkeeping', 'private-run-completed', 'private-run-container-restarted'],
      after: ['run-completed-published', 'run-completed', 'run-completed-before-stoppable-child', 'run-manual-review'],
    },
  },
  /** Subjective datasets wait for their manual review before the run closes (workflows/manualReview.ts). */
  manualReviewGate: {
    id: 'manual-review-gate',
    pinnedBy: {
      before: [
        'run-completed-before-local-bookkeeping',
        'run-stopped-before-local-bookkeeping',
        'private-run-completed',
        'private-run-container-restarted',
      ],
      after: [
        'run-manual-review',
        'run-completed',
        'run-stopped',
        'run-completed-published',
        'run-completed-before-stoppable-child',
        'run-stopped-before-stoppable-child',
      ],
    },
  },
  /**
   * A judge or code-scoring failure settled at a continue-as-new boundary ends the dataset with its
   * reason (workflows/evaluateDataset.ts); before, the dataset continued as new past it.
   */
  scoringFailureEndsDataset: {
    id: 'scoring-failure-ends-dataset',
    pinnedBy: {
      before: ['dataset-judge-failed-at-continue-before-scoring-failure-ends-dataset'],
      after: ['dataset-judge-failed-at-continue'],
    },
  },
  /**
   * A formal run waits for its API endpoint to be ready before its first dataset, and a formal run
   * that fails before its model was ready gets its quota slot back (workflows/endpointReadiness.ts).
   * Asked only when beginRun's plan names a readiness, which runs begun before it never do.
   */
  endpointReadiness: {
    id: 'endpoint-readiness',
    pinnedBy: { before: [], after: ['run-endpoint-not-ready', 'run-endpoint-ready-after-wait'] },
  },
} as const;

export type PatchName = keyof typeof PATCHES;
