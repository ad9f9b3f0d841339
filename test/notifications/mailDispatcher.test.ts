/**
 * The mail dispatcher against a real SMTP server: several dispatchers share the outbox and send
 * every mail exactly once; refusals (4xx and 5xx) and a closed port are retried with back-off; an
 * address that keeps failing is given up after the last attempt with the server's answer recorded.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { inArray } from 'drizzle-orm';
import { pino } from 'pino';
import { notifications } from '../../db/schema';
import { claimDueNotifications, queueNotification } from '../../db/queries/notifications';
import { createSmtpMailer } from '../../activities/notifications/smtpMailer';
import { startMailDispatcher, type MailDispatcher } from '../../workers/mailDispatcher';
import type { RetrySchedule } from '../../notifications/retrySchedule';
import { insertUser } from '../support/runFixtures';
import { createSmtpSink, until, type SmtpSink } from './smtpSink';
import { useTestStack } from '../support/testStack';

const stack = useTestStack({ db: { max: 20 } });
let userId: string;
const dispatchers: MailDispatcher[] = [];
const sinks: SmtpSink[] = [];

beforeAll(async () => {
  userId = await insertUser(stack.db);
});

afterEach(async () => {
  await Promise.all(dispatchers.splice(0).map((d) => d.stop()));
  await Promise.all(sinks.splice(0).map((s) => s.stop()));
});

async function newSink(): Promise<SmtpSink> {
  const sink = await createSmtpSink();
  sinks.push(sink);
  return sink;
}

function startDispatcher(sink: SmtpSink, schedule: RetrySchedule, batchSize = 4): MailDispatcher {
  const dispatcher = startMailDispatcher({
    db: stack.db,
    logger: pino({ level: 'silent' }),
    mailer: createSmtpMailer(sink.url, 'proctor@tests.example'),
    schedule,
    pollIntervalMs: 20,
    batchSize,
  });
  dispatchers.push(dispatcher);
  return dispatcher;
}

/** Queues one mail per address (a test mail of kind run-ended under a dedupe key of its own). */
async function queueMails(addresses: string[]): Promise<string[]> {
  const keys: string[] = [];
  for (const email of addresses) {
    const dedupeKey = `run-ended:test-${randomUUID()}`;
    keys.push(dedupeKey);
    await queueNotification(stack.db, {
      kind: 'run-ended',
      recipient: { userId, email },
      dedupeKey,
      subject: `test mail to ${email}`,
      text: `hello ${email}`,
      html: null,
    });
  }
  return keys;
}

async function rows(keys: string[]) {
  return stack.db.select().from(notifications).where(inArray(notifications.dedupeKey, keys));
}

const address = (label: string) => `${label}-${randomUUID().slice(0, 8)}@example.test`;

describe('the mail dispatcher', () => {
  it('delivers every mail exactly once with two dispatchers at work, including mails queued while the server was down', async () => {
    const sink = await newSink();
    const schedule = { baseMs: 50, maxMs: 200, maxAttempts: 1_000 };
    startDispatcher(sink, schedule);
    startDispatcher(sink, schedule);
    const early = Array.from({ length: 20 }, (_, i) => address(`early${i}`));
    const earlyKeys = await queueMails(early);
    await until(
      async () => (await rows(earlyKeys)).every((r) => r.lastError !== null),
      'every early mail tried against the closed port',
    );
    expect(
      (await rows(earlyKeys)).every(
        (r) => r.status === 'pending' && /ECONNREFUSED|ECONNECTION/.test(r.lastError ?? ''),
      ),
    ).toBe(true);

    await sink.start();
    const late = Array.from({ length: 20 }, (_, i) => address(`late${i}`));
    const keys = [...earlyKeys, ...(await queueMails(late))];
    await until(async () => (await rows(keys)).every((r) => r.status === 'sent'), 'all 40 mails sent');

    for (const to of [...early, ...late]) expect(sink.mailsTo(to), to).toHaveLength(1);
    // Nothing at all went out twice (a mail sent again would repeat its Message-ID).
    expect(new Set(sink.received.map((m) => m.parsed.messageId)).size).toBe(sink.received.length);
  });

  it('retries a 4xx or 5xx refusal with a back-off that doubles, then delivers', async () => {
    const sink = await newSink();
    await sink.start();
    const busy = address('busy');
    const misconfigured = address('relay');
    const refusals = new Map<string, number>();
    sink.rejectRecipients((to) => {
      const seen = refusals.get(to) ?? 0;
      refusals.set(to, seen + 1);
      if (to === busy && seen < 3) return { code: 451, message: '4.3.0 Mailbox busy, try again later' };
      if (to === misconfigured && seen < 2) return { code: 554, message: '5.7.1 Relay access denied' };
      return null;
    });
    const schedule = { baseMs: 150, maxMs: 400, maxAttempts: 10 };
    startDispatcher(sink, schedule);
    const keys = await queueMails([busy, misconfigured]);
    await until(
      async () => (await rows(keys)).every((r) => r.status === 'sent'),
      'both mails sent after their refusals',
    );

    const [busyRow, relayRow] = [...(await rows(keys))].sort((a, b) =>
      a.recipientEmail === busy ? -1 : b.recipientEmail === busy ? 1 : 0,
    );
    expect(busyRow).toMatchObject({ recipientEmail: busy, attempts: 4 });
    expect(busyRow!.lastError).toMatch(/451 4\.3\.0 Mailbox busy/);
    expect(relayRow).toMatchObject({ recipientEmail: misconfigured, attempts: 3 });
    expect(relayRow!.lastError).toMatch(/554 5\.7\.1 Relay access denied/);
    expect(sink.mailsTo(busy)).toHaveLength(1);
    expect(sink.mailsTo(misconfigured)).toHaveLength(1);

    // A try comes no sooner than its back-off allows: 150, 300, then 400 ms (the cap) after the one before.
    const tries = sink.recipientsTried.filter((t) => t.address === busy).map((t) => t.at);
    expect(tries).toHaveLength(4);
    const gaps = tries.slice(1).map((at, i) => at - tries[i]!);
    expect(gaps[0]).toBeGreaterThanOrEqual(150);
    expect(gaps[1]).toBeGreaterThanOrEqual(300);
    expect(gaps[2]).toBeGreaterThanOrEqual(400);
  });

  it('gives up an address that keeps failing after the last attempt, with the server’s answer readable', async () => {
    const sink = await newSink();
    await sink.start();
    const gone = address('gone');
    sink.rejectRecipients((to) =>
      to === gone ? { code: 550, message: '5.1.1 <' + to + '>: mailbox unavailable' } : null,
    );
    startDispatcher(sink, { baseMs: 20, maxMs: 80, maxAttempts: 3 });
    const keys = await queueMails([gone]);
    await until(async () => (await rows(keys))[0]!.status === 'failed', 'the mail is given up');

    const [row] = await rows(keys);
    expect(row).toMatchObject({ status: 'failed', attempts: 3, sentAt: null });
    expect(row!.lastError).toContain(`550 5.1.1 <${gone}>: mailbox unavailable`);
    expect(sink.recipientsTried.filter((t) => t.address === gone)).toHaveLength(3);
    expect(sink.mailsTo(gone)).toHaveLength(0);
  });

  it('claims: two concurrent claims never take the same mail, and a claimed mail is not due again until its lease ends', async () => {
    const keys = await queueMails(Array.from({ length: 12 }, (_, i) => address(`claim${i}`)));
    const [first, second] = await Promise.all([
      claimDueNotifications(stack.db, 1_000, 60_000),
      claimDueNotifications(stack.db, 1_000, 60_000),
    ]);
    const firstIds = new Set(first.map((r) => r.id));
    expect(second.filter((r) => firstIds.has(r.id))).toEqual([]);
    const mine = (await rows(keys)).map((r) => r.id);
    const claimed = new Set([...first, ...second].map((r) => r.id));
    expect(mine.every((id) => claimed.has(id))).toBe(true);
    expect((await rows(keys)).every((r) => r.attempts === 1 && r.nextAttemptAt.getTime() > Date.now() + 30_000)).toBe(
      true,
    );

    const again = await claimDueNotifications(stack.db, 1_000, 60_000);
    expect(again.filter((r) => mine.includes(r.id))).toEqual([]);
  });
});
