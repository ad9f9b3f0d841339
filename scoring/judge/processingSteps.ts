/**
 * The preprocessing steps (answer → text for the prompt) and postprocessing steps (judge reply →
 * score). Each step's result is kept for the sample's trace; a postprocessing step that cannot read
 * its input fails the sample with a reason that names the step, never with a guessed score.
 */
import type { PostprocessStep, PreprocessStep } from '../../contracts/scoringConfig';

/** User patterns run on model and judge output in our processes: refuse the shapes that backtrack without end. */
const NESTED_QUANTIFIER = /\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)\s*[+*{]/;
const BACKREFERENCE = /\\[1-9]|\\k</;
/** Regexes see at most this much of a text, so one run costs bounded time. */
const REGEX_INPUT_CHARS = 100_000;

export function patternProblems(pattern: string, flags = ''): string | null {
  try {
    new RegExp(pattern, flags);
  } catch (error) {
    return `must be a valid regular expression (${(error as Error).message})`;
  }
  if (NESTED_QUANTIFIER.test(pattern))
    return 'must not repeat a group that itself repeats (such as (a+)+): it can take exponential time';
  if (BACKREFERENCE.test(pattern)) return 'must not use backreferences';
  return null;
}

export function stepName(step: PreprocessStep | PostprocessStep): string {
  return typeof step === 'string' ? step : Object.keys(step)[0]!;
}

export class StepFailed extends Error {
  override name = 'StepFailed';
}

function textOp(op: string, text: string): string {
  switch (op) {
    case 'trim':
      return text.trim();
    case 'lowercase':
      return text.toLowerCase();
    case 'stripThinking':
      // A closed <think>…</think> block, or a reply that opens one and never closes it (cut off).
      return text
        .replace(/<think(?:ing)?>[\s\S]*?<\/think(?:ing)?>/gi, '')
        .replace(/^[\s\S]*<\/think(?:ing)?>/i, '')
        .replace(/<think(?:ing)?>[\s\S]*$/i, '')
        .trim();
    case 'lastLine': {
      const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
      return lines.at(-1)?.trim() ?? '';
    }
    case 'firstLine': {
      const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
      return lines[0]?.trim() ?? '';
    }
    default:
      throw new StepFailed(`unknown step ${op}`);
  }
}

function regexExtract(spec: { pattern: string; group?: number; flags?: string }, text: string): string | null {
  const regex = new RegExp(spec.pattern, spec.flags ?? '');
  const match = regex.exec(text.slice(0, REGEX_INPUT_CHARS));
  if (!match) return null;
  const group = spec.group ?? (match.length > 1 ? 1 : 0);
  return match[group] ?? null;
}

/** Preprocessing never fails: a pattern that finds nothing leaves the text as it was. */
export function applyPreprocess(step: PreprocessStep, text: string): string {
  if (typeof step === 'string') return textOp(step, text);
  if ('truncate' in step) return [...text].slice(0, step.truncate).join('');
  return regexExtract(step.regexExtract, text) ?? text;
}

/** One postprocessing step; throws StepFailed with a readable reason when its input does not fit. */
export function applyPostprocess(step: PostprocessStep, value: string | number): string | number {
  const asText = () => (typeof value === 'string' ? value : String(value));
  const asNumber = (what: string): number => {
    if (typeof value === 'number') return value;
    const n = readNumber(value);
    if (n === null) throw new StepFailed(`${what} needs a number, got ${quote(value)}`);
    return n;
  };
  if (typeof step === 'string') {
    if (step === 'number') return asNumber('number');
    if (step === 'clamp') return Math.min(1, Math.max(0, asNumber('clamp')));
    return textOp(step, asText());
  }
  if ('truncate' in step) return [...asText()].slice(0, step.truncate).join('');
  if ('regexExtract' in step) {
    const found = regexExtract(step.regexExtract, asText());
    if (found === null) throw new StepFailed(`found no match for /${step.regexExtract.pattern}/ in ${quote(asText())}`);
    return found;
  }
  if ('mapLabels' in step) {
    const label = asText().trim().toLowerCase();
    const entry = Object.entries(step.mapLabels).find(([k]) => k.trim().toLowerCase() === label);
    if (!entry)
      throw new StepFailed(`${quote(asText())} is none of the labels ${Object.keys(step.mapLabels).join(', ')}`);
    return entry[1];
  }
  const { min, max } = step.scale;
  if (max === min) throw new StepFailed('scale needs max different from min');
  return (asNumber('scale') - min) / (max - min);
}

/** A decimal number alone (surrounding space allowed), or a fraction such as 8/10. */
function readNumber(text: string): number | null {
  const t = text.trim();
  const fraction = /^(-?\d+(?:\.\d+)?)\s*\/\s*(\d+(?:\.\d+)?)$/.exec(t);
  if (fraction) return Number(fraction[2]) === 0 ? null : Number(fraction[1]) / Number(fraction[2]);
  return /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$/.test(t) ? Number(t) : null;
}

function quote(text: string): string {
  const short = text.length > 120 ? `${text.slice(0, 120)}…` : text;
  return JSON.stringify(short);
}

/** The final value of postprocessing as a score, or why it is not one. */
export function finalScore(value: string | number): number {
  const n = typeof value === 'number' ? value : readNumber(value);
  if (n === null || !Number.isFinite(n))
    throw new StepFailed(`postprocessing ended with ${quote(String(value))}, not a number`);
  if (n < 0 || n > 1) throw new StepFailed(`postprocessing ended with ${n}, outside 0..1 (add a scale or clamp step)`);
  return n;
}
