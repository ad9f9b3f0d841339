/** The run's Excel report, written once the run ends (rewritten if the activity is retried). */
import { Context } from '@temporalio/activity';
import type { ActivityDeps } from './activityDeps';
import { buildAndStoreRunReport } from './report/storeReport';

export function createReportActivities({ db }: ActivityDeps) {
  return {
    async buildRunReport({ runId }: { runId: string }): Promise<{ bytes: number; rows: number }> {
      return buildAndStoreRunReport(db, runId, (rows) => Context.current().heartbeat({ rows }));
    },
  };
}

export type ReportActivities = ReturnType<typeof createReportActivities>;
