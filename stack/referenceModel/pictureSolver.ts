/**
 * The reference model's eyes: a question about pictures (the built-in multimodal vqa templates,
 * datasets/builtin/multimodal/mmShapesVqa.ts) answered by looking at the pictures it was sent —
 * each PNG decoded, its pixels named by the palette, its blobs measured and their shapes
 * recognised — never by knowing the dataset. A question it does not recognise, or pictures it
 * cannot read, get no solution, so the caller falls back to its generic reply.
 */
import {
  classifyPixels,
  decodePng,
  findBlobs,
  recogniseShape,
  type ColourBlob,
} from '../../datasets/builtin/multimodal/colourBlobs';
import { COLOURS, SHAPES, pluralOf, type ColourName, type ShapeName } from '../../datasets/builtin/multimodal/palette';
import type { Solution } from './solver';

/** How far (RGB distance) a pixel may be from its palette colour: the renderer paints exact values. */
const MAX_DISTANCE = 40;

interface Seen {
  shapes: { colour: ColourName; shape: ShapeName | undefined; blob: ColourBlob }[];
}

function look(png: Buffer): Seen {
  const image = decodePng(png);
  const blobs = findBlobs(image, classifyPixels(image, MAX_DISTANCE));
  return { shapes: blobs.map((blob) => ({ colour: blob.colour, shape: recogniseShape(blob), blob })) };
}

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const COLOUR = `(${COLOURS.join('|')})`;
const SHAPE = `(${SHAPES.join('|')})`;
const PLURAL = `(${SHAPES.map(pluralOf).join('|')})`;

/** The `(A) …` lines of a choice question, in order. */
function choicesOf(text: string): string[] {
  return [...text.matchAll(/^\(([A-Z])\) (.*)$/gm)].map((m) => m[2]!.trim());
}

function letterOf(choices: readonly string[], wanted: string): string | null {
  const at = choices.indexOf(wanted);
  return at < 0 ? null : LETTERS[at]!;
}

/** What the question asks, worked out from the pictures; null when it is no question it knows. */
function answerOf(
  text: string,
  seen: Seen[],
): { answer: string; kind: 'letter' | 'letters' | 'number' | 'word' | 'yes-no' } | null {
  const first = seen[0];
  if (!first) return null;
  const choices = choicesOf(text);
  let m: RegExpExecArray | null;
  if ((m = new RegExp(`How many ${COLOUR} ${PLURAL} are in the picture\\?`).exec(text))) {
    const shape = SHAPES.find((s) => pluralOf(s) === m![2])!;
    const n = first.shapes.filter((s) => s.colour === m![1] && s.shape === shape).length;
    const letter = letterOf(choices, String(n));
    return letter ? { answer: letter, kind: 'letter' } : null;
  }
  if ((m = new RegExp(`What colour is the ${SHAPE}\\?`).exec(text))) {
    const found = first.shapes.find((s) => s.shape === m![1]);
    const letter = found ? letterOf(choices, found.colour) : null;
    return letter ? { answer: letter, kind: 'letter' } : null;
  }
  if (/Which picture has more shapes\?/.test(text) && seen.length === 2) {
    const [a, b] = seen.map((s) => s.shapes.length) as [number, number];
    const letter = letterOf(choices, a > b ? 'the first picture' : 'the second picture');
    return letter ? { answer: letter, kind: 'letter' } : null;
  }
  if (/Which colours appear in the picture\?/.test(text)) {
    const present = new Set(first.shapes.map((s) => s.colour));
    const letters = choices.flatMap((c, k) => (present.has(c as ColourName) ? [LETTERS[k]!] : []));
    return { answer: letters.join(','), kind: 'letters' };
  }
  if (/The picture shows ___ shapes in all\./.test(text))
    return { answer: String(first.shapes.length), kind: 'number' };
  if ((m = new RegExp(`What shape is the ${COLOUR} object\\?`).exec(text))) {
    const shape = first.shapes.find((s) => s.colour === m![1])?.shape;
    return shape ? { answer: shape, kind: 'word' } : null;
  }
  if (/Which colour is the tallest bar\?/.test(text)) {
    const tallest = [...first.shapes].sort((a, b) => height(b.blob) - height(a.blob))[0];
    return tallest ? { answer: tallest.colour, kind: 'word' } : null;
  }
  if (/The chart has ___ bars\./.test(text)) return { answer: String(first.shapes.length), kind: 'number' };
  if ((m = new RegExp(`Is there an? ${COLOUR} ${SHAPE} in the picture\\?`).exec(text))) {
    const there = first.shapes.some((s) => s.colour === m![1] && s.shape === m![2]);
    return { answer: there ? 'yes' : 'no', kind: 'yes-no' };
  }
  if ((m = new RegExp(`Is the ${COLOUR} bar taller than the ${COLOUR} bar\\?`).exec(text))) {
    const bar = (colour: string) => first.shapes.find((s) => s.colour === colour);
    const [a, b] = [bar(m[1]!), bar(m[2]!)];
    if (!a || !b) return null;
    return { answer: height(a.blob) > height(b.blob) ? 'yes' : 'no', kind: 'yes-no' };
  }
  return null;
}

function height(blob: ColourBlob): number {
  return blob.bounds.y1 - blob.bounds.y0 + 1;
}

/** A plausible wrong answer of the same kind: a neighbouring letter, one more, another word, the other of yes/no. */
function wrongOf(answer: string, kind: string, pick: number, choices: readonly string[]): string {
  switch (kind) {
    case 'letter': {
      const n = Math.max(2, choices.length);
      return LETTERS[(LETTERS.indexOf(answer) + 1 + Math.floor(pick * (n - 1))) % n]!;
    }
    case 'letters':
      return answer === 'A' ? 'B' : 'A';
    case 'number':
      return String(Number(answer) + 1 + Math.floor(pick * 2));
    case 'yes-no':
      return answer === 'yes' ? 'no' : 'yes';
    default: {
      const words: readonly string[] = (COLOURS as readonly string[]).includes(answer) ? COLOURS : SHAPES;
      const others = words.filter((w) => w !== answer);
      return others[Math.floor(pick * others.length)]!;
    }
  }
}

export function solvePictureQuestion(text: string, pictures: readonly Buffer[]): Solution | null {
  let seen: Seen[];
  try {
    seen = pictures.map(look);
  } catch {
    return null;
  }
  const solved = answerOf(text, seen);
  if (!solved) return null;
  const choices = choicesOf(text);
  return {
    kind: 'picture',
    answer: solved.answer,
    wrongAnswer: (pick) => wrongOf(solved.answer, solved.kind, pick, choices),
    explain: (given) =>
      `Looking at the picture${pictures.length === 1 ? '' : 's'}, I see ${seen.map((s) => `${s.shapes.length} shape(s)`).join(' and ')}; so the answer is ${given}.`,
  };
}
