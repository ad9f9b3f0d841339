/** The pure parts of manual review: its settings, the rubric's normalisation, the mails, and the zh-open-qa items. */
import { describe, expect, it } from 'vitest';
import { Value } from '@sinclair/typebox/value';
import { ConfigError, loadReviewSettings } from '../../config/env';
import { normalisedPoints, RUBRIC_MAX, RUBRIC_MIN, RUBRIC_SCALE } from '../../contracts/review';
import { DatasetItem } from '../../contracts/dataset';
import { manualEvaluationReadyMail, reviewCompletedMail, reviewReminderMail } from '../../notifications/reviewMails';
import { findBuiltinDataset, BUILTIN_DATASET_IDS, builtinDatasetRecords } from '../../datasets/builtinCatalog';
import { ZH_OPEN_QA_ID } from '../../datasets/builtin/zhOpenQa';
import { scoreSample } from '../../scoring/metrics';

describe('review settings', () => {
  it('default to a 14-day launch window and 48-hour reminders, and take fractions', () => {
    expect(loadReviewSettings({})).toEqual({ launchWindowMs: 14 * 86_400_000, reminderAfterMs: 48 * 3_600_000 });
    expect(
      loadReviewSettings({ PROCTOR_MANUAL_EVALUATION_WINDOW_DAYS: '0.5', PROCTOR_REVIEW_REMINDER_HOURS: '0.001' }),
    ).toEqual({
      launchWindowMs: 43_200_000,
      reminderAfterMs: 3_600,
    });
  });

  it('refuse what is not a span of at least a second, naming the variable', () => {
    for (const [name, value] of [
      ['PROCTOR_MANUAL_EVALUATION_WINDOW_DAYS', '0'],
      ['PROCTOR_MANUAL_EVALUATION_WINDOW_DAYS', 'two weeks'],
      ['PROCTOR_MANUAL_EVALUATION_WINDOW_DAYS', '4000'],
      ['PROCTOR_REVIEW_REMINDER_HOURS', '-1'],
      ['PROCTOR_REVIEW_REMINDER_HOURS', '0.0001'],
    ] as const) {
      expect(() => loadReviewSettings({ [name]: value }), `${name}=${value}`).toThrow(ConfigError);
      expect(() => loadReviewSettings({ [name]: value })).toThrow(new RegExp(`^${name} must be a number of`));
    }
  });
});

describe('the rubric', () => {
  it('maps whole points 0–5 onto [0, 1] and describes every point', () => {
    expect([0, 1, 2, 3, 4, 5].map(normalisedPoints)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(RUBRIC_SCALE).toHaveLength(RUBRIC_MAX - RUBRIC_MIN + 1);
    RUBRIC_SCALE.forEach((line, points) => expect(line.startsWith(`${points}: `)).toBe(true));
  });
});

describe('zh-open-qa', () => {
  const dataset = findBuiltinDataset(ZH_OPEN_QA_ID)!;
  const items = dataset.generate();

  it('is a subjective built-in of 40 Chinese open questions, each with a reference answer and a rubric', () => {
    expect(dataset).toMatchObject({ domain: 'nlp', task: 'zh-open-qa', metric: 'rouge_l', size: 40, subjective: true });
    expect(BUILTIN_DATASET_IDS.has(ZH_OPEN_QA_ID)).toBe(true);
    expect(builtinDatasetRecords().find((r) => r.id === ZH_OPEN_QA_ID)).toMatchObject({ subjective: true, items });
    expect(items).toHaveLength(40);
    expect(new Set(items.map((i) => i.prompt)).size).toBe(40);
    items.forEach((item, i) => {
      expect(Value.Check(DatasetItem, item)).toBe(true);
      expect(item.id).toBe(`zh-open-qa-${String(i + 1).padStart(4, '0')}`);
      expect(item.prompt).toMatch(/^请用中文回答下面的问题，回答要准确、完整、条理清楚。\n问题：.+[？?。]$/s);
      expect(item.ground_truth.length).toBeGreaterThan(20);
      expect(typeof item.metadata?.rubric).toBe('string');
      // Scored without reviewers (base models), the reference answer is a perfect answer and an unrelated one is not.
      expect(scoreSample('rouge_l', item.ground_truth, { ground_truth: item.ground_truth })).toBe(1);
      expect(scoreSample('rouge_l', 'I am the Proctor reference model.', { ground_truth: item.ground_truth })).toBe(0);
    });
  });
});

describe('review mails', () => {
  const facts = {
    reviewId: 'a6f1b2c3-0000-4000-8000-000000000001',
    runId: 'b6f1b2c3-0000-4000-8000-000000000002',
    runVersion: 3,
    modelName: 'zh-sft-7b',
    datasets: [ZH_OPEN_QA_ID],
  };
  const recipient = { userId: 'c6f1b2c3-0000-4000-8000-000000000003', email: 'someone@example.test' };

  it('tell the owner where and until when to launch', () => {
    const mail = manualEvaluationReadyMail({ ...facts, launchDeadline: new Date('2026-12-07T10:00:00Z') }, recipient);
    expect(mail).toMatchObject({
      kind: 'manual-evaluation-ready',
      dedupeKey: `manual-evaluation-ready:${facts.reviewId}`,
    });
    expect(mail.subject).toBe('[Proctor] zh-sft-7b: formal evaluation v3 awaits its manual evaluation');
    expect(mail.text).toContain('before 2026-12-07T10:00:00.000Z');
    expect(mail.text).toContain(`POST /v1/runs/${facts.runId}/manual-evaluation`);
  });

  it('remind each reviewer once per reminder, with the progress and the way in', () => {
    const mail = reviewReminderMail(
      { ...facts, number: 2, waitingSince: new Date('2026-11-20T00:00:00Z'), scored: 12, total: 40 },
      recipient,
    );
    expect(mail.kind).toBe('review-reminder');
    expect(mail.dedupeKey).toBe(`review-reminder:${facts.reviewId}:2:${recipient.userId}`);
    expect(mail.subject).toBe('[Proctor] Reminder: a manual review is waiting (12/40 answers scored)');
    expect(mail.text).toContain(`GET /v1/reviews/${facts.reviewId}`);
    // Reviews are blind: a reminder does not say whose model it is.
    expect(`${mail.subject}${mail.text}${mail.html}`).not.toContain('zh-sft-7b');
  });

  it('tell the owner the reviewed scores once the review is done', () => {
    const mail = reviewCompletedMail(
      { ...facts, scores: [{ dataset: ZH_OPEN_QA_ID, score: 0.725, answers: 40 }] },
      recipient,
    );
    expect(mail).toMatchObject({ kind: 'review-completed', dedupeKey: `review-completed:${facts.reviewId}` });
    expect(mail.text).toContain('zh-open-qa: 0.7250 over 40 reviewed answer(s)');
    expect(mail.html).toContain('<strong>0.7250</strong>');
  });
});
