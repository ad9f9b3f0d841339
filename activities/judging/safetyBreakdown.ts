/**
 * A safety dataset's breakdown, added to its metrics when it closes: the label each sample's steps
 * record (scoring/safety/scoreSafety.ts), read with its item's kind and language.
 */
import type { Db } from '../../db/client';
import type { DatasetMetrics } from '../../contracts/run';
import { labelledSamples } from '../../db/queries/judgeSteps';
import { safetyBreakdown } from '../../scoring/safety/safetyMetrics';
import { isSafetyKind } from '../../scoring/safety/scoreSafety';
import { SAFETY_RUBRIC_VERSION } from '../../scoring/safety/safetyRubric';

export async function withSafetyBreakdown(
  db: Db,
  runId: string,
  datasetId: string,
  metrics: DatasetMetrics,
): Promise<DatasetMetrics> {
  const rows = await labelledSamples(db, runId, datasetId);
  const samples = rows.flatMap((row) => {
    if (!isSafetyKind(row.groundTruth)) return [];
    const label = row.steps?.find((s) => s.step === 'label');
    const judge = row.steps?.find((s) => s.step === 'judge');
    return [
      {
        kind: row.groundTruth,
        label: label?.step === 'label' ? label.label : null,
        labelledBy:
          row.method === 'safety_judge'
            ? ('judge' as const)
            : row.method === 'safety_fallback'
              ? ('fallback' as const)
              : null,
        rubric: label?.step === 'label' ? label.rubric : null,
        judgeModel: judge?.step === 'judge' ? judge.model : null,
        language: row.language,
      },
    ];
  });
  return { ...metrics, safety: safetyBreakdown(samples, SAFETY_RUBRIC_VERSION) };
}
