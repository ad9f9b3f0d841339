/**
 * Events per workflow execution of a run: the run workflow, and every execution of each dataset
 * workflow (a dataset continues as new, so one workflow ID is a chain of executions). The chain is
 * walked backwards from the latest execution through each start event's `continuedExecutionRunId`,
 * and checked against the executions Temporal lists for the ID.
 */
import type { Client } from '@temporalio/client';
import { workflowIds } from '../temporal.config';

export interface ExecutionEvents {
  workflowId: string;
  runId: string;
  events: number;
}

export async function runHistoryCounts(
  client: Client,
  runId: string,
  datasetIds: readonly string[],
): Promise<{ executions: ExecutionEvents[]; listed: number }> {
  const executions: ExecutionEvents[] = [];
  let listed = 0;
  for (const workflowId of [workflowIds.run(runId), ...datasetIds.map((d) => workflowIds.dataset(runId, d))]) {
    let executionRunId: string | undefined = (await client.workflow.getHandle(workflowId).describe()).runId;
    const chain: ExecutionEvents[] = [];
    while (executionRunId) {
      const history: Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['fetchHistory']>> =
        await client.workflow.getHandle(workflowId, executionRunId).fetchHistory();
      const events = history.events ?? [];
      chain.push({ workflowId, runId: executionRunId, events: events.length });
      executionRunId = events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
    }
    executions.push(...chain.reverse());
    for await (const _ of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) listed += 1;
  }
  return { executions, listed };
}

export interface BatchTiming {
  scheduledMs: number;
  startedMs: number;
  closedMs: number;
}

/** When each batch activity of a dataset was scheduled, started and closed, over every execution of its chain. */
export async function batchTimeline(
  client: Client,
  executions: readonly ExecutionEvents[],
  workflowId: string,
): Promise<BatchTiming[]> {
  const batches: BatchTiming[] = [];
  for (const execution of executions.filter((e) => e.workflowId === workflowId)) {
    const history = await client.workflow.getHandle(workflowId, execution.runId).fetchHistory();
    const scheduled = new Map<string, BatchTiming>();
    for (const event of history.events ?? []) {
      const at = eventMs(event.eventTime);
      const id = String(event.eventId);
      if (event.activityTaskScheduledEventAttributes?.activityType?.name === 'inferBatch') {
        const timing = { scheduledMs: at, startedMs: NaN, closedMs: NaN };
        scheduled.set(id, timing);
        batches.push(timing);
      }
      const started = event.activityTaskStartedEventAttributes?.scheduledEventId;
      if (started !== undefined && started !== null) {
        const timing = scheduled.get(String(started));
        if (timing) timing.startedMs = at;
      }
      const closed =
        event.activityTaskCompletedEventAttributes?.scheduledEventId ??
        event.activityTaskFailedEventAttributes?.scheduledEventId;
      if (closed !== undefined && closed !== null) {
        const timing = scheduled.get(String(closed));
        if (timing) timing.closedMs = at;
      }
    }
  }
  return batches;
}

function eventMs(time: { seconds?: unknown; nanos?: number | null } | null | undefined): number {
  if (!time) return NaN;
  return Number(time.seconds ?? 0) * 1000 + (time.nanos ?? 0) / 1e6;
}

/** Where a dataset's wall time went: inside batches, waiting for a worker, and between batches. */
export function describeBatches(batches: readonly BatchTiming[]): string {
  if (batches.length === 0) return 'no batches';
  let running = 0;
  let queued = 0;
  let between = 0;
  for (let i = 0; i < batches.length; i++) {
    const b = batches[i]!;
    running += b.closedMs - b.startedMs;
    queued += b.startedMs - b.scheduledMs;
    if (i > 0) between += b.scheduledMs - batches[i - 1]!.closedMs;
  }
  const span = batches[batches.length - 1]!.closedMs - batches[0]!.scheduledMs;
  return (
    `${batches.length} batches over ${(span / 1000).toFixed(2)} s: running ${(running / 1000).toFixed(2)} s ` +
    `(mean ${(running / batches.length).toFixed(0)} ms), waiting for a worker ${(queued / 1000).toFixed(2)} s, ` +
    `between batches ${(between / 1000).toFixed(2)} s (mean ${(between / Math.max(1, batches.length - 1)).toFixed(0)} ms)`
  );
}

export interface Phase {
  what: string;
  fromMs: number;
  toMs: number;
}

/**
 * The activities and children of the given executions, in order, as offsets from `originMs` (a
 * wall-clock time on this machine, like the server's event times): where a run's time went
 * before its first batch and after its last.
 */
export async function phaseTimeline(
  client: Client,
  executions: readonly ExecutionEvents[],
  originMs: number,
): Promise<Phase[]> {
  const phases: Phase[] = [];
  for (const execution of executions) {
    const history = await client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
    const open = new Map<string, Phase>();
    const short = execution.workflowId.includes('-dataset-') ? 'dataset' : 'run';
    for (const event of history.events ?? []) {
      const at = eventMs(event.eventTime) - originMs;
      const id = String(event.eventId);
      if (event.workflowExecutionStartedEventAttributes)
        phases.push({ what: `${short} workflow started`, fromMs: at, toMs: at });
      const type = event.activityTaskScheduledEventAttributes?.activityType?.name;
      if (type) {
        const phase = { what: `${short}: ${type}`, fromMs: at, toMs: NaN };
        open.set(id, phase);
        phases.push(phase);
      }
      const local = localActivityPhase(event.markerRecordedEventAttributes, originMs);
      if (local) phases.push({ ...local, what: `${short}: ${local.what}` });
      if (event.startChildWorkflowExecutionInitiatedEventAttributes) {
        const phase = { what: `${short}: child workflow`, fromMs: at, toMs: NaN };
        open.set(id, phase);
        phases.push(phase);
      }
      const closedId =
        event.activityTaskCompletedEventAttributes?.scheduledEventId ??
        event.activityTaskFailedEventAttributes?.scheduledEventId ??
        event.childWorkflowExecutionCompletedEventAttributes?.initiatedEventId ??
        event.childWorkflowExecutionFailedEventAttributes?.initiatedEventId;
      if (closedId !== undefined && closedId !== null) {
        const phase = open.get(String(closedId));
        if (phase) phase.toMs = at;
      }
      if (event.workflowExecutionCompletedEventAttributes || event.workflowExecutionContinuedAsNewEventAttributes) {
        phases.push({
          what: `${short} workflow ${event.workflowExecutionCompletedEventAttributes ? 'completed' : 'continued as new'}`,
          fromMs: at,
          toMs: at,
        });
      }
    }
  }
  return phases.sort((a, b) => a.fromMs - b.fromMs);
}

/**
 * A local activity leaves no events of its own, only a marker whose details say what ran and when
 * it completed (patch local-bookkeeping: the lifecycle steps); its start is not recorded (the
 * marker's original_schedule_time is when the marker was written), so it shows as an instant.
 */
function localActivityPhase(
  marker:
    | {
        markerName?: string | null;
        details?: Record<string, { payloads?: { data?: Uint8Array | null }[] | null }> | null;
      }
    | null
    | undefined,
  originMs: number,
): Phase | null {
  if (marker?.markerName !== 'core_local_activity') return null;
  const data = marker.details?.data?.payloads?.[0]?.data;
  if (!data) return null;
  const info = JSON.parse(Buffer.from(data).toString('utf8')) as {
    activity_type?: string;
    complete_time?: { seconds: number; nanos: number };
  };
  const done = eventMs(info.complete_time) - originMs;
  return { what: `${info.activity_type ?? 'local activity'} (local) done`, fromMs: done, toMs: done };
}

/** The phases before the first batch and after the last, on one line. */
export function describePhases(phases: readonly Phase[]): string {
  const s = (ms: number) => (ms / 1000).toFixed(2);
  const batches = phases.filter((p) => p.what.endsWith('inferBatch'));
  const outside = phases.filter((p) => !p.what.endsWith('inferBatch') && !p.what.endsWith('child workflow'));
  const first = batches[0];
  const last = batches[batches.length - 1];
  const parts = outside.map((p) =>
    p.fromMs === p.toMs ? `${p.what} ${s(p.fromMs)}` : `${p.what} ${s(p.fromMs)}–${s(p.toMs)}`,
  );
  return `seconds from launch: ${parts.join('; ')}${first && last ? `; batches ${s(first.fromMs)}–${s(last.toMs)}` : ''}`;
}
