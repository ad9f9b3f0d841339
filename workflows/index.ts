/**
 * The workflows a worker registers, by their function names. Their signals and updates are
 * defined in contracts/workflow.ts, where senders import them.
 */
import type { WORKFLOW_TYPES } from '../temporal.config';
import type * as registered from './index';

export { runEvaluation } from './runEvaluation';
export { evaluateDataset } from './evaluateDataset';
export { leaderboardWindow } from './leaderboardWindow';
export { debugScoring } from './debugScoring';
export { launchSweep } from './launchSweep';
export { endpointCheck } from './endpointCheck';

/** Does not compile while temporal.config.ts WORKFLOW_TYPES names a workflow this module does not export. */
type Holds<T extends true> = T;
export type WorkflowTypesRegistered = Holds<
  (typeof WORKFLOW_TYPES)[keyof typeof WORKFLOW_TYPES] extends keyof typeof registered ? true : false
>;
