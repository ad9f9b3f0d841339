/**
 * Image review mail through the HTTP API: an admin's approval and rejection each queue one mail to
 * the image's owner, delivered by the dispatcher to a real SMTP server, the rejection with its reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { like } from 'drizzle-orm';
import { pino } from 'pino';
import { notifications } from '../../db/schema';
import { createSmtpMailer } from '../../activities/notifications/smtpMailer';
import { startMailDispatcher, type MailDispatcher } from '../../workers/mailDispatcher';
import { startApi, type TestApi } from '../support/apiServer';
import { createSmtpSink, until, type SmtpSink } from './smtpSink';

let api: TestApi;
let sink: SmtpSink;
let dispatcher: MailDispatcher;
let owner: { id: string; apiKey: string };
let ownerEmail: string;

beforeAll(async () => {
  api = await startApi();
  owner = await api.createUser('user');
  ownerEmail = (await api.request('GET', '/v1/me', { key: owner.apiKey })).body.email;
  sink = await createSmtpSink();
  await sink.start();
  dispatcher = startMailDispatcher({
    db: api.deps.db,
    logger: pino({ level: 'silent' }),
    mailer: createSmtpMailer(sink.url, 'Proctor <proctor@tests.example>'),
    schedule: { baseMs: 50, maxMs: 200, maxAttempts: 50 },
    pollIntervalMs: 25,
  });
});

afterAll(async () => {
  await dispatcher?.stop();
  await sink?.stop();
  await api?.close();
});

async function importImage(): Promise<{ id: string; name: string }> {
  const name = `mail-image-${randomUUID().slice(0, 8)}`;
  const res = await api.request('POST', '/v1/images', {
    key: owner.apiKey,
    body: {
      name,
      tag: 'v1',
      url: 'nvcr.io/nvidia/pytorch:23.03-py3',
      dockerfile: 'FROM nvcr.io/nvidia/pytorch:23.03-py3\n',
      domains: ['nlp'],
    },
  });
  expect(res.status, res.text).toBe(201);
  return { id: res.body.id, name };
}

async function mailRows(imageId: string) {
  return api.deps.db
    .select()
    .from(notifications)
    .where(like(notifications.dedupeKey, `image-reviewed:${imageId}:%`));
}

function mailsAbout(name: string) {
  return sink.mailsTo(ownerEmail).filter((m) => m.parsed.subject?.includes(name));
}

describe('image review mail', () => {
  it('tells the owner their image was approved, once', async () => {
    const image = await importImage();
    const res = await api.request('POST', `/v1/images/${image.id}/approve`, { key: api.adminKey });
    expect(res.status, res.text).toBe(200);
    // A second review is refused and queues nothing.
    expect((await api.request('POST', `/v1/images/${image.id}/approve`, { key: api.adminKey })).status).toBe(409);

    await until(() => mailsAbout(image.name).length > 0, 'the approval mail arrives');
    const rows = await mailRows(image.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      kind: 'image-reviewed',
      recipientId: owner.id,
      recipientEmail: ownerEmail,
      dedupeKey: `image-reviewed:${image.id}:approved`,
    });
    await until(async () => (await mailRows(image.id))[0]!.status === 'sent', 'the approval mail is recorded as sent');

    const [mail] = mailsAbout(image.name);
    expect(mailsAbout(image.name)).toHaveLength(1);
    expect(mail!.parsed.subject).toBe(`[Proctor] image ${image.name}:v1 approved`);
    expect(mail!.parsed.text).toContain(`Your image ${image.name}:v1 was approved at `);
    expect(mail!.parsed.text).toContain(`Image: GET /v1/images/${image.id}`);
  });

  it('tells the owner their image was rejected, with the reviewer’s reason', async () => {
    const image = await importImage();
    const reason = 'ENV sets NCCL_DEBUG, which the container provides; remove it and import again';
    const res = await api.request('POST', `/v1/images/${image.id}/reject`, { key: api.adminKey, body: { reason } });
    expect(res.status, res.text).toBe(200);

    await until(() => mailsAbout(image.name).length > 0, 'the rejection mail arrives');
    const [mail] = mailsAbout(image.name);
    expect(mail!.parsed.subject).toBe(`[Proctor] image ${image.name}:v1 rejected`);
    expect(mail!.parsed.text).toContain(`Reason: ${reason}`);
    expect(mail!.parsed.html).toContain('Reason: ENV sets NCCL_DEBUG');
    expect(await mailRows(image.id)).toHaveLength(1);
  });
});
