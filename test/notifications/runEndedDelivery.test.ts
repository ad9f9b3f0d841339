/**
 * Run-ended mail end to end on the real machinery: runs executed by Temporal workers against the
 * reference model queue exactly one mail in the outbox, and a mail dispatcher delivers it to a real
 * SMTP server; a mail server that is down delays the mail and never the run.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { eq } from 'drizzle-orm';
import { pino } from 'pino';
import { notifications, runs, users } from '../../db/schema';
import { sealSecret } from '../../db/secretBox';
import { createRunLifecycleActivities } from '../../activities/runLifecycle';
import { queueRunEndedMail } from '../../activities/notifications/runEndedNotice';
import { createSmtpMailer } from '../../activities/notifications/smtpMailer';
import { startMailDispatcher, type MailDispatcher } from '../../workers/mailDispatcher';
import { insertArithmeticDataset, insertRun, insertUser } from '../support/runFixtures';
import { requireEnv } from '../support/env';
import { SMTP_PASSWORD, createSmtpSink, until, type SmtpSink } from './smtpSink';
import { startRunByHand } from '../support/workflowStarts';
import { useTestStack } from '../support/testStack';

const FROM = 'Proctor Tests <proctor@tests.example>';
const quiet = pino({ level: 'silent' });

const dispatchers: MailDispatcher[] = [];
const sinks: SmtpSink[] = [];
/** Everything the dispatchers logged, to prove the SMTP password never appears. */
let logText = '';

const stack = useTestStack({ db: true, temporal: true, workers: true, model: { skill: 1 } });

// Each test's dispatchers deliver to that test's SMTP server only.
afterEach(async () => {
  await Promise.all(dispatchers.splice(0).map((d) => d.stop()));
  await Promise.all(sinks.splice(0).map((s) => s.stop()));
});

afterAll(() => {
  expect(logText).not.toContain(SMTP_PASSWORD);
});

function dispatcherLogger() {
  return pino(
    { level: 'debug' },
    new Writable({
      write(chunk, _encoding, done) {
        logText += String(chunk);
        done();
      },
    }),
  );
}

function startDispatcher(sink: SmtpSink, schedule = { baseMs: 100, maxMs: 400, maxAttempts: 100 }): MailDispatcher {
  const dispatcher = startMailDispatcher({
    db: stack.db,
    logger: dispatcherLogger(),
    mailer: createSmtpMailer(sink.url, FROM),
    schedule,
    pollIntervalMs: 25,
  });
  dispatchers.push(dispatcher);
  return dispatcher;
}

async function newSink(): Promise<SmtpSink> {
  const sink = await createSmtpSink();
  sinks.push(sink);
  return sink;
}

async function newOwner(): Promise<{ id: string; email: string }> {
  const id = await insertUser(stack.db);
  const [row] = await stack.db.select({ email: users.email }).from(users).where(eq(users.id, id));
  return { id, email: row!.email };
}

async function runToEnd(runId: string) {
  const wf = await startRunByHand(stack.temporal, runId);
  return wf.result();
}

async function mailRows(runId: string) {
  return stack.db
    .select()
    .from(notifications)
    .where(eq(notifications.dedupeKey, `run-ended:${runId}`));
}

const secretKey = () => Buffer.from(requireEnv('PROCTOR_SECRET_KEY'), 'base64');

describe('the run-ended mail', () => {
  it('is queued once when a run ends and delivered to its owner with the scores', async () => {
    const owner = await newOwner();
    const secret = 'sk-mailtest-Qw8Rt5Yp2Lk7Zx4Nb6Vm';
    stack.model.resetKnobs();
    stack.model.setKnobs({ skill: 1, requiredApiKey: secret });
    const a = await insertArithmeticDataset(stack.db, 30, 'arithmetic');
    const b = await insertArithmeticDataset(stack.db, 20, 'sums');
    const runId = await insertRun(stack.db, {
      ownerId: owner.id,
      endpoint: stack.model.url,
      datasets: [a, b],
      apiKeyCipher: sealSecret(secretKey(), secret),
    });

    const result = await runToEnd(runId);
    expect(result).toEqual({ status: 'succeeded', overallScore: 1 });
    const [queued] = await mailRows(runId);
    expect(queued).toMatchObject({
      kind: 'run-ended',
      recipientId: owner.id,
      recipientEmail: owner.email,
      status: 'pending',
      attempts: 0,
    });

    // finishRun retried after it had queued the mail (a worker that died before reporting) queues nothing more.
    const lifecycle = createRunLifecycleActivities({ db: stack.db, logger: quiet, secretKey: secretKey() });
    await lifecycle.finishRun({ runId, outcome: 'completed' });
    expect(await queueRunEndedMail({ db: stack.db, logger: quiet }, runId)).toBe(false);
    expect(await mailRows(runId)).toHaveLength(1);

    const sink = await newSink();
    await sink.start();
    startDispatcher(sink);
    await until(async () => (await mailRows(runId))[0]!.status === 'sent', 'the run-ended mail is sent');

    const [sent] = await mailRows(runId);
    expect(sent).toMatchObject({ status: 'sent', attempts: 1, lastError: null });
    expect(sent!.sentAt).toBeInstanceOf(Date);
    const delivered = sink.mailsTo(owner.email);
    expect(delivered).toHaveLength(1);
    const mail = delivered[0]!;
    const [run] = await stack.db.select().from(runs).where(eq(runs.id, runId));
    const modelName = run!.config.modelName;
    expect(mail.from).toBe('proctor@tests.example');
    expect(mail.parsed.subject).toBe(`[Proctor] ${modelName}: formal evaluation v1 succeeded — overall score 1.0000`);
    expect(mail.parsed.text).toContain('Overall score: 1.0000');
    expect(mail.parsed.text).toContain(`${a.id} (arithmetic): succeeded, score 1.0000, 30/30 samples, 0 failed`);
    expect(mail.parsed.text).toContain(`Report: GET /v1/runs/${runId}/report.xlsx`);
    expect(mail.parsed.html).toContain('1.0000');
    expect(mail.parsed.messageId).toBe(`<${sent!.id}@tests.example>`);
    const whole = `${mail.parsed.subject}\n${mail.parsed.text}\n${mail.parsed.html}`;
    expect(whole).not.toContain(secret);
    expect(whole).not.toContain(stack.model.url);
  });

  it('of a run that failed says why, and carries no API key even when the endpoint echoed it', async () => {
    const owner = await newOwner();
    const sent = 'sk-mailtest-wrongKey-Hj3Kl9Pq1Ws8';
    stack.model.resetKnobs();
    stack.model.setKnobs({ skill: 1, requiredApiKey: 'sk-the-right-one-Aa1Bb2Cc3Dd4' });
    const ds = await insertArithmeticDataset(stack.db, 40);
    const runId = await insertRun(stack.db, {
      ownerId: owner.id,
      endpoint: stack.model.url,
      datasets: [ds],
      apiKeyCipher: sealSecret(secretKey(), sent),
      limits: { maxRetryPerQuery: 0 },
    });
    expect((await runToEnd(runId)).status).toBe('failed');

    const sink = await newSink();
    await sink.start();
    startDispatcher(sink);
    await until(() => sink.mailsTo(owner.email).length > 0, 'the failed run’s mail arrives');
    const mail = sink.mailsTo(owner.email)[0]!;
    expect(mail.parsed.subject).toMatch(/formal evaluation v1 failed$/);
    // A formal run meets the refused key at its readiness wait, before any dataset (docs/evaluation-modes.md).
    expect(mail.parsed.text).toMatch(/Error: endpoint not ready: listing its models failed: .*401/);
    expect(mail.parsed.text).toContain('the formal quota slot was given back');
    expect(mail.parsed.text).toMatch(new RegExp(`${ds.id} \\(arithmetic\\): failed, .* — .+`));
    const whole = `${mail.parsed.subject}\n${mail.parsed.text}\n${mail.parsed.html}`;
    expect(whole).not.toContain(sent);
    expect(whole).not.toMatch(/sk-[A-Za-z0-9_-]{16,}/);
  });

  it('of a verification is not queued unless verification mails are switched on', async () => {
    const owner = await newOwner();
    stack.model.resetKnobs();
    stack.model.setKnobs({ skill: 1 });
    const ds = await insertArithmeticDataset(stack.db, 10);
    const runId = await insertRun(stack.db, {
      ownerId: owner.id,
      endpoint: stack.model.url,
      datasets: [ds],
      type: 'verification',
      sampleIndices: [2, 5],
    });
    expect((await runToEnd(runId)).status).toBe('succeeded');
    expect(await mailRows(runId)).toHaveLength(0);

    expect(await queueRunEndedMail({ db: stack.db, logger: quiet }, runId, { notifyVerifications: true })).toBe(true);
    const [row] = await mailRows(runId);
    expect(row!.subject).toMatch(/: verification v1 succeeded — overall score 1\.0000$/);
  });

  it('waits out a mail server that is down: the run succeeds, the mail is tried with back-off and delivered once the server is up', async () => {
    const sink = await newSink(); // not started: its port refuses connections
    startDispatcher(sink, { baseMs: 100, maxMs: 400, maxAttempts: 1_000 });
    const owner = await newOwner();
    stack.model.resetKnobs();
    stack.model.setKnobs({ skill: 1 });
    const ds = await insertArithmeticDataset(stack.db, 25);
    const runId = await insertRun(stack.db, { ownerId: owner.id, endpoint: stack.model.url, datasets: [ds] });
    expect((await runToEnd(runId)).status).toBe('succeeded');

    await until(async () => (await mailRows(runId))[0]!.attempts >= 3, 'three tries against the closed port');
    const [waiting] = await mailRows(runId);
    expect(waiting!.status).toBe('pending');
    expect(waiting!.lastError).toMatch(/ECONNECTION|ECONNREFUSED/);
    expect(waiting!.lastError).not.toContain(SMTP_PASSWORD);

    await sink.start();
    await until(async () => (await mailRows(runId))[0]!.status === 'sent', 'the mail is sent once the server is up');
    expect(sink.mailsTo(owner.email)).toHaveLength(1);
    expect(sink.mailsTo(owner.email)[0]!.parsed.text).toContain('Overall score: 1.0000');
  });
});
