/**
 * Starting a run's workflow, the one Temporal call that two layers make: the API at launch, and the
 * launch sweep's activity for a run whose launch was cut off before it. Both start it the same way,
 * so the workflow ID, task queue and search attributes stay in one place.
 */
import { WorkflowIdReusePolicy, type SearchAttributePair } from '@temporalio/common';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { SEARCH_ATTRIBUTE_KEYS, TASK_QUEUES, WORKFLOW_TYPES, workflowIds } from '../temporal.config';
import type { RunWorkflowInput } from '../contracts/workflow';
import type { runEvaluation } from '../workflows/runEvaluation';
import type { Domain } from '../contracts/domain';
import type { RunStatus, RunType } from '../contracts/run';

export interface RunToStart {
  runId: string;
  domain: Domain;
  modelName: string;
  /** The evaluation owner's user ID: stable and unique, unlike display names. */
  ownerId: string;
  type: RunType;
  status: RunStatus;
  /** For the Temporal UI's summary and details (absent: the summary says less). */
  version?: number;
  datasets?: string[];
}

/** The one line the Temporal UI shows for the run: what runs, on what, for whom. */
export function runSummary(run: RunToStart): string {
  const kind = run.type === 'formal' ? 'formal run' : run.type;
  return `${kind}${run.version === undefined ? '' : ` v${run.version}`} of ${run.modelName} (${run.domain}, ${run.datasets?.length ?? '?'} dataset(s))`;
}

/** The details pane (Markdown): ids an operator looks up, and the datasets in the order they run. */
export function runDetails(run: RunToStart): string {
  return [
    `**Run** \`${run.runId}\``,
    `**Owner** \`${run.ownerId}\` (user id)`,
    `**Datasets**, in order: ${run.datasets?.map((d) => `\`${d}\``).join(', ') ?? 'see the run'}`,
    `Progress and results: \`GET /v1/runs/${run.runId}\`; this workflow's current details show the dataset in progress.`,
  ].join('\n\n');
}

/**
 * Starts the run's workflow; the ID is derived from the run, so a second start is refused by the
 * server. That refusal is a success here: copies of one launch (an Idempotency-Key retry racing the
 * first request, or the launch sweep) each try to start the workflow, and whichever comes second
 * finds it running.
 */
export async function startRunWorkflow(
  client: Client,
  run: RunToStart,
): Promise<{ workflowId: string; alreadyStarted: boolean }> {
  const workflowId = workflowIds.run(run.runId);
  const input: RunWorkflowInput = { runId: run.runId };
  const typedSearchAttributes: SearchAttributePair[] = [
    { key: SEARCH_ATTRIBUTE_KEYS.domain, value: run.domain },
    { key: SEARCH_ATTRIBUTE_KEYS.modelName, value: run.modelName },
    { key: SEARCH_ATTRIBUTE_KEYS.owner, value: run.ownerId },
    { key: SEARCH_ATTRIBUTE_KEYS.runType, value: run.type },
    { key: SEARCH_ATTRIBUTE_KEYS.status, value: run.status },
  ];
  try {
    await client.workflow.start<typeof runEvaluation>(WORKFLOW_TYPES.run, {
      workflowId,
      taskQueue: TASK_QUEUES.runs,
      args: [input],
      typedSearchAttributes,
      staticSummary: runSummary(run),
      staticDetails: runDetails(run),
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    });
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) return { workflowId, alreadyStarted: true };
    throw error;
  }
  return { workflowId, alreadyStarted: false };
}
