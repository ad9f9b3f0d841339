/**
 * The workflows a worker registers, by their function names (temporal.config.ts WORKFLOW_TYPES).
 * Their signals and updates are defined in contracts/workflow.ts, where senders import them.
 */
export { runEvaluation } from './runEvaluation';
export { evaluateDataset } from './evaluateDataset';
export { leaderboardWindow } from './leaderboardWindow';
export { debugScoring } from './debugScoring';
