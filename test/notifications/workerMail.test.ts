/**
 * The worker process (workers/main.ts) runs the mail dispatcher when it serves the runs queue and
 * PROCTOR_SMTP_URL is set, stops it on shutdown, and otherwise says once that mail is off.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { notifications } from '../../db/schema';
import { queueNotification } from '../../db/queries/notifications';
import { insertUser } from '../support/runFixtures';
import { startWorkerProcess, type WorkerProcess } from '../support/workerProcess';
import { SMTP_PASSWORD, createSmtpSink, until, type SmtpSink } from './smtpSink';
import { useTestStack } from '../support/testStack';

const stack = useTestStack({ db: true });
let sink: SmtpSink;
const processes: WorkerProcess[] = [];

beforeAll(async () => {
  sink = await createSmtpSink();
  await sink.start();
});

afterAll(async () => {
  await Promise.all(processes.map((p) => p.kill()));
  await sink?.stop();
});

describe('the worker process', () => {
  it('delivers the outbox through PROCTOR_SMTP_URL and stops its dispatcher on SIGTERM', async () => {
    const worker = await startWorkerProcess({
      PROCTOR_WORKER_QUEUES: 'runs',
      PROCTOR_SMTP_URL: sink.url,
      PROCTOR_MAIL_FROM: 'Proctor <proctor@worker.example>',
    });
    processes.push(worker);
    const userId = await insertUser(stack.db);
    const to = `worker-${randomUUID().slice(0, 8)}@example.test`;
    const dedupeKey = `run-ended:worker-test-${randomUUID()}`;
    await queueNotification(stack.db, {
      kind: 'run-ended',
      recipient: { userId, email: to },
      dedupeKey,
      subject: 'from the worker process',
      text: 'hello',
      html: null,
    });

    await until(() => sink.mailsTo(to).length > 0, 'the worker process sends the mail');
    await until(
      async () =>
        (await stack.db.select().from(notifications).where(eq(notifications.dedupeKey, dedupeKey)))[0]!.status ===
        'sent',
      'recorded as sent',
    );
    expect(sink.mailsTo(to)[0]!.from).toBe('proctor@worker.example');

    await worker.kill('SIGTERM');
    expect(worker.child.exitCode).toBe(0);
    const log = worker.output();
    expect(log).toMatch(/"msg":"mail on"/);
    expect(log).toContain(`"smtp":"smtp://127.0.0.1:${sink.port}"`);
    expect(log).toContain('worker stopped');
    expect(log).not.toContain(SMTP_PASSWORD);
  });

  it('says once that mail is off when no SMTP server is set', async () => {
    const worker = await startWorkerProcess({ PROCTOR_WORKER_QUEUES: 'runs', PROCTOR_SMTP_URL: '' });
    processes.push(worker);
    await worker.kill('SIGTERM');
    expect(worker.output().match(/mail is off \(PROCTOR_SMTP_URL is not set\)/g)).toHaveLength(1);
  });
});
