/**
 * Text that breaks naive handling of names: characters that look like others, that are invisible,
 * that reorder or combine, that are not characters at all (surrogate halves, sent as JSON escapes),
 * that databases refuse (NUL), and forms that change under case mapping or normalisation.
 */
import fc from 'fast-check';

/** Each one alone; a name can also be made of them (see `edgyVariant`). */
export const UNICODE_EDGES: readonly { name: string; text: string }[] = [
  { name: 'NUL', text: '\u0000' },
  { name: 'C0 control (BEL)', text: '\u0007' },
  { name: 'DEL', text: '\u007f' },
  { name: 'C1 control (NEL)', text: '\u0085' },
  { name: 'high surrogate half', text: '\ud800' },
  { name: 'low surrogate half', text: '\udfff' },
  { name: 'surrogate halves reversed', text: '\udc00\ud800' },
  { name: 'combining acute', text: 'e\u0301' },
  { name: 'stacked combining marks', text: `a${'\u0300\u0301\u0302\u0303\u0308'.repeat(8)}` },
  { name: 'combining mark alone', text: '\u0301' },
  { name: 'right-to-left override', text: '\u202egnp.exe' },
  { name: 'right-to-left mark', text: '\u200f' },
  { name: 'left-to-right isolate', text: '\u2066x\u2069' },
  { name: 'zero-width joiner', text: '\u200d' },
  { name: 'zero-width non-joiner', text: '\u200c' },
  { name: 'zero-width space', text: '\u200b' },
  { name: 'byte order mark', text: '\ufeff' },
  { name: 'soft hyphen', text: '\u00ad' },
  { name: 'combining grapheme joiner', text: '\u034f' },
  { name: 'variation selector 16', text: '\ufe0f' },
  { name: 'tag characters', text: '\u{e0061}\u{e0062}' },
  { name: 'no-break space', text: '\u00a0' },
  { name: 'ideographic space', text: '\u3000' },
  { name: 'line separator', text: '\u2028' },
  { name: 'paragraph separator', text: '\u2029' },
  { name: 'Hangul filler', text: '\u3164' },
  { name: 'emoji', text: '😀' },
  { name: 'emoji ZWJ family', text: '👩‍👩‍👧‍👦' },
  { name: 'flag', text: '🇺🇳' },
  { name: 'emoji with skin tone', text: '👍🏽' },
  { name: 'full-width letters', text: 'ｍｏｄｅｌ' },
  { name: 'mathematical bold letters', text: '𝐦𝐨𝐝𝐞𝐥' },
  { name: 'Cyrillic homoglyphs', text: 'mоdеl' },
  { name: 'Greek omicron', text: 'mοdel' },
  { name: 'Kelvin sign (lowercases to k)', text: '\u212a' },
  { name: 'long s (uppercases to S)', text: '\u017f' },
  { name: 'dotted capital I', text: '\u0130' },
  { name: 'dotless i', text: '\u0131' },
  { name: 'sharp s (uppercases to SS)', text: 'ß' },
  { name: 'fi ligature', text: 'ﬁ' },
  { name: 'superscript two', text: '²' },
  { name: 'Arabic-Indic digits', text: '٣٤' },
  { name: 'private use', text: '\ue000' },
  { name: 'noncharacter U+FFFE', text: '\ufffe' },
  { name: 'noncharacter U+FFFF', text: '\uffff' },
  { name: 'replacement character', text: '\ufffd' },
  { name: 'astral CJK', text: '𠀋' },
  { name: 'Hebrew', text: 'שלום' },
  { name: 'decomposed Hangul', text: '\u1100\u1161\u11a8' },
];

/** Non-ASCII characters that pass for the ASCII ones they replace. */
const HOMOGLYPHS: Record<string, string[]> = {
  a: ['а', 'ɑ', 'ａ'],
  c: ['с', 'ϲ'],
  d: ['ԁ'],
  e: ['е', 'ｅ'],
  i: ['і', 'ı'],
  k: ['\u212a', 'κ'],
  l: ['ӏ', 'ℓ'],
  m: ['ｍ'],
  n: ['ո'],
  o: ['о', 'ο', '０'],
  p: ['р'],
  s: ['ѕ', '\u017f'],
  t: ['т'],
  x: ['х'],
  y: ['у'],
  '-': ['‐', '‑', '−', '﹣'],
  '0': ['О', '٠'],
  '1': ['ǀ', '١'],
  '.': ['․', '。'],
};

export const unicodeEdge = (): fc.Arbitrary<string> => fc.constantFrom(...UNICODE_EDGES.map((e) => e.text));

/**
 * A variant of an acceptable name that a person could take for it, or that breaks it: an edge
 * inserted somewhere, a letter swapped for a homoglyph, or the name composed into another form.
 */
export function edgyVariant(name: string): fc.Arbitrary<string> {
  const swappable = [...name].map((ch, i) => ({ ch, i })).filter(({ ch }) => HOMOGLYPHS[ch.toLowerCase()]);
  const options: fc.Arbitrary<string>[] = [
    fc
      .tuple(unicodeEdge(), fc.nat({ max: name.length }))
      .map(([edge, at]) => `${name.slice(0, at)}${edge}${name.slice(at)}`),
    unicodeEdge(),
    fc.constant(name.toUpperCase()),
    fc.constant([...name].map((ch) => String.fromCodePoint((ch.codePointAt(0) ?? 0) + 0xfee0)).join('')),
  ];
  if (swappable.length > 0) {
    options.push(
      fc.tuple(fc.constantFrom(...swappable), fc.nat()).map(([{ ch, i }, k]) => {
        const glyphs = HOMOGLYPHS[ch.toLowerCase()]!;
        return [...name].map((c, j) => (j === i ? glyphs[k % glyphs.length]! : c)).join('');
      }),
    );
  }
  return fc.oneof(...options).filter((variant) => variant !== name);
}

/** Free text that starts with an edge, followed by edges and ordinary words, within a length. */
export function edgyText(maxLength: number): fc.Arbitrary<string> {
  return fc
    .tuple(
      unicodeEdge(),
      fc.array(fc.oneof(unicodeEdge(), fc.constantFrom('model', ' ', 'a', 'Ünïcödé', '名前')), { maxLength: 5 }),
    )
    .map(([edge, parts]) => [...`${edge}${parts.join('')}`].slice(0, Math.max(1, maxLength)).join(''));
}

/** Short names for reports: what edges a string has. */
export function describeEdges(text: string): string {
  const named = UNICODE_EDGES.filter((e) => e.text.length > 0 && text.includes(e.text)).map((e) => e.name);
  return named.length > 0 ? named.join(', ') : JSON.stringify(text);
}
