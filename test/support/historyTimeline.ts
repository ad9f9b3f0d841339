/**
 * A workflow's history as one line per event (id, milliseconds since its start, type), for a failing
 * test to print when what went wrong depends on the order in which Temporal saw things.
 */
import type { Client } from '@temporalio/client';

function millis(time: { seconds?: unknown; nanos?: number | null } | null | undefined): number {
  return Number(time?.seconds ?? 0) * 1000 + Math.round((time?.nanos ?? 0) / 1e6);
}

export async function historyTimeline(client: Client, workflowIds: string[]): Promise<string> {
  const parts: string[] = [];
  for (const id of workflowIds) {
    try {
      const { events } = await client.workflow.getHandle(id).fetchHistory();
      const start = millis(events?.[0]?.eventTime);
      parts.push(`== ${id}`);
      for (const e of events ?? []) {
        // The attributes field names the event (`activityTaskScheduledEventAttributes`, …).
        const name =
          Object.keys(e)
            .find((k) => k.endsWith('EventAttributes') && (e as Record<string, unknown>)[k])
            ?.replace(/EventAttributes$/, '') ?? String(e.eventType);
        // Which worker took a task, and which attempt it was, tell a lost delivery from a slow one.
        const started = e.activityTaskStartedEventAttributes ?? e.workflowTaskStartedEventAttributes;
        const who = started
          ? ` by ${started.identity}${'attempt' in started ? ` attempt ${started.attempt}` : ''}`
          : '';
        parts.push(`  ${e.eventId} +${millis(e.eventTime) - start} ms ${name}${who}`);
      }
    } catch (error) {
      parts.push(`== ${id}: ${(error as Error).message}`);
    }
  }
  return parts.join('\n');
}
