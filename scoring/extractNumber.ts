/**
 * Numbers in model output. What counts as a number (after NFKC, so full-width digits are digits,
 * and with the typographic minus U+2212 read as '-'):
 *
 *   - an optional sign: '-' or '+', only when it does not follow a letter, digit or '.', so the
 *     hyphen in "3-5" or "COVID-19" is not a minus;
 *   - digits, optionally grouped in thousands with commas ("1,234,567"); a comma that does not
 *     start a group of exactly three digits ends the number, so "1,23" is 1 and 23 and a list
 *     "1, 2, 3" is three numbers. Decimal commas are not supported;
 *   - an optional fraction: '.' followed by digits ("3.50"); a bare ".5" also counts;
 *   - an optional exponent attached to the digits ("1e3", "2.5E-4"): unambiguous, and what some
 *     models print for large or small results.
 *
 * Fractions ("1/2"), percentages-as-ratios, words ("three") and "×10^3" are not interpreted: the
 * numbers inside them are read one by one.
 */

const NUMBER = /(?:(?<![\p{L}\p{N}.])[-+])?(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+|(?=\.\d))(?:\.\d+)?(?:[eE][-+]?\d+)?/gu;

function prepare(text: string): string {
  return text.normalize('NFKC').replace(/\u2212/g, '-');
}

function toNumber(token: string): number | null {
  if (!/\d/.test(token)) return null;
  const n = Number(token.replace(/,/g, ''));
  return Number.isFinite(n) ? n : null;
}

/** Every number in the text, in order of appearance. */
export function numbersIn(text: string): number[] {
  const out: number[] = [];
  for (const m of prepare(text).matchAll(NUMBER)) {
    const n = toNumber(m[0]);
    if (n !== null) out.push(n);
  }
  return out;
}

/**
 * The number a model gave as its answer: the first number of its last explicit answer statement
 * ("Answer: 42", "The answer is 42 because …") when there is one, else the last number in the
 * output, since working usually comes before the result. Null when there is no number.
 */
export function extractFinalNumber(text: string, statements: readonly string[]): number | null {
  for (let i = statements.length - 1; i >= 0; i--) {
    const first = numbersIn(statements[i]!)[0];
    if (first !== undefined) return first;
  }
  const all = numbersIn(text);
  return all.length > 0 ? all[all.length - 1]! : null;
}

/**
 * A ground truth or other text that must be exactly one number in the forms above ("-3", "1,234",
 * "3.50", "1e3"), surrounding whitespace allowed. Null for anything else.
 */
export function parseNumber(text: string): number | null {
  const s = prepare(text).trim();
  const m = /^[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:[eE][-+]?\d+)?$/.exec(s);
  return m ? toNumber(s) : null;
}
