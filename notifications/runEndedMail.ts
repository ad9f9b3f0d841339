/**
 * The mail an owner gets when a run ends: what ran, how it ended, the scores, how long it took, and
 * where to look next. Links are API paths; the owner's client knows the server. It holds no secret:
 * the endpoint (whose URL may carry credentials) and the API key are left out, and free text is
 * scrubbed.
 */
import type { RunStatus, RunType } from '../contracts/run';
import type { TaskScore } from '../scoring/scoreAggregation';
import { dedupeKeys, type NewNotification, type Recipient } from './notification';
import { escapeHtml, htmlDocument, htmlTable } from './mailHtml';
import { scrubSecrets } from './scrubSecrets';

export interface RunEndedFacts {
  runId: string;
  evaluationId: string;
  modelName: string;
  type: RunType;
  version: number;
  status: Extract<RunStatus, 'succeeded' | 'failed' | 'stopped'>;
  overallScore: number | null;
  taskScores: TaskScore[];
  datasets: DatasetFacts[];
  startedAt: Date | null;
  endedAt: Date | null;
  /** Why it failed, or who stopped it and why. */
  error: string | null;
  /** An inference-only run: answers stored, not scored, exported as predictions. Absent: scored. */
  inferenceOnly?: boolean;
}

export interface DatasetFacts {
  datasetId: string;
  task: string;
  status: RunStatus;
  total: number;
  done: number;
  failed: number;
  /** Null when the dataset never got metrics (stopped or failed before it began). */
  score: number | null;
  error: string | null;
}

const RUN_TYPE_NAMES: Record<RunType, string> = { formal: 'formal evaluation', verification: 'verification' };

export function runEndedMail(facts: RunEndedFacts, recipient: Recipient): NewNotification {
  const kind = facts.inferenceOnly ? `inference-only ${RUN_TYPE_NAMES[facts.type]}` : RUN_TYPE_NAMES[facts.type];
  const what = `${kind} v${facts.version} of ${facts.modelName}`;
  const scorePart = facts.overallScore === null ? '' : ` — overall score ${score(facts.overallScore)}`;
  const subject = `[Proctor] ${facts.modelName}: ${kind} v${facts.version} ${facts.status}${scorePart}`;
  const noScore = facts.inferenceOnly
    ? 'none (inference only: answers stored, not scored)'
    : 'none (no dataset succeeded)';
  const error = facts.error === null ? null : scrubSecrets(facts.error);
  const links = runLinks(facts);

  const text: string[] = [`Your ${what} has ${facts.status}.`, ''];
  text.push(`Overall score: ${facts.overallScore === null ? noScore : score(facts.overallScore)}`);
  if (error) text.push(`${facts.status === 'stopped' ? 'Reason' : 'Error'}: ${error}`);
  text.push(`Started: ${when(facts.startedAt)}`, `Ended: ${when(facts.endedAt)}${took(facts)}`);
  if (facts.taskScores.length > 0) {
    text.push('', 'Tasks:');
    for (const t of facts.taskScores)
      text.push(`  ${t.task}: ${score(t.score)} (${t.datasets} dataset${t.datasets === 1 ? '' : 's'})`);
  }
  text.push('', 'Datasets:');
  for (const d of facts.datasets) text.push(`  ${datasetLine(d)}`);
  text.push('', ...links.map(([label, path]) => `${label}: GET ${path}`), '');

  const html = htmlDocument(subject, [
    `<p>Your ${escapeHtml(what)} has <strong>${facts.status}</strong>.</p>`,
    `<p>Overall score: <strong>${facts.overallScore === null ? noScore : score(facts.overallScore)}</strong><br>` +
      (error ? `${facts.status === 'stopped' ? 'Reason' : 'Error'}: ${escapeHtml(error)}<br>` : '') +
      `Started: ${when(facts.startedAt)}<br>Ended: ${when(facts.endedAt)}${took(facts)}</p>`,
    htmlTable([
      ['Dataset', 'Task', 'Status', 'Score', 'Samples', 'Failed', 'Error'],
      ...facts.datasets.map((d) => [
        escapeHtml(d.datasetId),
        escapeHtml(d.task),
        d.status,
        d.score === null ? '—' : score(d.score),
        `${d.done}/${d.total}`,
        String(d.failed),
        d.error ? escapeHtml(scrubSecrets(d.error)) : '',
      ]),
    ]),
    `<p>${links.map(([label, path]) => `${label}: <code>GET ${escapeHtml(path)}</code>`).join('<br>')}</p>`,
  ]);

  return {
    kind: 'run-ended',
    recipient,
    dedupeKey: dedupeKeys.runEnded(facts.runId),
    subject,
    text: text.join('\n'),
    html,
  };
}

function runLinks(facts: RunEndedFacts): [string, string][] {
  const run = `/v1/runs/${facts.runId}`;
  return [
    ['Run', run],
    ['Report', `${run}/report.xlsx`],
    ['Results', `${run}/results`],
    ...(facts.inferenceOnly ? [['Predictions', `${run}/predictions`] as [string, string]] : []),
    ['Logs', `${run}/logs`],
    ['Evaluation', `/v1/evaluations/${facts.evaluationId}`],
  ];
}

function datasetLine(d: DatasetFacts): string {
  const parts = [`${d.datasetId} (${d.task}): ${d.status}`];
  if (d.score !== null) parts.push(`score ${score(d.score)}`);
  parts.push(`${d.done}/${d.total} samples`, `${d.failed} failed`);
  return parts.join(', ') + (d.error ? ` — ${scrubSecrets(d.error)}` : '');
}

function score(value: number): string {
  return value.toFixed(4);
}

function when(at: Date | null): string {
  return at === null ? '—' : at.toISOString();
}

function took(facts: RunEndedFacts): string {
  if (!facts.startedAt || !facts.endedAt) return '';
  const seconds = Math.max(0, Math.round((facts.endedAt.getTime() - facts.startedAt.getTime()) / 1000));
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const parts = h > 0 ? [`${h} h`, `${m} min`] : m > 0 ? [`${m} min`, `${s} s`] : [`${s} s`];
  return ` (took ${parts.join(' ')})`;
}
