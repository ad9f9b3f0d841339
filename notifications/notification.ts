/**
 * A mail in the outbox (table `notifications`): composed when its event happens and stored with the
 * recipient's address as it was then, so the dispatcher only has to deliver it. The dedupe key
 * names the event, so queueing the same event twice (a retried activity, a repeated request) stores
 * one mail.
 */
export const NOTIFICATION_KINDS = [
  'run-ended',
  'image-reviewed',
  'manual-evaluation-ready',
  'review-reminder',
  'review-completed',
] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

/** pending → sent, or pending → failed once the attempts run out. */
export const NOTIFICATION_STATUSES = ['pending', 'sent', 'failed'] as const;
export type NotificationStatus = (typeof NOTIFICATION_STATUSES)[number];

export interface Recipient {
  userId: string;
  email: string;
}

export interface MailContent {
  subject: string;
  text: string;
  /** An HTML alternative of the same content; mail clients fall back to the text. */
  html: string | null;
}

export interface NewNotification extends MailContent {
  kind: NotificationKind;
  recipient: Recipient;
  dedupeKey: string;
}

/** One mail per event: a run ends once; an image is approved or rejected once per decision. */
export const dedupeKeys = {
  runEnded: (runId: string) => `run-ended:${runId}`,
  imageReviewed: (imageId: string, decision: 'approved' | 'rejected') => `image-reviewed:${imageId}:${decision}`,
  /** Manual review (docs/manual-review.md): the owner is told once the launch is open and once reviewers are done; each reminder to a reviewer is its own event. */
  manualEvaluationReady: (reviewId: string) => `manual-evaluation-ready:${reviewId}`,
  reviewReminder: (reviewId: string, number: number, recipientId: string) =>
    `review-reminder:${reviewId}:${number}:${recipientId}`,
  reviewCompleted: (reviewId: string) => `review-completed:${reviewId}`,
};
