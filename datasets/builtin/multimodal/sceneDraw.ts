/**
 * Random scenes for the multimodal built-ins, drawn from a seeded Prng so every process draws the
 * same ones. Shapes are placed at random where their bounding boxes keep a clear gap from each
 * other and from the canvas edge, so no two shapes touch and each is one blob of its colour. Bar
 * charts take distinct colours and heights at least BAR_STEP apart, so which bar is taller is
 * never in doubt, to a model or to a test reading the picture back.
 */
import type { Prng } from '../../prng';
import { maxBarHeight, type BarSpec, type Scene, type ShapeSpec } from './render';
import type { ColourName, ShapeName } from './palette';

/** Every built-in picture is this square size (a common input size of vision encoders). */
export const CANVAS = 224;
/** Pixels between two shapes' bounding boxes, and between a box and the canvas edge. */
const GAP = 6;
const PLACEMENT_TRIES = 400;
const LAYOUT_RESTARTS = 100;

export const MIN_RADIUS = 10;
export const MAX_RADIUS = 28;

/**
 * The largest half-extent drawn for a scene of `count` shapes: a crowded scene takes smaller
 * shapes, so random placement finds room for all of them at the first or second try.
 */
export function maxRadiusFor(count: number): number {
  return count <= 3 ? MAX_RADIUS : count === 4 ? 24 : 20;
}

export interface ShapeDraft {
  shape: ShapeName;
  colour: ColourName;
  /** Half-extent; drawn from [MIN_RADIUS, maxRadiusFor(number of shapes)] when left out. */
  r?: number;
}

/** A scene of exactly these shapes (in this order), each at a random free place. */
export function placeShapes(prng: Prng, drafts: readonly ShapeDraft[]): Scene {
  const largest = maxRadiusFor(drafts.length);
  const sized = drafts.map((d) => ({ ...d, r: d.r ?? prng.int(MIN_RADIUS, largest) }));
  for (let restart = 0; restart < LAYOUT_RESTARTS; restart++) {
    const placed: ShapeSpec[] = [];
    for (const d of sized) {
      const spot = freeSpot(prng, d.r, placed);
      if (spot === undefined) break;
      placed.push({ shape: d.shape, colour: d.colour, cx: spot.cx, cy: spot.cy, r: d.r });
    }
    if (placed.length === sized.length) return { kind: 'shapes', width: CANVAS, height: CANVAS, shapes: placed };
  }
  throw new Error(`no room for ${drafts.length} shapes on a ${CANVAS}-pixel canvas`);
}

function freeSpot(prng: Prng, r: number, placed: readonly ShapeSpec[]) {
  const lo = GAP + r;
  const hi = CANVAS - 1 - GAP - r;
  for (let t = 0; t < PLACEMENT_TRIES; t++) {
    const cx = prng.int(lo, hi);
    const cy = prng.int(lo, hi);
    // Boxes [c−r, c+r] keep GAP pixels between them on at least one axis.
    const clear = placed.every((o) => Math.abs(o.cx - cx) > o.r + r + GAP || Math.abs(o.cy - cy) > o.r + r + GAP);
    if (clear) return { cx, cy };
  }
  return undefined;
}

/** Bar heights step by this much, so any two bars differ visibly. */
export const BAR_STEP = 14;
const MIN_BAR = 20;

/** A chart of `count` bars of distinct colours and distinct heights (at least BAR_STEP apart). */
export function drawBarChart(prng: Prng, count: number, colours: readonly ColourName[]): Scene {
  const steps = Math.floor((maxBarHeight(CANVAS) - MIN_BAR) / BAR_STEP) + 1;
  if (count < 1 || count > steps) throw new RangeError(`a chart has 1–${steps} bars, not ${count}`);
  const levels = shuffled(
    prng,
    Array.from({ length: steps }, (_, k) => MIN_BAR + k * BAR_STEP),
  ).slice(0, count);
  const chosen = shuffled(prng, colours).slice(0, count);
  if (chosen.length < count) throw new RangeError(`${count} bars need ${count} colours`);
  const bars: BarSpec[] = chosen.map((colour, i) => ({ colour, height: levels[i]! }));
  return { kind: 'bars', width: CANVAS, height: CANVAS, bars };
}

/** A Fisher–Yates shuffle of a copy. */
export function shuffled<T>(prng: Prng, values: readonly T[]): T[] {
  const out = [...values];
  for (let k = out.length - 1; k > 0; k--) {
    const j = prng.int(0, k);
    [out[k], out[j]] = [out[j]!, out[k]!];
  }
  return out;
}

/** `count` distinct values of `values`, in a random order. */
export function pickDistinct<T>(prng: Prng, values: readonly T[], count: number): T[] {
  if (count > values.length) throw new RangeError(`cannot pick ${count} distinct of ${values.length}`);
  return shuffled(prng, values).slice(0, count);
}
