import { describe, expect, it } from 'vitest';
import { Prng } from '../../../datasets/prng';
import {
  classifyPixels,
  decodePng,
  findBlobs,
  blobHeight,
  recogniseShape,
} from '../../../datasets/builtin/multimodal/colourBlobs';
import { COLOURS, SHAPES } from '../../../datasets/builtin/multimodal/palette';
import { maxBarHeight, renderScene, shapeArea, shapeBounds } from '../../../datasets/builtin/multimodal/render';
import {
  BAR_STEP,
  CANVAS,
  MIN_RADIUS,
  drawBarChart,
  maxRadiusFor,
  pickDistinct,
  placeShapes,
  shuffled,
  type ShapeDraft,
} from '../../../datasets/builtin/multimodal/sceneDraw';

function randomDrafts(prng: Prng): ShapeDraft[] {
  return Array.from({ length: prng.int(1, 6) }, () => ({ shape: prng.pick(SHAPES), colour: prng.pick(COLOURS) }));
}

function blobsOf(png: Buffer) {
  const image = decodePng(png);
  return findBlobs(image, classifyPixels(image, 1));
}

describe('placeShapes', () => {
  it('draws the same scene from the same seed', () => {
    const drafts: ShapeDraft[] = [
      { shape: 'circle', colour: 'red' },
      { shape: 'cross', colour: 'black', r: 15 },
    ];
    expect(placeShapes(new Prng(9), drafts)).toEqual(placeShapes(new Prng(9), drafts));
    expect(placeShapes(new Prng(9), drafts)).not.toEqual(placeShapes(new Prng(10), drafts));
  });

  it('keeps the drafts in order, sizes them for the crowd, and keeps a gap between boxes and from the edge', () => {
    const prng = new Prng(1);
    for (let n = 0; n < 300; n++) {
      const drafts = randomDrafts(prng);
      const scene = placeShapes(prng, drafts);
      if (scene.kind !== 'shapes') throw new Error('expected a shapes scene');
      expect([scene.width, scene.height]).toEqual([CANVAS, CANVAS]);
      expect(scene.shapes.map(({ shape, colour }) => ({ shape, colour }))).toEqual(drafts);
      const boxes = scene.shapes.map(shapeBounds);
      scene.shapes.forEach((s, i) => {
        expect(s.r).toBeGreaterThanOrEqual(MIN_RADIUS);
        expect(s.r).toBeLessThanOrEqual(maxRadiusFor(drafts.length));
        const b = boxes[i]!;
        expect(Math.min(b.x0, b.y0, CANVAS - 1 - b.x1, CANVAS - 1 - b.y1)).toBeGreaterThanOrEqual(6);
        for (const o of boxes.slice(0, i)) {
          const gapX = Math.max(o.x0 - b.x1, b.x0 - o.x1) - 1;
          const gapY = Math.max(o.y0 - b.y1, b.y0 - o.y1) - 1;
          expect(Math.max(gapX, gapY)).toBeGreaterThanOrEqual(6);
        }
      });
    }
  });

  it('draws scenes that decode back to one blob per shape, of its colour, exact area and shape', () => {
    const prng = new Prng(2);
    for (let n = 0; n < 150; n++) {
      const scene = placeShapes(prng, randomDrafts(prng));
      if (scene.kind !== 'shapes') throw new Error('expected a shapes scene');
      const found = blobsOf(renderScene(scene))
        .map((b) => ({
          colour: b.colour,
          pixels: b.pixels,
          shape: recogniseShape(b),
          x0: b.bounds.x0,
          y0: b.bounds.y0,
        }))
        .sort((a, b) => a.x0 - b.x0 || a.y0 - b.y0);
      const expected = scene.shapes
        .map((s) => ({ colour: s.colour, pixels: shapeArea(s), shape: s.shape, x0: s.cx - s.r, y0: s.cy - s.r }))
        .sort((a, b) => a.x0 - b.x0 || a.y0 - b.y0);
      expect(found).toEqual(expected);
    }
  });

  it('refuses shapes that cannot fit', () => {
    const huge = Array.from({ length: 5 }, () => ({ shape: 'square' as const, colour: 'red' as const, r: 60 }));
    expect(() => placeShapes(new Prng(3), huge)).toThrow(/no room for 5 shapes/);
  });
});

describe('drawBarChart', () => {
  it('draws distinct colours at heights BAR_STEP apart, each bar one blob of its height', () => {
    expect(BAR_STEP).toBeGreaterThanOrEqual(12);
    const prng = new Prng(4);
    for (let n = 0; n < 100; n++) {
      const count = prng.int(2, 5);
      const scene = drawBarChart(prng, count, COLOURS);
      if (scene.kind !== 'bars') throw new Error('expected a bar chart');
      expect(scene.bars).toHaveLength(count);
      expect(new Set(scene.bars.map((b) => b.colour)).size).toBe(count);
      const heights = scene.bars.map((b) => b.height).sort((a, b) => a - b);
      heights.forEach((h, i) => {
        expect(h).toBeLessThanOrEqual(maxBarHeight(CANVAS));
        if (i > 0) expect(h - heights[i - 1]!).toBeGreaterThanOrEqual(BAR_STEP);
      });
      const blobs = blobsOf(renderScene(scene)).sort((a, b) => a.bounds.x0 - b.bounds.x0);
      expect(blobs.map((b) => ({ colour: b.colour, height: blobHeight(b) }))).toEqual(scene.bars);
    }
  });

  it('refuses more bars than colours or height levels', () => {
    expect(() => drawBarChart(new Prng(5), 3, ['red', 'blue'])).toThrow(/3 bars need 3 colours/);
    expect(() => drawBarChart(new Prng(5), 40, COLOURS)).toThrow(RangeError);
  });
});

describe('shuffled and pickDistinct', () => {
  it('permute a copy and pick distinct values', () => {
    const values = [1, 2, 3, 4, 5, 6];
    const out = shuffled(new Prng(6), values);
    expect(values).toEqual([1, 2, 3, 4, 5, 6]);
    expect([...out].sort()).toEqual(values);
    const picked = pickDistinct(new Prng(7), values, 4);
    expect(new Set(picked).size).toBe(4);
    expect(() => pickDistinct(new Prng(7), values, 7)).toThrow(RangeError);
  });
});
