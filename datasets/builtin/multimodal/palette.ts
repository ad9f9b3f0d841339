/**
 * The colours and shapes of the multimodal built-ins. The palette is small and its colours far
 * apart in RGB, so a colour name is never in doubt, whether a model reads it off a rendered scene
 * or a checker reads it off a generated picture. The renderer paints these exact values; the
 * checker matches a pixel to the nearest of them (or to white, the background).
 */

export const COLOURS = ['red', 'orange', 'yellow', 'green', 'blue', 'purple', 'black'] as const;
export type ColourName = (typeof COLOURS)[number];

export type Rgb = readonly [number, number, number];

/** Pairwise RGB (Euclidean) distances are at least 100 (orange–yellow, the closest pair: 102), and over 200 from white. */
export const PALETTE: Readonly<Record<ColourName, Rgb>> = Object.freeze({
  red: [220, 30, 30],
  orange: [245, 128, 0],
  yellow: [255, 230, 0],
  green: [30, 150, 50],
  blue: [30, 80, 220],
  purple: [135, 45, 175],
  black: [20, 20, 20],
});

export const WHITE: Rgb = [255, 255, 255];
/** The baseline of a bar chart: a grey no palette colour is near, so it never merges with a bar. */
export const BASELINE_GREY: Rgb = [150, 150, 150];

export const SHAPES = ['circle', 'square', 'triangle', 'cross'] as const;
export type ShapeName = (typeof SHAPES)[number];

const PLURALS: Readonly<Record<ShapeName, string>> = {
  circle: 'circles',
  square: 'squares',
  triangle: 'triangles',
  cross: 'crosses',
};

export function pluralOf(shape: ShapeName): string {
  return PLURALS[shape];
}

/** `a` or `an` as spoken before the word: only `orange` among the colours takes `an`. */
export function articleFor(word: string): 'a' | 'an' {
  return /^[aeiou]/.test(word) ? 'an' : 'a';
}

const NUMBER_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six'] as const;

export function numberWord(n: number): string {
  const word = NUMBER_WORDS[n];
  if (word === undefined) throw new RangeError(`no number word for ${n}`);
  return word;
}
