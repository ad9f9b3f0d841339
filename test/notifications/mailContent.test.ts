/**
 * The mails' content (pure): what the run-ended and image-reviewed mails say, that no credential
 * reaches them, the retry schedule, and the mail settings read from the environment.
 */
import { describe, expect, it } from 'vitest';
import { runEndedMail, type RunEndedFacts } from '../../notifications/runEndedMail';
import { imageReviewedMail } from '../../notifications/imageReviewedMail';
import { scrubSecrets } from '../../notifications/scrubSecrets';
import { DEFAULT_RETRY_SCHEDULE, retryDelayMs } from '../../notifications/retrySchedule';
import { ConfigError, loadMailSettings } from '../../config/env';

const recipient = { userId: '5b0a1c3e-0000-4000-8000-000000000001', email: 'ada@example.org' };
const RUN_ID = '0f9e8d7c-1111-4222-8333-444455556666';
const EVALUATION_ID = 'aa11bb22-3333-4444-8555-666677778888';
const MODEL_KEY = 'sk-proj-Zx81mQ7vLw3nT0pBq5rYc2Hd';

function facts(overrides: Partial<RunEndedFacts> = {}): RunEndedFacts {
  return {
    runId: RUN_ID,
    evaluationId: EVALUATION_ID,
    modelName: 'my-first-model',
    type: 'formal',
    version: 3,
    status: 'succeeded',
    overallScore: 0.8125,
    taskScores: [
      { task: 'arithmetic', score: 0.875, datasets: 1 },
      { task: 'units', score: 0.75, datasets: 1 },
    ],
    datasets: [
      {
        datasetId: 'arith-basic',
        task: 'arithmetic',
        status: 'succeeded',
        total: 200,
        done: 200,
        failed: 3,
        score: 0.875,
        error: null,
      },
      {
        datasetId: 'unit-conversion',
        task: 'units',
        status: 'succeeded',
        total: 100,
        done: 100,
        failed: 0,
        score: 0.75,
        error: null,
      },
    ],
    startedAt: new Date('2026-03-01T10:00:00Z'),
    endedAt: new Date('2026-03-01T11:02:05Z'),
    error: null,
    ...overrides,
  };
}

describe('the run-ended mail', () => {
  it('names the model, run, status and scores, and points at the run and its report', () => {
    const mail = runEndedMail(facts(), recipient);
    expect(mail).toMatchObject({ kind: 'run-ended', recipient, dedupeKey: `run-ended:${RUN_ID}` });
    expect(mail.subject).toBe('[Proctor] my-first-model: formal evaluation v3 succeeded — overall score 0.8125');
    expect(mail.text).toContain('Your formal evaluation v3 of my-first-model has succeeded.');
    expect(mail.text).toContain('Overall score: 0.8125');
    expect(mail.text).toContain('arithmetic: 0.8750 (1 dataset)');
    expect(mail.text).toContain('arith-basic (arithmetic): succeeded, score 0.8750, 200/200 samples, 3 failed');
    expect(mail.text).toContain('unit-conversion (units): succeeded, score 0.7500, 100/100 samples, 0 failed');
    expect(mail.text).toContain('Started: 2026-03-01T10:00:00.000Z');
    expect(mail.text).toContain('Ended: 2026-03-01T11:02:05.000Z (took 1 h 2 min)');
    expect(mail.text).toContain(`Run: GET /v1/runs/${RUN_ID}\n`);
    expect(mail.text).toContain(`Report: GET /v1/runs/${RUN_ID}/report.xlsx`);
    expect(mail.text).toContain(`Evaluation: GET /v1/evaluations/${EVALUATION_ID}`);
    expect(mail.text).not.toMatch(/Error:|Reason:/);
    expect(mail.html).toMatch(
      /<td[^>]*>arith-basic<\/td><td[^>]*>arithmetic<\/td><td[^>]*>succeeded<\/td><td[^>]*>0\.8750<\/td>/,
    );
  });

  it('calls an inference-only run so, says why it has no score, and points at its predictions', () => {
    const mail = runEndedMail(
      facts({
        inferenceOnly: true,
        overallScore: null,
        taskScores: [],
        datasets: facts().datasets.map((d) => ({ ...d, score: null })),
      }),
      recipient,
    );
    expect(mail.subject).toBe('[Proctor] my-first-model: inference-only formal evaluation v3 succeeded');
    expect(mail.text).toContain('Your inference-only formal evaluation v3 of my-first-model has succeeded.');
    expect(mail.text).toContain('Overall score: none (inference only: answers stored, not scored)');
    expect(mail.text).toContain('arith-basic (arithmetic): succeeded, 200/200 samples, 3 failed');
    expect(mail.text).toContain(`Predictions: GET /v1/runs/${RUN_ID}/predictions\n`);
    expect(mail.html).toContain('none (inference only: answers stored, not scored)');
    // A scored run's mail has no predictions link.
    expect(runEndedMail(facts(), recipient).text).not.toContain('/predictions');
  });

  it('says why a failed run failed, per dataset too, and has no overall score when nothing succeeded', () => {
    const mail = runEndedMail(
      facts({
        status: 'failed',
        overallScore: null,
        taskScores: [],
        error: 'no dataset succeeded',
        datasets: [
          {
            datasetId: 'arith-basic',
            task: 'arithmetic',
            status: 'failed',
            total: 200,
            done: 12,
            failed: 12,
            score: 0,
            error: 'endpoint unusable: connection refused',
          },
          {
            datasetId: 'unit-conversion',
            task: 'units',
            status: 'failed',
            total: 100,
            done: 0,
            failed: 0,
            score: null,
            error: 'no dataset succeeded',
          },
        ],
      }),
      recipient,
    );
    expect(mail.subject).toBe('[Proctor] my-first-model: formal evaluation v3 failed');
    expect(mail.text).toContain('Overall score: none (no dataset succeeded)');
    expect(mail.text).toContain('Error: no dataset succeeded');
    expect(mail.text).toContain(
      'arith-basic (arithmetic): failed, score 0.0000, 12/200 samples, 12 failed — endpoint unusable: connection refused',
    );
    expect(mail.text).toContain('unit-conversion (units): failed, 0/100 samples, 0 failed — no dataset succeeded');
  });

  it('gives a stopped run its reason and a verification its name', () => {
    const mail = runEndedMail(
      facts({
        type: 'verification',
        version: 1,
        status: 'stopped',
        error: 'stopped by ada: wrong datasets',
        startedAt: new Date('2026-03-01T10:00:00Z'),
        endedAt: new Date('2026-03-01T10:00:07Z'),
      }),
      recipient,
    );
    expect(mail.subject).toBe('[Proctor] my-first-model: verification v1 stopped — overall score 0.8125');
    expect(mail.text).toContain('Reason: stopped by ada: wrong datasets');
    expect(mail.text).toContain('(took 7 s)');
  });

  it('carries no credential that reached an error message, in the text or the HTML', () => {
    const mail = runEndedMail(
      facts({
        status: 'failed',
        error: `endpoint https://admin:hunter2pass@models.example.org/v1 refused key ${MODEL_KEY}`,
        datasets: [
          {
            datasetId: 'arith-basic',
            task: 'arithmetic',
            status: 'failed',
            total: 10,
            done: 10,
            failed: 10,
            score: 0,
            error: `HTTP 401: Incorrect API key provided: ${MODEL_KEY}; sent Authorization: Bearer ${MODEL_KEY}`,
          },
        ],
      }),
      recipient,
    );
    for (const body of [mail.subject, mail.text, mail.html ?? '']) {
      expect(body).not.toContain(MODEL_KEY);
      expect(body).not.toMatch(/sk-[A-Za-z0-9_-]{16,}/);
      expect(body).not.toContain('hunter2pass');
    }
    expect(mail.text).toContain('Incorrect API key provided: [redacted]');
    expect(mail.text).toContain('https://[redacted]@models.example.org/v1');
  });

  it('escapes what it puts in HTML', () => {
    const mail = runEndedMail(facts({ status: 'failed', error: '<script>alert(1)</script> & more' }), recipient);
    expect(mail.html).not.toContain('<script>');
    expect(mail.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; more');
    expect(mail.text).toContain('<script>alert(1)</script> & more');
  });
});

describe('the image-reviewed mail', () => {
  const image = {
    imageId: 'c0ffee00-1111-4222-8333-444455556666',
    name: 'my-image',
    tag: 'v1.0',
    reviewedAt: new Date('2026-03-02T08:00:00Z'),
  };

  it('tells an approval and what the image can now do', () => {
    const mail = imageReviewedMail({ ...image, decision: 'approved', reason: null }, recipient);
    expect(mail).toMatchObject({
      kind: 'image-reviewed',
      dedupeKey: `image-reviewed:${image.imageId}:approved`,
      subject: '[Proctor] image my-image:v1.0 approved',
    });
    expect(mail.text).toContain('Your image my-image:v1.0 was approved at 2026-03-02T08:00:00.000Z.');
    expect(mail.text).toContain('deployment.imageId');
    expect(mail.text).toContain(`Image: GET /v1/images/${image.imageId}`);
    expect(mail.text).not.toContain('Reason:');
  });

  it('tells a rejection with the reviewer’s reason', () => {
    const mail = imageReviewedMail(
      { ...image, decision: 'rejected', reason: 'ENV sets CUDA_VISIBLE_DEVICES; remove it' },
      recipient,
    );
    expect(mail.dedupeKey).toBe(`image-reviewed:${image.imageId}:rejected`);
    expect(mail.subject).toBe('[Proctor] image my-image:v1.0 rejected');
    expect(mail.text).toContain('Reason: ENV sets CUDA_VISIBLE_DEVICES; remove it');
    expect(mail.html).toContain('Reason: ENV sets CUDA_VISIBLE_DEVICES; remove it');
  });
});

describe('scrubSecrets', () => {
  it('redacts credential shapes and leaves ordinary text alone', () => {
    expect(scrubSecrets(`key ${MODEL_KEY}.`)).toBe('key [redacted].');
    expect(scrubSecrets('Authorization: Bearer abc.def-123')).toBe('Authorization: Bearer [redacted]');
    expect(scrubSecrets('upload with pup_AbCdEfGhIjKlMnOpQrStUv')).toBe('upload with [redacted]');
    expect(scrubSecrets('admin key pk_0123456789abcdefABCDEF')).toBe('admin key [redacted]');
    expect(scrubSecrets('GET https://h.example/v1?api_key=s3cr3t&x=1')).toBe(
      'GET https://h.example/v1?api_key=[redacted]&x=1',
    );
    expect(scrubSecrets('smtp://mailer:pa55@mail.example:587')).toBe('smtp://[redacted]@mail.example:587');
    expect(scrubSecrets('model sk-llama ended: 12/12 scored')).toBe('model sk-llama ended: 12/12 scored');
  });
});

describe('the retry schedule', () => {
  it('doubles from the base up to the cap and stops after the last attempt', () => {
    const schedule = { baseMs: 30_000, maxMs: 3_600_000, maxAttempts: 12 };
    expect([1, 2, 3, 7, 8, 11].map((n) => retryDelayMs(n, schedule))).toEqual([
      30_000, 60_000, 120_000, 1_920_000, 3_600_000, 3_600_000,
    ]);
    expect(retryDelayMs(12, schedule)).toBeNull();
    expect(retryDelayMs(1, { ...schedule, maxAttempts: 1 })).toBeNull();
  });

  it('by default keeps trying for about a day', () => {
    let total = 0;
    for (let attempt = 1; ; attempt++) {
      const delay = retryDelayMs(attempt, DEFAULT_RETRY_SCHEDULE);
      if (delay === null) break;
      total += delay;
    }
    expect(total / 3_600_000).toBeGreaterThan(20);
    expect(total / 3_600_000).toBeLessThan(26);
  });
});

describe('mail settings', () => {
  it('are off by default, with verification mails off', () => {
    const mail = loadMailSettings({});
    expect(mail.smtpUrl).toBeNull();
    expect(mail.notifyVerifications).toBe(false);
    expect(mail.maxAttempts).toBe(30);
    expect(mail.from).toMatch(/^Proctor <proctor@.+>$/);
  });

  it('read the SMTP URL, sender, verification switch and attempts', () => {
    expect(
      loadMailSettings({
        PROCTOR_SMTP_URL: 'smtp://u:p@mail.example:587',
        PROCTOR_MAIL_FROM: 'Evals <evals@example.org>',
        PROCTOR_NOTIFY_VERIFICATIONS: 'true',
        PROCTOR_MAIL_MAX_ATTEMPTS: '5',
      }),
    ).toEqual({
      smtpUrl: 'smtp://u:p@mail.example:587',
      from: 'Evals <evals@example.org>',
      notifyVerifications: true,
      maxAttempts: 5,
    });
  });

  it('refuse bad values naming the variable, without echoing a password', () => {
    const bad = (env: Record<string, string>) => {
      try {
        loadMailSettings(env);
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as Error).message;
      }
      throw new Error('accepted');
    };
    const urlMessage = bad({ PROCTOR_SMTP_URL: 'http://u:topsecret@mail.example' });
    expect(urlMessage).toMatch(/^PROCTOR_SMTP_URL must be smtp:/);
    expect(urlMessage).not.toContain('topsecret');
    expect(bad({ PROCTOR_MAIL_FROM: 'nobody' })).toMatch(/^PROCTOR_MAIL_FROM must be an address/);
    expect(bad({ PROCTOR_NOTIFY_VERIFICATIONS: 'sometimes' })).toMatch(
      /^PROCTOR_NOTIFY_VERIFICATIONS must be true or false/,
    );
    expect(bad({ PROCTOR_MAIL_MAX_ATTEMPTS: '0' })).toMatch(
      /^PROCTOR_MAIL_MAX_ATTEMPTS must be an integer from 1 to 1000/,
    );
  });
});
