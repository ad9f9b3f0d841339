/**
 * Scoring a model's visual question answers: the `$dataset.json` its job writes,
 * `[{"question_id": "20", "answer": "B"}, …]`, against the dataset's items (metadata.questionType
 * and ground_truth as docs of the multimodal data model give them).
 *
 * One answer, by question type (the first rule that finds something decides; "statement" is the
 * last explicit answer statement — "Answer: …", "The answer is …" — see normalizeAnswer.ts):
 *   - multiple-choice: the letter extractChoice finds (statements, letter lines, an option's text);
 *     correct when it is the ground truth's letter. Several letters ("B or C") are no answer.
 *   - multiple-response: the statement, else the whole answer, else its last line, read as a set of
 *     option letters: single letters, optionally bracketed ("(A)", "[C]", "A."), separated by `,`
 *     `;` `/` `&`, spaces or the word "and". Correct when the set equals the ground truth's. Run-on
 *     letters ("AC") are not read: "NO" or "OK" would read as letters too.
 *   - fill-in-the-blank: the whole answer or the statement equals the ground truth after
 *     normalizeAnswer; when the ground truth is a number, the candidate must be one number equal to
 *     it (relative difference at most 1e-9, so "3.0" and "3" agree, "1,000" and "1000" too).
 *   - short-answer: the fill-in-the-blank rule, or, for an answer of at most SHORT_ANSWER_MAX_WORDS
 *     words, the normalised ground truth appearing in it as a whole word or phrase (bounded by
 *     non-letters, non-digits): "a red circle" answers "circle". An answer that also holds a
 *     hedge or a denial ("red or blue", "not a circle", "isn't red") gets no credit by
 *     containment; subtler negation is not seen, which is why containment is limited to short
 *     answers. Scripts without spaces between words (Chinese) get no containment, only equality:
 *     a letter next to the ground truth does not bound it.
 *   - yes-no: the first yes/no word of the statement, else of the whole answer: yes/no, true/false,
 *     是/否, 对/错 (不是 and 不对 read as no). Correct when it matches the ground truth's.
 *
 * The output file as a whole (parseVqaOutput): a list of objects, each with `question_id` (a string,
 * or an integer, which is taken as its decimal text) and `answer` (a string; a finite number or a
 * boolean is taken as its JSON text, since a model writing `3` for a blank plainly means "3"; any
 * other value refuses the file). Other keys are ignored. A question_id listed twice refuses the
 * file: which answer counts would be a guess. An id the dataset does not have is reported
 * (`unknownIds`) and otherwise ignored. A dataset question without an entry is wrong and listed
 * (`missing`); accuracy is over all the dataset's questions (scoreVqaDataset).
 */
import { VQA_QUESTION_TYPES, type VqaQuestionType } from '../../contracts/multimodal';
import type { DatasetItem } from '../../contracts/dataset';
import { extractChoice } from '../extractChoice';
import { parseNumber } from '../extractNumber';
import { answerStatements, finalLine, normalizeAnswer } from '../normalizeAnswer';
import { describeJsonValue } from '../jsonValue';

export { VQA_QUESTION_TYPES, type VqaQuestionType };

/** An answer longer than this many words gets no credit for merely containing the ground truth. */
export const SHORT_ANSWER_MAX_WORDS = 6;

export interface VqaQuestion {
  id: string;
  questionType: VqaQuestionType;
  groundTruth: string;
  choices?: readonly string[];
}

/** The question a stored dataset item is, or what is wrong with the item. */
export function vqaQuestionOf(item: DatasetItem): VqaQuestion | { problem: string } {
  const type = item.metadata?.questionType;
  if (typeof type !== 'string' || !(VQA_QUESTION_TYPES as readonly string[]).includes(type))
    return {
      problem: `item ${JSON.stringify(item.id)} has metadata.questionType ${JSON.stringify(type) ?? 'missing'}; expected one of ${VQA_QUESTION_TYPES.join(', ')}`,
    };
  return {
    id: item.id,
    questionType: type as VqaQuestionType,
    groundTruth: item.ground_truth,
    ...(item.choices ? { choices: item.choices } : {}),
  };
}

export interface AnswerVerdict {
  correct: boolean;
  /** Why, in words: what was read from the answer and what was expected. */
  reason: string;
}

export function scoreVqaAnswer(answer: string, q: VqaQuestion): AnswerVerdict {
  switch (q.questionType) {
    case 'multiple-choice':
      return multipleChoice(answer, q);
    case 'multiple-response':
      return multipleResponse(answer, q);
    case 'fill-in-the-blank':
      return fillIn(answer, q.groundTruth);
    case 'short-answer':
      return shortAnswer(answer, q.groundTruth);
    case 'yes-no':
      return yesNo(answer, q.groundTruth);
  }
}

function verdict(correct: boolean, reason: string): AnswerVerdict {
  return { correct, reason };
}

function multipleChoice(answer: string, q: VqaQuestion): AnswerVerdict {
  const truth = letterSet(q.groundTruth);
  if (!truth || truth.length !== 1)
    return verdict(false, `the ground truth ${JSON.stringify(q.groundTruth)} is not one option letter`);
  const chosen = extractChoice(answer, q.choices);
  if (chosen.kind === 'none') return verdict(false, 'no option letter found in the answer');
  if (chosen.kind === 'ambiguous')
    return verdict(false, `the answer names several options (${chosen.letters.join(', ')}), expected one`);
  return chosen.letter === truth[0]
    ? verdict(true, `chose ${chosen.letter}`)
    : verdict(false, `chose ${chosen.letter}, expected ${truth[0]}`);
}

const LETTER_TOKEN = /^[([]?([a-z])[)\]]?\.?$/i;
const LETTER_SEPARATOR = /\s*(?:[,;/&]|\band\b)\s*|\s+/i;

/** The letters of a text made only of option letters and separators; null for anything else. */
function letterSet(text: string): string[] | null {
  const tokens = stripMarkup(text.normalize('NFKC')).trim().replace(/\.$/, '').split(LETTER_SEPARATOR).filter(Boolean);
  if (tokens.length === 0) return null;
  const letters: string[] = [];
  for (const token of tokens) {
    const m = LETTER_TOKEN.exec(token);
    if (!m) return null;
    letters.push(m[1]!.toUpperCase());
  }
  return [...new Set(letters)].sort();
}

function multipleResponse(answer: string, q: VqaQuestion): AnswerVerdict {
  const truth = letterSet(q.groundTruth);
  if (!truth)
    return verdict(false, `the ground truth ${JSON.stringify(q.groundTruth)} is not a list of option letters`);
  const statements = answerStatements(answer);
  const candidates = [statements[statements.length - 1], answer, finalLine(answer)];
  const chosen = candidates.map((c) => (c === undefined ? null : letterSet(c))).find((s) => s !== null);
  if (!chosen) return verdict(false, 'no list of option letters found in the answer');
  const count = q.choices?.length ?? 26;
  const outside = chosen.filter((l) => l.charCodeAt(0) - 65 >= count);
  if (outside.length > 0)
    return verdict(false, `the answer names ${outside.join(', ')}, not among the ${count} options`);
  const same = chosen.length === truth.length && chosen.every((l, i) => l === truth[i]);
  return same
    ? verdict(true, `chose ${chosen.join(',')}`)
    : verdict(false, `chose ${chosen.join(',')}, expected ${truth.join(',')}`);
}

/** The texts an answer is compared by as a whole: the answer itself and its last answer statement. */
function wholeCandidates(answer: string): string[] {
  const statements = answerStatements(answer);
  const last = statements[statements.length - 1];
  return last === undefined ? [answer] : [answer, last];
}

function fillIn(answer: string, groundTruth: string): AnswerVerdict {
  const truthNumber = parseNumber(normalizeAnswer(groundTruth));
  const candidates = wholeCandidates(answer);
  if (truthNumber !== null) {
    const numbers = candidates.map((c) => parseNumber(normalizeAnswer(c))).filter((n) => n !== null);
    if (numbers.some((n) => sameNumber(n, truthNumber))) return verdict(true, `answered ${truthNumber}`);
    if (numbers.length > 0) return verdict(false, `answered ${numbers[numbers.length - 1]}, expected ${truthNumber}`);
    return verdict(false, `the answer is not one number, expected ${truthNumber}`);
  }
  const truth = normalizeAnswer(groundTruth);
  return candidates.some((c) => normalizeAnswer(c) === truth)
    ? verdict(true, 'equals the ground truth')
    : verdict(
        false,
        `${JSON.stringify(normalizeAnswer(candidates[candidates.length - 1]!))} is not ${JSON.stringify(truth)}`,
      );
}

function sameNumber(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));
}

/** Words that turn "contains the ground truth" into a hedge or a denial: "red or blue", "not a circle". */
const HEDGE_OR_DENIAL = /\b(?:or|not|no|nor|neither|never|maybe|perhaps)\b|n['\u2019]t\b/u;

function shortAnswer(answer: string, groundTruth: string): AnswerVerdict {
  const exact = fillIn(answer, groundTruth);
  if (exact.correct) return exact;
  const truth = normalizeAnswer(groundTruth);
  if (!truth) return exact;
  const whole = new RegExp(String.raw`(?<![\p{L}\p{N}])${escapeRegExp(truth)}(?![\p{L}\p{N}])`, 'gu');
  for (const candidate of wholeCandidates(answer)) {
    const text = normalizeAnswer(candidate);
    if (text.split(' ').length > SHORT_ANSWER_MAX_WORDS || !text.match(whole)) continue;
    // The hedge is looked for outside the ground truth itself, which may hold such a word.
    if (HEDGE_OR_DENIAL.test(text.replace(whole, ' ')))
      return verdict(false, `the short answer contains ${JSON.stringify(truth)} but hedges or denies it`);
    return verdict(true, `the short answer contains ${JSON.stringify(truth)}`);
  }
  return exact;
}

const YES_NO = /\b(yes|no|true|false)\b|不是|不对|是|否|对|错/iu;

/** 'yes', 'no', or null: the first yes/no word of the text. */
function yesNoOf(text: string): 'yes' | 'no' | null {
  const m = YES_NO.exec(stripMarkup(text.normalize('NFKC')));
  if (!m) return null;
  const word = (m[1] ?? m[0]).toLowerCase();
  return ['yes', 'true', '是', '对'].includes(word) ? 'yes' : 'no';
}

function yesNo(answer: string, groundTruth: string): AnswerVerdict {
  const truth = yesNoOf(groundTruth);
  if (!truth) return verdict(false, `the ground truth ${JSON.stringify(groundTruth)} is not yes or no`);
  const statements = answerStatements(answer);
  const last = statements[statements.length - 1];
  const said = (last === undefined ? null : yesNoOf(last)) ?? yesNoOf(answer);
  if (!said) return verdict(false, 'no yes/no word found in the answer');
  return said === truth ? verdict(true, `answered ${said}`) : verdict(false, `answered ${said}, expected ${truth}`);
}

function stripMarkup(text: string): string {
  return text.replace(/\*+|`+/g, '');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// ---- The output file ----

export interface VqaOutputEntry {
  questionId: string;
  answer: string;
}

export const EXPECTED_VQA_OUTPUT =
  'expected a JSON list like [{"question_id": "20", "answer": "B"}, …]: each question_id a string or integer, listed once, each answer a string';

export type VqaOutputParse = { ok: true; entries: VqaOutputEntry[] } | { ok: false; problem: string };

/** The entries of a parsed `$dataset.json`, or what is wrong with it (naming the entry). */
export function parseVqaOutput(value: unknown, file = 'the output'): VqaOutputParse {
  const refuse = (problem: string): VqaOutputParse => ({ ok: false, problem: `${problem}; ${EXPECTED_VQA_OUTPUT}` });
  if (!Array.isArray(value)) return refuse(`${file} is ${describeJsonValue(value)}, not a list`);
  const entries: VqaOutputEntry[] = [];
  const firstIndex = new Map<string, number>();
  for (const [i, entry] of value.entries()) {
    const at = `${file}[${i}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
      return refuse(`${at} is ${describeJsonValue(entry)}, not an object`);
    const { question_id: id, answer } = entry as { question_id?: unknown; answer?: unknown };
    let questionId: string;
    if (typeof id === 'string') questionId = id;
    else if (typeof id === 'number' && Number.isSafeInteger(id)) questionId = String(id);
    else return refuse(`${at}.question_id is ${describeJsonValue(id)}, not a string or an integer`);
    let text: string;
    if (typeof answer === 'string') text = answer;
    else if ((typeof answer === 'number' && Number.isFinite(answer)) || typeof answer === 'boolean')
      text = JSON.stringify(answer);
    else
      return refuse(
        `${at}.answer (question ${JSON.stringify(questionId)}) is ${describeJsonValue(answer)}, not a string`,
      );
    const seen = firstIndex.get(questionId);
    if (seen !== undefined)
      return refuse(`${at}.question_id ${JSON.stringify(questionId)} is listed twice (also ${file}[${seen}])`);
    firstIndex.set(questionId, i);
    entries.push({ questionId, answer: text });
  }
  return { ok: true, entries };
}

/** What one dataset item scored: the sample result the workflow stores for it. */
export interface VqaItemResult {
  /** The item's position in the dataset (its sample index). */
  index: number;
  id: string;
  questionType: VqaQuestionType;
  /** The answer as the output gave it; null when the output has no entry for the question. */
  answer: string | null;
  correct: boolean;
  reason: string;
}

export interface VqaTally {
  total: number;
  correct: number;
  /** correct / total. */
  accuracy: number;
}

export interface VqaScore extends VqaTally {
  /** One per dataset item, in dataset order. */
  items: VqaItemResult[];
  /** Only the question types the dataset has. */
  byType: Partial<Record<VqaQuestionType, VqaTally>>;
  /** Ids of the questions the output has no entry for (each scored wrong), in dataset order. */
  missing: string[];
  /** question_ids of the output that are not in the dataset, in output order. */
  unknownIds: string[];
}

export type VqaDatasetScore = { ok: true; score: VqaScore } | { ok: false; problem: string };

/**
 * The dataset's score from the entries parseVqaOutput returned (so each question_id is listed
 * once). Accuracy is over all the dataset's questions: one without an entry is wrong. An item
 * that is no VQA question refuses the whole scoring, naming the item: it is the dataset that is
 * broken, not the model's answers. An empty dataset has accuracy 0.
 */
export function scoreVqaDataset(items: readonly DatasetItem[], entries: readonly VqaOutputEntry[]): VqaDatasetScore {
  const questions: VqaQuestion[] = [];
  for (const [index, item] of items.entries()) {
    const question = vqaQuestionOf(item);
    if ('problem' in question) return { ok: false, problem: `dataset item ${index}: ${question.problem}` };
    questions.push(question);
  }
  const answers = new Map(entries.map((e) => [e.questionId, e.answer]));
  const results: VqaItemResult[] = [];
  const missing: string[] = [];
  const byType: Partial<Record<VqaQuestionType, VqaTally>> = {};
  for (const [index, q] of questions.entries()) {
    const answer = answers.get(q.id);
    if (answer === undefined) missing.push(q.id);
    const result =
      answer === undefined ? verdict(false, 'the output has no answer for this question') : scoreVqaAnswer(answer, q);
    const tally = (byType[q.questionType] ??= { total: 0, correct: 0, accuracy: 0 });
    tally.total++;
    if (result.correct) tally.correct++;
    results.push({ index, id: q.id, questionType: q.questionType, answer: answer ?? null, ...result });
  }
  for (const tally of Object.values(byType)) tally.accuracy = tally.correct / tally.total;
  const known = new Set(questions.map((q) => q.id));
  const correct = results.filter((r) => r.correct).length;
  return {
    ok: true,
    score: {
      total: results.length,
      correct,
      accuracy: results.length === 0 ? 0 : correct / results.length,
      items: results,
      byType,
      missing,
      unknownIds: entries.filter((e) => !known.has(e.questionId)).map((e) => e.questionId),
    },
  };
}
