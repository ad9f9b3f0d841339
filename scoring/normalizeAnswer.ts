/**
 * How a free-text answer is compared with a ground truth. Both sides go through the same steps, so
 * a ground truth written as `"Paris."` still matches a model's `paris`:
 *
 *   1. Unicode NFKC (full-width letters and digits become ASCII, ligatures split, and so on).
 *   2. Trim, and collapse every run of whitespace (including newlines) to one space.
 *   3. Repeatedly, until nothing changes: drop one trailing period, then unwrap one pair of
 *      surrounding quotes or markup — "…" '…' “…” ‘…’ «…» `…` **…** __…__ *…* _…_ — trimming
 *      again after each step. So `"**olleh**."` becomes `olleh`.
 *   4. Lower-case (String.prototype.toLowerCase, which after NFKC is full enough for answers).
 */

const WRAPPERS: readonly (readonly [string, string])[] = [
  ['**', '**'],
  ['__', '__'],
  ['"', '"'],
  ["'", "'"],
  ['\u201c', '\u201d'],
  ['\u2018', '\u2019'],
  ['\u00ab', '\u00bb'],
  ['`', '`'],
  ['*', '*'],
  ['_', '_'],
];

export function normalizeAnswer(text: string): string {
  let s = text.normalize('NFKC').replace(/\s+/g, ' ').trim();
  for (;;) {
    const before = s;
    if (s.endsWith('.')) s = s.slice(0, -1).trimEnd();
    for (const [open, close] of WRAPPERS) {
      if (s.length >= open.length + close.length && s.startsWith(open) && s.endsWith(close)) {
        s = s.slice(open.length, s.length - close.length).trim();
        break;
      }
    }
    if (s === before) break;
  }
  return s.toLowerCase();
}

/**
 * Markers models put before their final answer after working it out: "Answer:", "**Answer:**",
 * "Final answer:", "The answer is", "The correct option is", "答案是". Matched after NFKC, so a
 * full-width colon is a colon.
 */
const ANSWER_MARKER =
  /\banswer\b[\s*]*(?:is\b[\s*]*)?:|\banswer\s+is\b|\b(?:correct|right)\s+(?:option|choice)\s+is\b|答案\s*(?:是|为|:)/giu;

/**
 * The text of each explicit answer statement, in order: from the end of the marker to the end of
 * its line (or the next non-blank line when the marker ends its line), trimmed, with a leading
 * colon and bold marks around it removed ("**Answer:** **B**" gives "B").
 */
export function answerStatements(text: string): string[] {
  const s = text.normalize('NFKC');
  const lineEnd = (from: number) => {
    const i = s.indexOf('\n', from);
    return i === -1 ? s.length : i;
  };
  const out: string[] = [];
  for (const m of s.matchAll(ANSWER_MARKER)) {
    let from = m.index + m[0].length;
    let rest = cleanStatement(s.slice(from, lineEnd(from)));
    while (!rest && lineEnd(from) < s.length) {
      from = lineEnd(from) + 1;
      rest = cleanStatement(s.slice(from, lineEnd(from)));
    }
    if (rest) out.push(rest);
  }
  return out;
}

function cleanStatement(line: string): string {
  return line.replace(/^[\s:*]+/, '').replace(/[\s*]+$/, '');
}

/** The last non-blank line of the text, trimmed ('' when there is none). */
export function finalLine(text: string): string {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  return lines[lines.length - 1] ?? '';
}
