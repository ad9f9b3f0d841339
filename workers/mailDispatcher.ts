/**
 * Delivers the outbox (table `notifications`). Every worker process that serves the `runs` queue
 * runs one: each claims due mails with a lease (FOR UPDATE SKIP LOCKED), so several share the work
 * and no mail is sent by two at once. A try that fails is due again after a back-off that doubles
 * up to a cap; after the last allowed try the mail is marked failed with the server's last answer.
 * Nothing here can fail a run: runs only write the outbox.
 */
import type { Logger } from 'pino';
import type { Db } from '../db/client';
import { claimDueNotifications, markFailed, markSent, type NotificationRow } from '../db/queries/notifications';
import { DEFAULT_RETRY_SCHEDULE, retryDelayMs, type RetrySchedule } from '../notifications/retrySchedule';
import { describeMailError, type Mailer } from '../activities/notifications/smtpMailer';

export interface MailDispatcherOptions {
  db: Db;
  logger: Logger;
  mailer: Mailer;
  schedule?: RetrySchedule;
  /** How often the outbox is looked at when it had nothing due. */
  pollIntervalMs?: number;
  /** Mails claimed, and sent in parallel, at a time. */
  batchSize?: number;
  /** How long a claimed mail is left to its dispatcher before another may try it (must outlast one send). */
  leaseMs?: number;
}

export interface MailDispatcher {
  /** Stops looking for mail; resolves once the mails in hand have been tried and recorded. */
  stop(): Promise<void>;
}

const DEFAULTS = { pollIntervalMs: 5_000, batchSize: 10, leaseMs: 5 * 60_000 };

export function startMailDispatcher(o: MailDispatcherOptions): MailDispatcher {
  const schedule = o.schedule ?? DEFAULT_RETRY_SCHEDULE;
  const pollIntervalMs = o.pollIntervalMs ?? DEFAULTS.pollIntervalMs;
  const batchSize = o.batchSize ?? DEFAULTS.batchSize;
  const leaseMs = o.leaseMs ?? DEFAULTS.leaseMs;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let claimFailing = false;

  const deliver = async (row: NotificationRow): Promise<void> => {
    const context = { notificationId: row.id, kind: row.kind, attempt: row.attempts };
    try {
      await o.mailer.send({
        id: row.id,
        to: row.recipientEmail,
        subject: row.subject,
        text: row.textBody,
        html: row.htmlBody,
      });
    } catch (error) {
      const reason = describeMailError(error);
      const delay = retryDelayMs(row.attempts, schedule);
      try {
        await markFailed(o.db, row.id, reason, delay === null ? null : new Date(Date.now() + delay));
      } catch (recordError) {
        o.logger.warn(
          { ...context, err: recordError },
          'mail not delivered and the failure not recorded; it is tried again when its lease ends',
        );
        return;
      }
      if (delay === null) o.logger.error({ ...context, reason }, `mail given up after ${row.attempts} attempt(s)`);
      else o.logger.warn({ ...context, reason, retryInMs: delay }, 'mail not delivered; will try again');
      return;
    }
    try {
      await markSent(o.db, row.id);
    } catch (error) {
      // At least once: the lease will run out and the mail go again, under the same Message-ID.
      o.logger.warn({ ...context, err: error }, 'mail delivered but not recorded as sent; it may be sent again');
    }
  };

  /** Claims and sends until nothing is due; a full batch means there may be more. */
  const drain = async (): Promise<void> => {
    for (;;) {
      let rows: NotificationRow[];
      try {
        rows = await claimDueNotifications(o.db, batchSize, leaseMs);
        if (claimFailing) o.logger.info('mail outbox readable again');
        claimFailing = false;
      } catch (error) {
        if (!claimFailing) o.logger.warn({ err: error }, 'cannot read the mail outbox; will keep trying');
        claimFailing = true;
        return;
      }
      await Promise.all(rows.map(deliver));
      if (rows.length < batchSize || stopped) return;
    }
  };

  let current: Promise<void> = Promise.resolve();
  const loop = (): void => {
    timer = null;
    current = drain().finally(() => {
      if (!stopped) timer = setTimeout(loop, pollIntervalMs).unref();
    });
  };
  loop();

  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await current;
      o.mailer.close();
    },
  };
}
