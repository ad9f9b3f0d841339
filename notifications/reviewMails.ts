/**
 * Mails of the manual evaluation: the owner learns that a run's subjective datasets wait for the
 * launch, reviewers are reminded of a review that waits too long, and the owner learns when the
 * reviewers are done. Links are API paths; nothing secret is quoted.
 */
import { dedupeKeys, type NewNotification, type Recipient } from './notification';
import { escapeHtml, htmlDocument } from './mailHtml';

export interface ReviewMailFacts {
  reviewId: string;
  runId: string;
  runVersion: number;
  modelName: string;
  datasets: string[];
}

export function manualEvaluationReadyMail(
  facts: ReviewMailFacts & { launchDeadline: Date },
  recipient: Recipient,
): NewNotification {
  const subject = `[Proctor] ${facts.modelName}: formal evaluation v${facts.runVersion} awaits its manual evaluation`;
  const deadline = facts.launchDeadline.toISOString();
  const text = [
    `Inference of formal evaluation v${facts.runVersion} of ${facts.modelName} is done.`,
    `Its subjective dataset(s) ${facts.datasets.join(', ')} are scored by reviewers once you launch the manual evaluation`,
    `(it takes one of your monthly manual evaluations). Launch it before ${deadline}; after that the run closes with`,
    'those datasets unscored.',
    '',
    `Launch: POST /v1/runs/${facts.runId}/manual-evaluation`,
    `Status: GET /v1/runs/${facts.runId}/manual-evaluation`,
    '',
  ].join('\n');
  const html = htmlDocument(subject, [
    `<p>Inference of formal evaluation v${facts.runVersion} of ${escapeHtml(facts.modelName)} is done. Its subjective dataset(s) ` +
      `${escapeHtml(facts.datasets.join(', '))} are scored by reviewers once you launch the manual evaluation (one of your monthly manual evaluations).</p>`,
    `<p>Launch it before <strong>${deadline}</strong>; after that the run closes with those datasets unscored.</p>`,
    `<p>Launch: <code>POST /v1/runs/${escapeHtml(facts.runId)}/manual-evaluation</code></p>`,
  ]);
  return {
    kind: 'manual-evaluation-ready',
    recipient,
    dedupeKey: dedupeKeys.manualEvaluationReady(facts.reviewId),
    subject,
    text,
    html,
  };
}

export function reviewReminderMail(
  facts: ReviewMailFacts & { number: number; waitingSince: Date; scored: number; total: number },
  recipient: Recipient,
): NewNotification {
  const subject = `[Proctor] Reminder: a manual review is waiting (${facts.scored}/${facts.total} answers scored)`;
  const text = [
    `A manual review has been waiting since ${facts.waitingSince.toISOString()}: ${facts.scored} of ${facts.total} answers are scored.`,
    `Datasets: ${facts.datasets.join(', ')}`,
    '',
    `Open it: GET /v1/reviews/${facts.reviewId}`,
    `Score answers: POST /v1/reviews/${facts.reviewId}/scores`,
    `Complete it once every answer is scored: POST /v1/reviews/${facts.reviewId}/complete`,
    '',
    `(reminder ${facts.number})`,
    '',
  ].join('\n');
  const html = htmlDocument(subject, [
    `<p>A manual review has been waiting since ${facts.waitingSince.toISOString()}: <strong>${facts.scored} of ${facts.total}</strong> answers are scored.</p>`,
    `<p>Datasets: ${escapeHtml(facts.datasets.join(', '))}</p>`,
    `<p>Open it: <code>GET /v1/reviews/${escapeHtml(facts.reviewId)}</code></p>`,
  ]);
  return {
    kind: 'review-reminder',
    recipient,
    dedupeKey: dedupeKeys.reviewReminder(facts.reviewId, facts.number, recipient.userId),
    subject,
    text,
    html,
  };
}

export function reviewCompletedMail(
  facts: ReviewMailFacts & { scores: { dataset: string; score: number; answers: number }[] },
  recipient: Recipient,
): NewNotification {
  const subject = `[Proctor] ${facts.modelName}: manual evaluation of v${facts.runVersion} completed`;
  const lines = facts.scores.map((s) => `  ${s.dataset}: ${s.score.toFixed(4)} over ${s.answers} reviewed answer(s)`);
  const text = [
    `Reviewers have scored every answer of formal evaluation v${facts.runVersion} of ${facts.modelName}.`,
    '',
    'Reviewed datasets (mean of points / 5, failed samples count 0):',
    ...lines,
    '',
    'The run now closes with these scores in its overall score and report.',
    `Run: GET /v1/runs/${facts.runId}`,
    '',
  ].join('\n');
  const html = htmlDocument(subject, [
    `<p>Reviewers have scored every answer of formal evaluation v${facts.runVersion} of ${escapeHtml(facts.modelName)}.</p>`,
    `<ul>${facts.scores.map((s) => `<li>${escapeHtml(s.dataset)}: <strong>${s.score.toFixed(4)}</strong> over ${s.answers} reviewed answer(s)</li>`).join('')}</ul>`,
    `<p>Run: <code>GET /v1/runs/${escapeHtml(facts.runId)}</code></p>`,
  ]);
  return {
    kind: 'review-completed',
    recipient,
    dedupeKey: dedupeKeys.reviewCompleted(facts.reviewId),
    subject,
    text,
    html,
  };
}
