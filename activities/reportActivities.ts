/** The run's Excel report, written once the run ends (rewritten if the activity is retried). */
import { Context } from '@temporalio/activity';
import type { ActivityDeps } from './activityDeps';
import { buildAndStoreRunReport } from './report/storeReport';
import { appendRunLogs } from '../db/queries/runLogs';

export function createReportActivities({ db }: ActivityDeps) {
  return {
    async buildRunReport({ runId }: { runId: string }): Promise<{ bytes: number; rows: number }> {
      const result = await buildAndStoreRunReport(db, runId, (rows) => Context.current().heartbeat({ rows }));
      await appendRunLogs(db, [
        {
          runId,
          level: 'info',
          message: `report written: ${result.rows} sample row(s), ${result.bytes} bytes`,
          dedupeKey: 'report',
        },
      ]);
      return result;
    },
  };
}

export type ReportActivities = ReturnType<typeof createReportActivities>;
