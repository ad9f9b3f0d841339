export { runEvaluation, stopSignal } from './runEvaluation';
export { evaluateDataset } from './evaluateDataset';
export { containerUnitsFreedSignal } from './servedModel';
export { leaderboardWindow, submitToLeaderboardUpdate } from './leaderboardWindow';
export { debugScoring } from './debugScoring';
export { launchSweep } from './launchSweep';
