/** The mail an image's owner gets when an admin approves or rejects it (rejections say why). */
import { dedupeKeys, type NewNotification, type Recipient } from './notification';
import { escapeHtml, htmlDocument } from './mailHtml';
import { scrubSecrets } from './scrubSecrets';

export interface ImageReviewFacts {
  imageId: string;
  name: string;
  tag: string;
  decision: 'approved' | 'rejected';
  /** The reviewer's reason; rejections always have one. */
  reason: string | null;
  reviewedAt: Date | null;
}

export function imageReviewedMail(facts: ImageReviewFacts, recipient: Recipient): NewNotification {
  const image = `${facts.name}:${facts.tag}`;
  const reason = facts.reason === null ? null : scrubSecrets(facts.reason);
  const path = `/v1/images/${facts.imageId}`;
  const outcome =
    facts.decision === 'approved'
      ? 'It can now serve your private evaluations: name its id as deployment.imageId.'
      : 'It cannot serve a private evaluation. Fix the URL or the Dockerfile and import it again.';
  const subject = `[Proctor] image ${image} ${facts.decision}`;
  const text = [
    `Your image ${image} was ${facts.decision}${facts.reviewedAt ? ` at ${facts.reviewedAt.toISOString()}` : ''}.`,
    ...(reason ? [`Reason: ${reason}`] : []),
    '',
    outcome,
    '',
    `Image: GET ${path}`,
    '',
  ].join('\n');
  const html = htmlDocument(subject, [
    `<p>Your image <strong>${escapeHtml(image)}</strong> was <strong>${facts.decision}</strong>` +
      `${facts.reviewedAt ? ` at ${facts.reviewedAt.toISOString()}` : ''}.</p>`,
    ...(reason ? [`<p>Reason: ${escapeHtml(reason)}</p>`] : []),
    `<p>${escapeHtml(outcome)}</p>`,
    `<p>Image: <code>GET ${escapeHtml(path)}</code></p>`,
  ]);
  return {
    kind: 'image-reviewed',
    recipient,
    dedupeKey: dedupeKeys.imageReviewed(facts.imageId, facts.decision),
    subject,
    text,
    html,
  };
}
