/**
 * The reference model's "knowledge": it recognises the prompt templates of the built-in datasets
 * and works out the right answer, or, when it is to be wrong, a plausible wrong one (off by one,
 * a neighbouring letter, a unit slip, a misspelling), so scoring sees realistic mistakes rather
 * than noise. Anything else gets a short deterministic reply, never an error.
 */

import { CODE_PYTHON_BASIC_PROBLEMS } from '../../datasets/builtin/codePythonBasic';
import { loadHumanEvalProblems, type HumanEvalProblem } from '../../datasets/builtin/public/humanEval';
import { PublicDatasetMissing } from '../../datasets/builtin/public/publicData';
import { solvePictureQuestion } from './pictureSolver';

export type PromptKind = 'arithmetic' | 'choice' | 'conversion' | 'reverse' | 'code' | 'picture';

export interface Solution {
  kind: PromptKind;
  /** The answer exactly as a dataset's ground truth would hold it. */
  answer: string;
  /** A plausible wrong answer, different from `answer`; `pick` in [0, 1) chooses among the candidates. */
  wrongAnswer(pick: number): string;
  /** One sentence of working that leads to `given`, for verbose mode. */
  explain(given: string): string;
}

export interface AnswerOptions {
  correct: boolean;
  verbose: boolean;
  /** A number in [0, 1) that picks the wrong answer, so wrong answers are reproducible too. */
  pick: number;
}

/** The reply the model sends for a prompt. */
/** `pictures`: the PNGs a chat message carried as content parts (a question about pictures). */
export function answerPrompt(prompt: string, o: AnswerOptions, pictures: readonly Buffer[] = []): string {
  const solution = pictures.length > 0 ? solvePictureQuestion(prompt, pictures) : solvePrompt(prompt);
  if (!solution) return genericReply(prompt);
  const given = o.correct ? solution.answer : solution.wrongAnswer(o.pick);
  if (!o.verbose) return given;
  // A code block opens its own line, as a model writes it; "Answer:" before a fence would hide it.
  // Code after a sentence is fenced, or the sentence would be run as part of it.
  if (solution.kind === 'code')
    return `${solution.explain(given)}\n\n${given.startsWith('```') ? given : `\`\`\`python\n${given}\`\`\``}`;
  return `${solution.explain(given)}\nAnswer: ${given}`;
}

export function solvePrompt(prompt: string): Solution | null {
  const text = prompt.trim();
  return (
    solveArithmetic(text) ??
    solveChoice(text) ??
    solveConversion(text) ??
    solveReverse(text) ??
    solveCode(text) ??
    solveHumanEval(text)
  );
}

export function genericReply(prompt: string): string {
  const words = prompt.trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return 'I am the Proctor reference model. Your message was empty.';
  const opening = words.slice(0, 6).join(' ');
  return `I am the Proctor reference model. I read ${words.length} word${words.length === 1 ? '' : 's'}, starting with "${opening}${words.length > 6 ? ' …' : ''}".`;
}

// ---- arithmetic ------------------------------------------------------------------------------

const NUMBER = String.raw`\(?[-−]?\d+(?:\.\d+)?\)?`;
const OPERATOR = String.raw`[-+*×−]`;
const EXPRESSION = new RegExp(String.raw`^(${NUMBER})\s*(${OPERATOR})\s*(${NUMBER})$`);

interface Expression {
  text: string;
  value: Exact;
}

/** `12 + 7`, `-4 * -9`, `5 - (-3)`; integers exactly (BigInt), decimals to 12 significant digits. */
function parseExpression(source: string): Expression | null {
  const m = EXPRESSION.exec(source.trim());
  if (!m) return null;
  const a = parseExact(m[1]!);
  const b = parseExact(m[3]!);
  if (a === null || b === null) return null;
  const op = m[2] === '×' ? '*' : m[2] === '−' ? '-' : m[2]!;
  return { text: `${m[1]} ${m[2]} ${m[3]}`, value: combine(a, op, b) };
}

type Exact = { int: bigint } | { float: number };

function parseExact(token: string): Exact | null {
  const clean = token.replace(/[()]/g, '').replace('−', '-');
  if (/^-?\d+$/.test(clean)) return { int: BigInt(clean) };
  const n = Number(clean);
  return Number.isFinite(n) ? { float: n } : null;
}

function combine(a: Exact, op: string, b: Exact): Exact {
  if ('int' in a && 'int' in b) {
    return { int: op === '+' ? a.int + b.int : op === '-' ? a.int - b.int : a.int * b.int };
  }
  const x = 'int' in a ? Number(a.int) : a.float;
  const y = 'int' in b ? Number(b.int) : b.float;
  return { float: op === '+' ? x + y : op === '-' ? x - y : x * y };
}

function formatExact(v: Exact): string {
  return 'int' in v ? v.int.toString() : formatNumber(v.float);
}

function offByOne(v: Exact, pick: number): string {
  const delta = pick < 0.5 ? -1 : 1;
  return 'int' in v ? (v.int + BigInt(delta)).toString() : formatNumber(v.float + delta);
}

const ARITHMETIC = /^Compute\s+(.+?)\.\s*Reply with the number only\.?$/i;

function solveArithmetic(text: string): Solution | null {
  const m = ARITHMETIC.exec(text);
  const expr = m && parseExpression(m[1]!);
  if (!expr) return null;
  return {
    kind: 'arithmetic',
    answer: formatExact(expr.value),
    wrongAnswer: (pick) => offByOne(expr.value, pick),
    explain: (given) => `Working it out: ${expr.text} = ${given}.`,
  };
}

// ---- multiple choice ---------------------------------------------------------------------------

const CHOICE_QUESTION = /^Which of the following equals\s+(.+?)\s*\?$/i;
const CHOICE_OPTION = /^([A-Z])[.)]\s*(.+)$/;
const CHOICE_INSTRUCTION = /^Answer with the letter of the correct option\.?$/i;

function solveChoice(text: string): Solution | null {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  if (lines.length < 3) return null;
  const question = CHOICE_QUESTION.exec(lines[0]!);
  if (!question || !CHOICE_INSTRUCTION.test(lines[lines.length - 1]!)) return null;
  const expr = parseExpression(question[1]!);
  if (!expr) return null;
  const options: { letter: string; value: number }[] = [];
  for (const line of lines.slice(1, -1)) {
    const m = CHOICE_OPTION.exec(line);
    if (!m) return null;
    options.push({ letter: m[1]!, value: Number(m[2]!.replace('−', '-')) });
  }
  if (options.length < 2) return null;

  const target = 'int' in expr.value ? Number(expr.value.int) : expr.value.float;
  // An exact match when there is one; otherwise the nearest option, as a model would guess.
  const best = options.reduce((a, b) => (distance(b.value, target) < distance(a.value, target) ? b : a));
  const others = options.filter((o) => o.value !== best.value);
  const valueOf = (letter: string) => options.find((o) => o.letter === letter)?.value;
  return {
    kind: 'choice',
    answer: best.letter,
    wrongAnswer: (pick) =>
      others.length > 0 ? others[Math.floor(pick * others.length)]!.letter : neighbourLetter(best.letter),
    explain: (given) => `${expr.text} = ${formatNumber(valueOf(given) ?? target)}, which is option ${given}.`,
  };
}

function distance(value: number, target: number): number {
  return Number.isNaN(value) ? Infinity : Math.abs(value - target);
}

function neighbourLetter(letter: string): string {
  return letter === 'A' ? 'B' : String.fromCharCode(letter.charCodeAt(0) - 1);
}

// ---- unit conversion -------------------------------------------------------------------------

/** Factors to the smallest unit of each quantity, all integers so conversions stay exact. */
const UNITS: Record<string, { quantity: string; factor: number; name: string }> = {};
function unit(quantity: string, factor: number, name: string, ...aliases: string[]) {
  for (const alias of [name, ...aliases]) UNITS[alias] = { quantity, factor, name };
}
unit('length', 1_000_000, 'kilometers', 'kilometer', 'kilometres', 'kilometre', 'km');
unit('length', 1000, 'meters', 'meter', 'metres', 'metre', 'm');
unit('length', 10, 'centimeters', 'centimeter', 'centimetres', 'centimetre', 'cm');
unit('length', 1, 'millimeters', 'millimeter', 'millimetres', 'millimetre', 'mm');
unit('mass', 1_000_000, 'kilograms', 'kilogram', 'kg');
unit('mass', 1000, 'grams', 'gram', 'g');
unit('mass', 1, 'milligrams', 'milligram', 'mg');
unit('time', 3600, 'hours', 'hour', 'h');
unit('time', 60, 'minutes', 'minute', 'min');
unit('time', 1, 'seconds', 'second', 's');
unit('volume', 1000, 'liters', 'liter', 'litres', 'litre', 'l');
unit('volume', 1, 'milliliters', 'milliliter', 'millilitres', 'millilitre', 'ml');

const CONVERSION =
  /^Convert\s+(-?\d+(?:\.\d+)?)\s+([a-z]+)\s+(?:to|into)\s+([a-z]+)\.\s*Reply with the number only\.?$/i;

function solveConversion(text: string): Solution | null {
  const m = CONVERSION.exec(text);
  if (!m) return null;
  const from = UNITS[m[2]!.toLowerCase()];
  const to = UNITS[m[3]!.toLowerCase()];
  if (!from || !to || from.quantity !== to.quantity) return null;
  const value = Number(m[1]);
  const converted = (value * from.factor) / to.factor;
  const answer = formatNumber(converted);
  return {
    kind: 'conversion',
    answer,
    // A slipped decimal point is the classic unit-conversion mistake.
    wrongAnswer: (pick) => formatNumber(converted === 0 ? 1 : pick < 0.5 ? converted * 10 : converted / 10),
    explain: (given) => `Converting ${m[1]} ${from.name} to ${to.name} gives ${given} ${to.name}.`,
  };
}

// ---- reversing a word --------------------------------------------------------------------------

const REVERSE = /^Reverse the letters of the word "(.+)"\.\s*Reply with the reversed word only\.?$/i;

function solveReverse(text: string): Solution | null {
  const m = REVERSE.exec(text);
  if (!m) return null;
  const word = m[1]!;
  const answer = Array.from(word).reverse().join('');
  return {
    kind: 'reverse',
    answer,
    wrongAnswer: (pick) => misspell(answer, pick),
    explain: (given) => `Reading "${word}" from its last letter to its first gives "${given}".`,
  };
}

// ---- code ------------------------------------------------------------------------------------

const CODE_PROMPT = /^Write a Python function `([^`]+)`\./;

/**
 * A code-python-basic prompt is answered with its reference solution in a python fence, so pass@k
 * runs can be tested end to end; the wrong answer is a program that defines the function and gets
 * it wrong (it returns None), which the hidden tests reject.
 */
function solveCode(text: string): Solution | null {
  const m = CODE_PROMPT.exec(text);
  if (!m) return null;
  const problem = CODE_PYTHON_BASIC_PROBLEMS.find((p) => p.signature === m[1]);
  if (!problem) return null;
  const fenced = (program: string) => `\`\`\`python\n${program}\`\`\``;
  return {
    kind: 'code',
    answer: fenced(problem.solution),
    wrongAnswer: () => fenced(`def ${problem.signature}:\n    return None\n`),
    explain: () => `Here is \`${problem.entryPoint}\`:`,
  };
}

const HUMANEVAL_PROMPT = /^Complete the following Python function\. [^\n]*\n\n```python\n([\s\S]*)```$/;

/**
 * A humaneval prompt (datasets/builtin/public/humanEval.ts) is answered with the problem's
 * canonical solution, in both shapes models use: the whole function in a python fence for even
 * task numbers, the body alone (a continuation of the prompt, bare as a completion model writes it,
 * fenced when explained) for odd ones. The wrong answer is the prompt's function returning None,
 * which fails every problem's tests. Where HumanEval is not installed the prompt is not recognised.
 */
function solveHumanEval(text: string): Solution | null {
  const m = HUMANEVAL_PROMPT.exec(text);
  if (!m) return null;
  let problems: readonly HumanEvalProblem[];
  try {
    problems = loadHumanEvalProblems();
  } catch (error) {
    if (error instanceof PublicDatasetMissing) return null;
    throw error;
  }
  const index = problems.findIndex((p) => p.prompt === m[1]);
  const problem = problems[index];
  if (!problem) return null;
  const fenced = (program: string) => `\`\`\`python\n${program}\`\`\``;
  const answer = index % 2 === 0 ? fenced(problem.prompt + problem.canonicalSolution) : problem.canonicalSolution;
  return {
    kind: 'code',
    answer,
    wrongAnswer: () => fenced(`${problem.prompt}    return None\n`),
    explain: () => `Here is \`${problem.entryPoint}\`:`,
  };
}

/** Swaps two neighbouring letters that differ; a word of one repeated letter gets one letter changed. */
function misspell(word: string, pick: number): string {
  const letters = Array.from(word);
  const swaps: number[] = [];
  for (let i = 0; i + 1 < letters.length; i++) if (letters[i] !== letters[i + 1]) swaps.push(i);
  if (swaps.length === 0) {
    const last = letters.length - 1;
    letters[last] = letters[last] === 'a' ? 'b' : 'a';
    return letters.join('');
  }
  const i = swaps[Math.floor(pick * swaps.length)]!;
  [letters[i], letters[i + 1]] = [letters[i + 1]!, letters[i]!];
  return letters.join('');
}

// ---- numbers -----------------------------------------------------------------------------------

/** Plain decimal without trailing zeros (2.5, 3000, 0.001), rounded to 12 significant digits. */
export function formatNumber(n: number): string {
  const rounded = Number(n.toPrecision(12));
  const plain = String(Object.is(rounded, -0) ? 0 : rounded);
  if (!/e/i.test(plain)) return plain;
  return Math.abs(rounded) >= 1 ? BigInt(Math.round(rounded)).toString() : rounded.toFixed(20).replace(/\.?0+$/, '');
}
