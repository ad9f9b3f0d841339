/**
 * The scene renderer of the multimodal built-ins. A scene is plain JSON (it can be stored beside
 * an item and drawn again anywhere); `renderScene` turns it into a PNG, byte for byte the same in
 * every process: integer geometry only (a pixel is in a shape or not, no anti-aliasing), exact
 * palette colours, and a PNG encoding whose every choice is pinned (see `encodePng`).
 *
 * Geometry, for a shape centred on (cx, cy) with half-extent r (its bounding box is the
 * (2r+1)-pixel square [cx−r, cx+r] × [cy−r, cy+r]):
 *   - circle: (x−cx)² + (y−cy)² ≤ r²;
 *   - square: the whole bounding box;
 *   - triangle: apex up; row k = y − (cy−r) (0…2r) covers 2·|x−cx| ≤ k, so the bottom row is the
 *     full width;
 *   - cross: an upright plus of arm half-width t = ⌊r/3⌋: |x−cx| ≤ t or |y−cy| ≤ t.
 * A bar chart puts its n bars in n equal slots between 16-pixel margins, each bar 60 % of its slot
 * wide and centred in it, standing on a 2-pixel grey baseline.
 */
import { PNG } from 'pngjs';
import { BASELINE_GREY, COLOURS, PALETTE, SHAPES, type ColourName, type Rgb, type ShapeName } from './palette';

export interface ShapeSpec {
  shape: ShapeName;
  colour: ColourName;
  cx: number;
  cy: number;
  r: number;
}

export interface BarSpec {
  colour: ColourName;
  /** Pixels above the baseline. */
  height: number;
}

export type Scene =
  | { kind: 'shapes'; width: number; height: number; shapes: ShapeSpec[] }
  | { kind: 'bars'; width: number; height: number; bars: BarSpec[] };

/** An inclusive pixel rectangle. */
export interface Rect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export const CHART_MARGIN = 16;
const BASELINE_THICKNESS = 2;
const MAX_SIDE = 4096;

export function shapeBounds({ cx, cy, r }: ShapeSpec): Rect {
  return { x0: cx - r, y0: cy - r, x1: cx + r, y1: cy + r };
}

export function shapeCovers({ shape, cx, cy, r }: ShapeSpec, x: number, y: number): boolean {
  const dx = Math.abs(x - cx);
  const dy = Math.abs(y - cy);
  if (dx > r || dy > r) return false;
  switch (shape) {
    case 'circle':
      return dx * dx + dy * dy <= r * r;
    case 'square':
      return true;
    case 'triangle':
      return 2 * dx <= y - (cy - r);
    case 'cross': {
      const t = Math.floor(r / 3);
      return dx <= t || dy <= t;
    }
  }
}

/** The number of pixels a shape paints: what "largest" means in the questions. */
export function shapeArea(spec: ShapeSpec): number {
  const b = shapeBounds(spec);
  let n = 0;
  for (let y = b.y0; y <= b.y1; y++) for (let x = b.x0; x <= b.x1; x++) if (shapeCovers(spec, x, y)) n++;
  return n;
}

/** Where each bar of a chart of `count` bars stands, its top `heights[i]` pixels above the baseline. */
export function barRects(width: number, height: number, heights: readonly number[]): Rect[] {
  const slot = Math.floor((width - 2 * CHART_MARGIN) / heights.length);
  const barWidth = Math.floor((slot * 3) / 5);
  const baseline = height - CHART_MARGIN;
  return heights.map((h, i) => {
    const x0 = CHART_MARGIN + i * slot + Math.floor((slot - barWidth) / 2);
    return { x0, y0: baseline - h, x1: x0 + barWidth - 1, y1: baseline - 1 };
  });
}

/** The tallest a bar may be on a canvas of this height: it keeps a margin above it. */
export function maxBarHeight(height: number): number {
  return height - 2 * CHART_MARGIN;
}

export function renderScene(scene: Scene): Buffer {
  return encodePng(scene.width, scene.height, renderRgb(scene));
}

/** The scene's pixels, 3 bytes (R, G, B) a pixel, row by row from the top left. */
export function renderRgb(scene: Scene): Buffer {
  checkScene(scene);
  const { width, height } = scene;
  const rgb = Buffer.alloc(width * height * 3, 255);
  const paint = (x: number, y: number, [r, g, b]: Rgb) => {
    const at = (y * width + x) * 3;
    rgb[at] = r;
    rgb[at + 1] = g;
    rgb[at + 2] = b;
  };
  if (scene.kind === 'shapes') {
    for (const spec of scene.shapes) {
      const b = shapeBounds(spec);
      const colour = PALETTE[spec.colour];
      for (let y = b.y0; y <= b.y1; y++)
        for (let x = b.x0; x <= b.x1; x++) if (shapeCovers(spec, x, y)) paint(x, y, colour);
    }
  } else {
    const rects = barRects(
      width,
      height,
      scene.bars.map((bar) => bar.height),
    );
    rects.forEach((rect, i) => {
      const colour = PALETTE[scene.bars[i]!.colour];
      for (let y = rect.y0; y <= rect.y1; y++) for (let x = rect.x0; x <= rect.x1; x++) paint(x, y, colour);
    });
    const baseline = height - CHART_MARGIN;
    for (let y = baseline; y < baseline + BASELINE_THICKNESS; y++)
      for (let x = CHART_MARGIN; x < width - CHART_MARGIN; x++) paint(x, y, BASELINE_GREY);
  }
  return rgb;
}

/**
 * 8-bit RGB PNG, no interlace, every row filtered with Up (rows of a flat scene repeat, so they
 * filter to zeros) and deflated at level 9 with the Z_RLE strategy. Z_RLE finds only runs (matches
 * at distance 1) and skips zlib's hash chains, whose CPU-specific variants (SIMD hashing in some
 * zlib builds) could otherwise make the compressed bytes differ between machines.
 */
export function encodePng(width: number, height: number, rgb: Buffer): Buffer {
  if (rgb.length !== width * height * 3)
    throw new RangeError(`${width}×${height} RGB takes ${width * height * 3} bytes, got ${rgb.length}`);
  const png = new PNG({ width, height });
  png.data = rgb;
  return PNG.sync.write(png, {
    colorType: 2,
    inputColorType: 2,
    inputHasAlpha: false,
    bitDepth: 8,
    filterType: 2,
    deflateLevel: 9,
    deflateStrategy: 3,
    deflateChunkSize: 32 * 1024,
  });
}

/** A stored scene is checked before it is drawn: a bad one fails here, naming what is wrong. */
function checkScene(scene: Scene): void {
  const { width, height } = scene;
  for (const [name, v] of [
    ['width', width],
    ['height', height],
  ] as const)
    if (!Number.isInteger(v) || v < 1 || v > MAX_SIDE)
      throw new RangeError(`scene ${name} must be an integer 1–${MAX_SIDE}, got ${v}`);
  if (scene.kind === 'shapes') {
    scene.shapes.forEach((spec, i) => {
      if (!SHAPES.includes(spec.shape)) throw new RangeError(`shape ${i}: unknown shape ${String(spec.shape)}`);
      if (!COLOURS.includes(spec.colour)) throw new RangeError(`shape ${i}: unknown colour ${String(spec.colour)}`);
      const b = shapeBounds(spec);
      if (![spec.cx, spec.cy, spec.r].every(Number.isInteger) || spec.r < 1)
        throw new RangeError(`shape ${i}: cx, cy and r must be integers, r at least 1`);
      if (b.x0 < 0 || b.y0 < 0 || b.x1 >= width || b.y1 >= height)
        throw new RangeError(`shape ${i}: its bounding box leaves the ${width}×${height} canvas`);
    });
  } else if (scene.kind === 'bars') {
    const slot = Math.floor((width - 2 * CHART_MARGIN) / Math.max(1, scene.bars.length));
    if (scene.bars.length < 1 || Math.floor((slot * 3) / 5) < 1)
      throw new RangeError(`a ${width}-pixel-wide chart has no room for ${scene.bars.length} bars`);
    scene.bars.forEach((bar, i) => {
      if (!COLOURS.includes(bar.colour)) throw new RangeError(`bar ${i}: unknown colour ${String(bar.colour)}`);
      if (!Number.isInteger(bar.height) || bar.height < 1 || bar.height > maxBarHeight(height))
        throw new RangeError(`bar ${i}: height must be an integer 1–${maxBarHeight(height)}, got ${bar.height}`);
    });
  } else {
    throw new RangeError(`unknown scene kind ${String((scene as { kind: unknown }).kind)}`);
  }
}
