/**
 * Visual question answers scored against the dataset's items: each question type's rule on right,
 * wrong and differently phrased answers, the output file's checks (parseVqaOutput), and the
 * dataset's score (scoreVqaDataset: accuracy over all questions, per type, per item).
 */
import { describe, expect, it } from 'vitest';
import type { DatasetItem } from '../../../contracts/dataset';
import {
  EXPECTED_VQA_OUTPUT,
  parseVqaOutput,
  scoreVqaAnswer,
  scoreVqaDataset,
  vqaQuestionOf,
  type VqaQuestion,
  type VqaQuestionType,
} from '../../../scoring/multimodal/vqaScoring';

const FOUR = ['1', '2', '3', '4'];
const COLOURS = ['red', 'orange', 'yellow', 'green', 'blue'];

function item(
  id: string,
  questionType: VqaQuestionType | string,
  groundTruth: string,
  choices?: string[],
): DatasetItem {
  return {
    id,
    prompt: `<image 1>\nquestion ${id}`,
    ground_truth: groundTruth,
    ...(choices ? { choices } : {}),
    metadata: { task: 'vqa', images: ['img-0000.png'], questionType },
  };
}

function question(questionType: VqaQuestionType, groundTruth: string, choices?: string[]): VqaQuestion {
  const q = vqaQuestionOf(item('q', questionType, groundTruth, choices));
  if ('problem' in q) throw new Error(q.problem);
  return q;
}

const correct = (answer: string, q: VqaQuestion) => scoreVqaAnswer(answer, q).correct;

describe('multiple-choice', () => {
  const q = question('multiple-choice', 'B', FOUR);

  it.each([
    'B',
    'b',
    '(B)',
    '[B]',
    'B.',
    'Answer: B',
    'answer: b',
    '**Answer:** **B**',
    'The answer is B.',
    'B. 2',
    '2',
  ])('reads %j as B', (answer) => {
    expect(scoreVqaAnswer(answer, q)).toEqual({ correct: true, reason: 'chose B' });
  });

  it.each(['A', '(C)', 'Answer: D', '1'])('marks %j wrong, saying what was chosen', (answer) => {
    const v = scoreVqaAnswer(answer, q);
    expect(v.correct).toBe(false);
    expect(v.reason).toMatch(/^chose [ACD], expected B$/);
  });

  it('takes a hedge ("B or C") for no answer', () => {
    expect(scoreVqaAnswer('Answer: B or C', q)).toEqual({
      correct: false,
      reason: 'the answer names several options (B, C), expected one',
    });
    expect(correct('A, C', q)).toBe(false);
    expect(correct('B or C', q)).toBe(false);
  });

  it('takes a letter beyond the options, or none at all, for no answer', () => {
    expect(scoreVqaAnswer('E', q).reason).toBe('no option letter found in the answer');
    expect(scoreVqaAnswer('', q).reason).toBe('no option letter found in the answer');
    expect(scoreVqaAnswer('I cannot tell.', q).correct).toBe(false);
  });

  it('reads the two-picture question by its option text', () => {
    const two = question('multiple-choice', 'A', ['the first picture', 'the second picture']);
    expect(correct('The first picture.', two)).toBe(true);
    expect(correct('the second picture', two)).toBe(false);
  });

  it('refuses a ground truth that is not one letter', () => {
    expect(scoreVqaAnswer('A', question('multiple-choice', 'A,B', FOUR))).toEqual({
      correct: false,
      reason: 'the ground truth "A,B" is not one option letter',
    });
  });
});

describe('multiple-response', () => {
  const q = question('multiple-response', 'A,C', COLOURS);

  it.each([
    'A,C',
    'A, C',
    'C,A',
    'C, A',
    'a, c',
    '(A) (C)',
    '(A), (C)',
    'A and C',
    'A; C',
    'A/C',
    'A C',
    'A, C.',
    'A, A, C',
    'Answer: C, A',
    'The answer is A and C.',
    'The colours are red and green.\nA, C',
    '**A, C**',
  ])('reads %j as A,C', (answer) => {
    expect(scoreVqaAnswer(answer, q)).toEqual({ correct: true, reason: 'chose A,C' });
  });

  it.each<[string, string]>([
    ['A', 'chose A, expected A,C'],
    ['A, B, C', 'chose A,B,C, expected A,C'],
    ['Answer: B, D', 'chose B,D, expected A,C'],
    ['AC', 'no list of option letters found in the answer'],
    ['red and green', 'no list of option letters found in the answer'],
    ['', 'no list of option letters found in the answer'],
    ['A, F', 'the answer names F, not among the 5 options'],
  ])('marks %j wrong: %s', (answer, reason) => {
    expect(scoreVqaAnswer(answer, q)).toEqual({ correct: false, reason });
  });

  it('takes a single-letter ground truth as a set of one', () => {
    expect(correct('(D)', question('multiple-response', 'D', COLOURS))).toBe(true);
  });

  it('refuses a ground truth that is not letters', () => {
    expect(scoreVqaAnswer('A', question('multiple-response', 'red', COLOURS)).reason).toBe(
      'the ground truth "red" is not a list of option letters',
    );
  });
});

describe('fill-in-the-blank', () => {
  const q = question('fill-in-the-blank', '3');

  it.each(['3', '3.0', '3.', ' 3 ', '+3', 'Answer: 3', 'The answer is 3.0', '**3**', '3e0'])(
    'takes %j as 3',
    (answer) => {
      expect(scoreVqaAnswer(answer, q)).toEqual({ correct: true, reason: 'answered 3' });
    },
  );

  it.each<[string, string]>([
    ['4', 'answered 4, expected 3'],
    ['3.5', 'answered 3.5, expected 3'],
    ['Answer: 30', 'answered 30, expected 3'],
    ['three', 'the answer is not one number, expected 3'],
    ['3 shapes', 'the answer is not one number, expected 3'],
    ['3 or 4', 'the answer is not one number, expected 3'],
    ['', 'the answer is not one number, expected 3'],
  ])('marks %j wrong: %s', (answer, reason) => {
    expect(scoreVqaAnswer(answer, q)).toEqual({ correct: false, reason });
  });

  it('compares grouped and decimal numbers by value', () => {
    expect(correct('1000', question('fill-in-the-blank', '1,000'))).toBe(true);
    expect(correct('0.50', question('fill-in-the-blank', '.5'))).toBe(true);
    expect(correct('-2', question('fill-in-the-blank', '2'))).toBe(false);
  });

  it('compares a text ground truth after normalisation, whole', () => {
    const text = question('fill-in-the-blank', 'Circle');
    expect(correct('circle', text)).toBe(true);
    expect(correct('"Circle."', text)).toBe(true);
    expect(correct('Answer: circle', text)).toBe(true);
    expect(scoreVqaAnswer('a circle', text)).toEqual({ correct: false, reason: '"a circle" is not "circle"' });
  });
});

describe('short-answer', () => {
  const q = question('short-answer', 'circle');

  it.each(['circle', 'Circle.', 'CIRCLE', 'a circle', 'A red circle.', 'Answer: circle', 'It is a circle'])(
    'credits %j',
    (answer) => {
      expect(correct(answer, q)).toBe(true);
    },
  );

  it.each(['square', 'circles', 'semicircle', 'circle-ish shape that is round and wide and big', ''])(
    'does not credit %j',
    (answer) => {
      expect(correct(answer, q)).toBe(false);
    },
  );

  it.each(['circle or square', 'not a circle', "isn't a circle", 'maybe a circle', 'no circle'])(
    'does not credit the hedge or denial %j',
    (answer) => {
      expect(scoreVqaAnswer(answer, q)).toEqual({
        correct: false,
        reason: 'the short answer contains "circle" but hedges or denies it',
      });
    },
  );

  it('credits containment only within SHORT_ANSWER_MAX_WORDS words', () => {
    expect(correct('The shape of the red object is a circle', q)).toBe(false);
    expect(correct('The red object: circle.', q)).toBe(true);
  });

  it('looks for the hedge outside the ground truth itself', () => {
    expect(correct('the answer: not sure', question('short-answer', 'not sure'))).toBe(true);
  });

  it('gives scripts without spaces equality only', () => {
    const zh = question('short-answer', '圆');
    expect(correct('圆', zh)).toBe(true);
    expect(correct('红色的圆', zh)).toBe(false);
  });

  it('takes a number ground truth by value, or contained', () => {
    const n = question('short-answer', '4');
    expect(correct('4.0', n)).toBe(true);
    expect(correct('4 bars', n)).toBe(true);
    expect(correct('14 bars', n)).toBe(false);
  });
});

describe('yes-no', () => {
  const yes = question('yes-no', 'yes');
  const no = question('yes-no', 'No');

  it.each(['yes', 'Yes.', 'YES', '**Yes**', 'Yes, there is.', 'True', 'Answer: yes', '是', '是的', '对'])(
    'reads %j as yes',
    (answer) => {
      expect(scoreVqaAnswer(answer, yes)).toEqual({ correct: true, reason: 'answered yes' });
      expect(scoreVqaAnswer(answer, no)).toEqual({ correct: false, reason: 'answered yes, expected no' });
    },
  );

  it.each(['no', 'No.', 'No, it is not', 'no, there is no red circle', 'false', '否', '不是', '不对', 'Answer: No'])(
    'reads %j as no',
    (answer) => {
      expect(correct(answer, no)).toBe(true);
      expect(correct(answer, yes)).toBe(false);
    },
  );

  it('takes the answer statement over the working before it', () => {
    expect(correct('There is no doubt: I looked closely.\nAnswer: yes', yes)).toBe(true);
    expect(correct('Yes, I see shapes. The answer is no.', no)).toBe(true);
  });

  it('finds no answer in words that only contain yes or no', () => {
    expect(scoreVqaAnswer('I do not know', yes)).toEqual({
      correct: false,
      reason: 'no yes/no word found in the answer',
    });
    expect(correct('Nobody knows', no)).toBe(false);
  });

  it('refuses a ground truth that is not yes or no', () => {
    expect(scoreVqaAnswer('yes', question('yes-no', 'maybe')).reason).toBe('the ground truth "maybe" is not yes or no');
  });
});

describe('vqaQuestionOf', () => {
  it('names an item with a missing or unknown question type', () => {
    expect(vqaQuestionOf({ id: 'x', prompt: 'p', ground_truth: 'A' })).toEqual({
      problem:
        'item "x" has metadata.questionType missing; expected one of multiple-choice, multiple-response, fill-in-the-blank, short-answer, yes-no',
    });
    expect(vqaQuestionOf(item('y', 'essay', 'A'))).toEqual({ problem: expect.stringContaining('"essay"') });
  });
});

describe('parseVqaOutput', () => {
  it('reads string and integer ids, and number or boolean answers as their JSON text', () => {
    expect(
      parseVqaOutput([
        { question_id: '20', answer: 'B' },
        { question_id: 21, answer: 3, extra: 'ignored' },
        { question_id: 'x', answer: true },
        { question_id: 'y', answer: '' },
      ]),
    ).toEqual({
      ok: true,
      entries: [
        { questionId: '20', answer: 'B' },
        { questionId: '21', answer: '3' },
        { questionId: 'x', answer: 'true' },
        { questionId: 'y', answer: '' },
      ],
    });
    expect(parseVqaOutput([])).toEqual({ ok: true, entries: [] });
  });

  it.each<[string, unknown, string]>([
    ['an object', { question_id: '1', answer: 'A' }, 'vqa.json is an object, not a list'],
    ['text', 'A', 'vqa.json is text, not a list'],
    ['null', null, 'vqa.json is null, not a list'],
    ['an entry that is text', [{ question_id: '1', answer: 'A' }, 'B'], 'vqa.json[1] is text, not an object'],
    ['an entry that is a list', [['1', 'A']], 'vqa.json[0] is a list, not an object'],
    ['an entry that is null', [null], 'vqa.json[0] is null, not an object'],
    ['a missing id', [{ answer: 'A' }], 'vqa.json[0].question_id is missing, not a string or an integer'],
    ['a fractional id', [{ question_id: 1.5, answer: 'A' }], 'vqa.json[0].question_id is a number, not a string'],
    ['an id that is a list', [{ question_id: [1], answer: 'A' }], 'vqa.json[0].question_id is a list'],
    ['a missing answer', [{ question_id: '1' }], 'vqa.json[0].answer (question "1") is missing, not a string'],
    ['a null answer', [{ question_id: 2, answer: null }], 'vqa.json[0].answer (question "2") is null, not a string'],
    [
      'an object answer',
      [{ question_id: '1', answer: { text: 'A' } }],
      'vqa.json[0].answer (question "1") is an object',
    ],
    [
      'an id listed twice',
      [
        { question_id: '7', answer: 'A' },
        { question_id: '8', answer: 'A' },
        { question_id: 7, answer: 'B' },
      ],
      'vqa.json[2].question_id "7" is listed twice (also vqa.json[0])',
    ],
  ])('refuses %s, naming the entry', (_, value, problem) => {
    const parsed = parseVqaOutput(value, 'vqa.json');
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.problem).toContain(problem);
    expect(parsed.problem.endsWith(`; ${EXPECTED_VQA_OUTPUT}`)).toBe(true);
  });

  it('refuses a non-finite number answer', () => {
    expect(parseVqaOutput([{ question_id: '1', answer: Infinity }]).ok).toBe(false);
  });
});

describe('scoreVqaDataset', () => {
  const items = [
    item('q0', 'multiple-choice', 'B', FOUR),
    item('q1', 'multiple-choice', 'A', FOUR),
    item('q2', 'multiple-response', 'A,C', COLOURS),
    item('q3', 'fill-in-the-blank', '3'),
    item('q4', 'short-answer', 'circle'),
    item('q5', 'yes-no', 'no'),
  ];

  it('scores every question, counting one without an answer wrong', () => {
    const result = scoreVqaDataset(items, [
      { questionId: 'q5', answer: 'No, it is not' },
      { questionId: 'q0', answer: 'Answer: B' },
      { questionId: 'q1', answer: '(C)' },
      { questionId: 'q2', answer: 'C,A' },
      { questionId: 'q3', answer: '3.0' },
      { questionId: 'extra', answer: 'A' },
      { questionId: 'q0x', answer: 'A' },
    ]);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const { score } = result;
    expect(score).toMatchObject({
      total: 6,
      correct: 4,
      accuracy: 4 / 6,
      missing: ['q4'],
      unknownIds: ['extra', 'q0x'],
    });
    expect(score.byType).toEqual({
      'multiple-choice': { total: 2, correct: 1, accuracy: 0.5 },
      'multiple-response': { total: 1, correct: 1, accuracy: 1 },
      'fill-in-the-blank': { total: 1, correct: 1, accuracy: 1 },
      'short-answer': { total: 1, correct: 0, accuracy: 0 },
      'yes-no': { total: 1, correct: 1, accuracy: 1 },
    });
    expect(score.items).toEqual([
      { index: 0, id: 'q0', questionType: 'multiple-choice', answer: 'Answer: B', correct: true, reason: 'chose B' },
      {
        index: 1,
        id: 'q1',
        questionType: 'multiple-choice',
        answer: '(C)',
        correct: false,
        reason: 'chose C, expected A',
      },
      { index: 2, id: 'q2', questionType: 'multiple-response', answer: 'C,A', correct: true, reason: 'chose A,C' },
      { index: 3, id: 'q3', questionType: 'fill-in-the-blank', answer: '3.0', correct: true, reason: 'answered 3' },
      {
        index: 4,
        id: 'q4',
        questionType: 'short-answer',
        answer: null,
        correct: false,
        reason: 'the output has no answer for this question',
      },
      { index: 5, id: 'q5', questionType: 'yes-no', answer: 'No, it is not', correct: true, reason: 'answered no' },
    ]);
  });

  it('scores an empty output as all wrong, and an empty dataset as 0', () => {
    const none = scoreVqaDataset(items, []);
    expect(none.ok && none.score).toMatchObject({ total: 6, correct: 0, accuracy: 0 });
    expect(none.ok && none.score.missing).toEqual(['q0', 'q1', 'q2', 'q3', 'q4', 'q5']);
    const empty = scoreVqaDataset([], [{ questionId: 'q0', answer: 'B' }]);
    expect(empty).toEqual({
      ok: true,
      score: { total: 0, correct: 0, accuracy: 0, items: [], byType: {}, missing: [], unknownIds: ['q0'] },
    });
  });

  it('takes parseVqaOutput integer ids to match string item ids', () => {
    const parsed = parseVqaOutput([{ question_id: 20, answer: 'yes' }]);
    if (!parsed.ok) throw new Error(parsed.problem);
    const result = scoreVqaDataset([item('20', 'yes-no', 'yes')], parsed.entries);
    expect(result.ok && result.score.accuracy).toBe(1);
  });

  it('refuses a dataset with an item that is no VQA question, naming it', () => {
    expect(scoreVqaDataset([...items, item('bad', 'essay', 'x')], [])).toEqual({
      ok: false,
      problem: expect.stringMatching(/^dataset item 6: item "bad" has metadata.questionType "essay"; expected one of/),
    });
  });
});
