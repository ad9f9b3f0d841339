/**
 * Each test file starts with no workflow running. Files share one Temporal server and its task
 * queues, so a run an earlier file left open (queued for a test of stops, or cut off by a test's
 * end) would otherwise be taken up by the next file's workers, and show up in what that file
 * counts: requests, rows, mails. Terminated here, before the file's own hooks run.
 */
import { beforeAll } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { requireEnv } from './env';

const BATCH = 50;

beforeAll(async () => {
  const connection = await Connection.connect({ address: requireEnv('TEMPORAL_ADDRESS') });
  try {
    const client = new Client({ connection, namespace: requireEnv('TEMPORAL_NAMESPACE') });
    const open: { workflowId: string; runId: string }[] = [];
    for await (const execution of client.workflow.list({ query: 'ExecutionStatus="Running"' })) open.push(execution);
    for (let i = 0; i < open.length; i += BATCH) {
      await Promise.all(
        open.slice(i, i + BATCH).map((e) =>
          client.workflow
            .getHandle(e.workflowId, e.runId)
            .terminate('test isolation: left running by an earlier test file')
            // Ended meanwhile: nothing to do.
            .catch(() => undefined),
        ),
      );
    }
  } finally {
    await connection.close();
  }
});
