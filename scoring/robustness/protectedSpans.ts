/**
 * Parts of a prompt a perturbation must leave exactly as they are, because changing them would
 * change the task rather than its wording:
 *   - tokens holding a digit ("12", "3.5", "1e5", "H2O", "3rd"): arithmetic and unit answers stay
 *     valid, and no noise glues to a number;
 *   - placeholders in braces ("{name}", "{0}"): templates still fill;
 *   - code: fenced blocks, `inline code`, and identifiers outside them (a name with an
 *     underscore, or one followed by "(": "count_vowels", "clamp(15, 0, 10)");
 *   - double-quoted text ("…", “…”, 「…」): usually the object of the task (the word to reverse,
 *     a string to transform), whose every character matters.
 * Returns a mask over the UTF-16 code units of the text: true where nothing may change.
 */
const PROTECTED: readonly RegExp[] = [
  /```[\s\S]*?(?:```|$)|~~~[\s\S]*?(?:~~~|$)/g,
  /`[^`\n]*`/g,
  /\{[^{}\n]*\}/g,
  /"[^"\n]*"|“[^”\n]*”|「[^」\n]*」|『[^』\n]*』/g,
];
/**
 * Word-like tokens, joined across . , : / ("3.5", "12:30", "1/2", "os.path"); protected when they
 * hold a digit or an underscore, or are called ("clamp(").
 */
const TOKEN = /[\p{L}\p{N}\p{M}_]+(?:[.,:/][\p{L}\p{N}\p{M}_]+)*/gu;
const DIGIT_OR_UNDERSCORE = /[\p{N}_]/u;

export function protectedMask(text: string, extra: readonly RegExp[] = []): boolean[] {
  const mask = new Array<boolean>(text.length).fill(false);
  for (const pattern of [...PROTECTED, ...extra]) {
    const global = pattern.flags.includes('g') ? pattern : new RegExp(pattern.source, `${pattern.flags}g`);
    global.lastIndex = 0;
    for (const match of text.matchAll(global)) {
      const start = match.index ?? 0;
      for (let i = start; i < start + match[0].length; i++) mask[i] = true;
    }
  }
  // Linear, unlike one regex that looks for a digit inside a token (which backtracks over every
  // start position of a long run of letters, as a Chinese sentence is).
  for (const match of text.matchAll(TOKEN)) {
    const start = match.index ?? 0;
    if (!DIGIT_OR_UNDERSCORE.test(match[0]) && text[start + match[0].length] !== '(') continue;
    for (let i = start; i < start + match[0].length; i++) mask[i] = true;
  }
  return mask;
}
