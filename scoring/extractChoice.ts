/**
 * Which option of a multiple-choice question a model chose. Models answer in many shapes ("B",
 * "B.", "(B)", "**B**", "Answer: B", "The answer is B because …", or the option's own text), and
 * some hedge ("B or C"); a hedge is no answer.
 *
 * In order, the first rule that finds anything decides:
 *   1. Explicit answer statements (see answerStatements): each gives a letter, either at its start
 *      ("B", "(B)", "Option B", "B. 19", "b" alone) or by being exactly one option's text. If the
 *      statements name different letters, or one names two ("B or C", "B/C", "B, C"), the output
 *      is ambiguous.
 *   2. Lines that consist of a letter alone ("B", "(B)", "[B]", "B.", "B)", "Option B") or a letter
 *      with its option text ("B. 19", "B) 19"). All such lines must agree, else ambiguous: a model
 *      that echoes the option list has not chosen.
 *   3. The whole output, or its last line, equal to exactly one option's text (after
 *      normalizeAnswer on both).
 * Letters outside the question's options ("E" of four) are not answers.
 */
import { answerStatements, finalLine, normalizeAnswer } from './normalizeAnswer';

export type ChoiceExtraction =
  { kind: 'letter'; letter: string } | { kind: 'ambiguous'; letters: string[] } | { kind: 'none' };

const OPTION_WORD = String.raw`(?:option|choice)\s+`;
/** A letter alone, any case, in the usual wrappings: "B", "(b)", "[B]", "B.", "B)", "Option B". */
const BARE_LETTER = new RegExp(String.raw`^(?:${OPTION_WORD})?[(\[]?([a-z])[)\]]?[.:)]?$`, 'i');
/**
 * A letter leading a longer statement: "B because …", "(B) 19", "C, since …". The letter must be
 * upper case and what follows must not read as a sentence, so "I think it is B" or "A bit of
 * both" are not taken for options I and A.
 */
const LEADING_LETTER = new RegExp(
  String.raw`^(?:${OPTION_WORD})?[(\[]?([a-z])[)\]]?(?=$|[.,:;!?]|\s+(?:[^\p{L}\s]|(?:because|since|as|is|which|with|for)\b))`,
  'iu',
);
/** "B or C", "B/C", "B, C", "(B) and (C)": two letters offered as the answer. */
const TWO_LETTERS = new RegExp(
  String.raw`^(?:${OPTION_WORD})?[(\[]?([a-z])[)\]]?\s*(?:,|/|&|\s(?:or|and)\s)\s*(?:${OPTION_WORD})?[(\[]?([a-z])(?![\p{L}\p{N}])`,
  'iu',
);
/** A line giving a letter and then the option's text: "B. 19", "(B) 19", "B) nineteen", "B: 19". */
const LETTER_WITH_TEXT = /^(?:\(([A-Z])\)|([A-Z])[.):])\s+\S/;

const isUpper = (letter: string | undefined): letter is string =>
  letter !== undefined && letter >= 'A' && letter <= 'Z';

export function extractChoice(output: string, choices?: readonly string[]): ChoiceExtraction {
  const letterCount = choices?.length ?? 26;
  // Out-of-range letters ("E" of four options) are not answers at all, not a second opinion.
  const decide = (letters: string[]): ChoiceExtraction | null => {
    const distinct = [...new Set(letters.filter((l) => l.charCodeAt(0) - 65 < letterCount))].sort();
    if (distinct.length === 0) return null;
    return distinct.length === 1 ? { kind: 'letter', letter: distinct[0]! } : { kind: 'ambiguous', letters: distinct };
  };
  const text = stripMarkup(output.normalize('NFKC'));

  const fromStatements: string[] = [];
  for (const statement of answerStatements(text)) {
    const two = TWO_LETTERS.exec(statement);
    if (two && isUpper(two[1]) && isUpper(two[2]) && two[1] !== two[2]) fromStatements.push(two[1], two[2]);
    const letter = leadingLetter(statement) ?? choiceByText(statement, choices);
    if (letter) fromStatements.push(letter);
  }
  const byStatement = decide(fromStatements);
  if (byStatement) return byStatement;

  const fromLines: string[] = [];
  for (const line of text.split(/\r?\n/).map((l) => l.trim())) {
    const bare = BARE_LETTER.exec(line);
    const withText = bare ? null : LETTER_WITH_TEXT.exec(line);
    const letter = bare?.[1]!.toUpperCase() ?? withText?.[1] ?? withText?.[2];
    if (letter) fromLines.push(letter);
  }
  const byLine = decide(fromLines);
  if (byLine) return byLine;

  const byText = choiceByText(text, choices) ?? choiceByText(finalLine(text), choices);
  return byText ? { kind: 'letter', letter: byText } : { kind: 'none' };
}

function leadingLetter(statement: string): string | null {
  const bare = BARE_LETTER.exec(statement);
  if (bare) return bare[1]!.toUpperCase();
  const leading = LEADING_LETTER.exec(statement)?.[1];
  return isUpper(leading) ? leading : null;
}

/** The letter of the one option whose text the answer is; null when none or several match. */
function choiceByText(answer: string, choices: readonly string[] | undefined): string | null {
  if (!choices) return null;
  const wanted = normalizeAnswer(answer);
  if (!wanted) return null;
  const hits = choices.flatMap((choice, i) =>
    normalizeAnswer(stripMarkup(choice.normalize('NFKC'))) === wanted ? [String.fromCharCode(65 + i)] : [],
  );
  return hits.length === 1 ? hits[0]! : null;
}

/** Bold, italics and code marks carry no meaning for which letter was chosen. */
function stripMarkup(text: string): string {
  return text.replace(/\*+|`+|(?<![\p{L}\p{N}])_+|_+(?![\p{L}\p{N}])/gu, '');
}
