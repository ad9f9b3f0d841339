/**
 * A backbone dataset's metrics: the sample-based ones (every test item a row scoring 1 or 0, so
 * their mean is the task's top-1 accuracy or recall@1) with the fine-tune job's report beside them.
 * Segmentation's score is the dataset's mean IoU (over classes, all pixels at once), which no mean
 * of per-picture scores equals: where the whole test split was scored, the job's figure replaces
 * it, with no interval.
 */
import type { BackboneMetrics } from '../../contracts/backbone';
import type { DatasetMetrics } from '../../contracts/run';

export function withBackboneReport(
  metrics: DatasetMetrics,
  report: BackboneMetrics,
  wholeTestSplit: boolean,
): DatasetMetrics {
  const miou = report.task === 'segmentation' && wholeTestSplit ? report.metrics.find((m) => m.name === 'mIoU') : null;
  return {
    ...metrics,
    backbone: report,
    ...(miou ? { score: miou.value, ci95: null, standardError: null } : {}),
  };
}
