/**
 * Reading a picture back: decode a PNG, name each pixel's colour, and measure the connected blobs
 * of each colour. The text-to-image checker measures a model's picture with it, and the tests
 * re-derive the built-ins' answers from their rendered PNGs with it, independently of the scene
 * descriptions the answers were written from.
 *
 * A pixel takes the name of the nearest palette colour or white (Euclidean RGB distance) when that
 * distance is at most `maxDistance`; otherwise it has none. Transparent pixels are first laid over
 * white. Blobs are 4-connected sets of pixels of one palette colour; white and unnamed pixels form
 * none.
 */
import { PNG } from 'pngjs';
import { COLOURS, PALETTE, WHITE, type ColourName, type ShapeName } from './palette';
import type { Rect } from './render';

export interface RgbImage {
  width: number;
  height: number;
  /** 3 bytes a pixel, row by row. */
  rgb: Buffer;
}

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Width and height from the IHDR chunk, read before decoding so a huge picture is refused cheaply. */
export function pngSize(png: Buffer): { width: number; height: number } {
  if (png.length < 24 || !png.subarray(0, 8).equals(PNG_SIGNATURE))
    throw new Error('not a PNG: the file does not start with the PNG signature');
  if (png.toString('latin1', 12, 16) !== 'IHDR') throw new Error('not a PNG: the first chunk is not IHDR');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

/** Any PNG pngjs reads (palette, grey, 16-bit, alpha, interlaced) as 8-bit RGB over white. */
export function decodePng(png: Buffer): RgbImage {
  pngSize(png);
  let decoded: PNG;
  try {
    decoded = PNG.sync.read(png);
  } catch (err) {
    // pngjs reports a file that ends early as a stream still waiting for reads.
    const message = err instanceof Error ? err.message : String(err);
    throw new Error(
      /finished stream|unexpected end/i.test(message)
        ? 'not a readable PNG: the file ends before its image data does (truncated)'
        : `not a readable PNG: ${message}`,
      { cause: err },
    );
  }
  const { width, height, data } = decoded;
  const rgb = Buffer.alloc(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    const a = data[p * 4 + 3]!;
    for (let c = 0; c < 3; c++) {
      const v = data[p * 4 + c]!;
      rgb[p * 3 + c] = a === 255 ? v : Math.round((v * a + 255 * (255 - a)) / 255);
    }
  }
  return { width, height, rgb };
}

/** Pixel classes: an index into COLOURS, or one of these. */
export const WHITE_CLASS = -1;
export const NO_CLASS = -2;

const REFERENCES: readonly (readonly [number, readonly number[]])[] = [
  ...COLOURS.map((c, i) => [i, PALETTE[c]] as const),
  [WHITE_CLASS, WHITE],
];

/** Each pixel's class (see WHITE_CLASS, NO_CLASS), row by row. */
export function classifyPixels(image: RgbImage, maxDistance: number): Int8Array {
  const { width, height, rgb } = image;
  const classes = new Int8Array(width * height);
  const limit = maxDistance * maxDistance;
  // Pictures have few distinct colours; naming each once keeps a megapixel picture cheap.
  const cache = new Map<number, number>();
  for (let p = 0; p < width * height; p++) {
    const r = rgb[p * 3]!;
    const g = rgb[p * 3 + 1]!;
    const b = rgb[p * 3 + 2]!;
    const key = (r << 16) | (g << 8) | b;
    let cls = cache.get(key);
    if (cls === undefined) {
      let best = NO_CLASS;
      let bestDistance = Infinity;
      for (const [c, [cr, cg, cb]] of REFERENCES) {
        const d = (r - cr!) ** 2 + (g - cg!) ** 2 + (b - cb!) ** 2;
        if (d < bestDistance) [best, bestDistance] = [c, d];
      }
      cls = bestDistance <= limit ? best : NO_CLASS;
      cache.set(key, cls);
    }
    classes[p] = cls;
  }
  return classes;
}

export interface ColourBlob {
  colour: ColourName;
  pixels: number;
  bounds: Rect;
  /** Pixels of the bounding box inside the blob's outline: the blob with its holes filled. */
  filledPixels: number;
  /** The share of the blob's pixels in the top half of its bounding box (a middle row counts half). */
  topShare: number;
  /** For each row of the bounding box, top first: leftmost to rightmost blob pixel, inclusive (0 if none). */
  rowWidths: Int32Array;
}

export function blobWidth(blob: ColourBlob): number {
  return blob.bounds.x1 - blob.bounds.x0 + 1;
}

export function blobHeight(blob: ColourBlob): number {
  return blob.bounds.y1 - blob.bounds.y0 + 1;
}

/** The filled blob's share of its bounding box: π/4 for a disc, 1 for a square, about ½ for a triangle. */
export function fillRatio(blob: ColourBlob): number {
  return blob.filledPixels / (blobWidth(blob) * blobHeight(blob));
}

/** The blob's width in the row `fraction` (0 the top row, 1 past the bottom) down its bounding box. */
export function widthAt(blob: ColourBlob, fraction: number): number {
  const h = blobHeight(blob);
  return blob.rowWidths[Math.min(h - 1, Math.max(0, Math.floor(fraction * h)))]!;
}

/** Every blob of a palette colour (of `only` when given), largest first, ties in reading order. */
export function findBlobs(image: RgbImage, classes: Int8Array, only?: ColourName): ColourBlob[] {
  const { width, height } = image;
  const size = width * height;
  const labels = new Int32Array(size).fill(-1);
  const blobs: ColourBlob[] = [];
  const stack: number[] = [];
  const wanted = only === undefined ? undefined : COLOURS.indexOf(only);
  for (let start = 0; start < size; start++) {
    const cls = classes[start]!;
    if (cls < 0 || labels[start] !== -1 || (wanted !== undefined && cls !== wanted)) continue;
    const label = blobs.length;
    const members: number[] = [];
    const visit = (q: number) => {
      if (labels[q] !== -1 || classes[q] !== cls) return;
      labels[q] = label;
      stack.push(q);
    };
    labels[start] = label;
    stack.push(start);
    while (stack.length > 0) {
      const p = stack.pop()!;
      members.push(p);
      const x = p % width;
      if (x > 0) visit(p - 1);
      if (x < width - 1) visit(p + 1);
      if (p >= width) visit(p - width);
      if (p + width < size) visit(p + width);
    }
    blobs.push(measureBlob(COLOURS[cls]!, members, labels, label, width));
  }
  return blobs
    .map((blob, order) => ({ blob, order }))
    .sort((a, b) => b.blob.pixels - a.blob.pixels || a.order - b.order)
    .map(({ blob }) => blob);
}

function measureBlob(
  colour: ColourName,
  members: number[],
  labels: Int32Array,
  label: number,
  width: number,
): ColourBlob {
  const bounds = { x0: Infinity, y0: Infinity, x1: -Infinity, y1: -Infinity };
  for (const p of members) {
    const x = p % width;
    const y = (p - x) / width;
    bounds.x0 = Math.min(bounds.x0, x);
    bounds.x1 = Math.max(bounds.x1, x);
    bounds.y0 = Math.min(bounds.y0, y);
    bounds.y1 = Math.max(bounds.y1, y);
  }
  const h = bounds.y1 - bounds.y0 + 1;
  const left = new Int32Array(h).fill(-1);
  const right = new Int32Array(h).fill(-1);
  let top = 0;
  for (const p of members) {
    const x = p % width;
    const row = (p - x) / width - bounds.y0;
    const twice = 2 * row + 1;
    top += twice < h ? 1 : twice === h ? 0.5 : 0;
    if (left[row] === -1 || x < left[row]!) left[row] = x;
    if (x > right[row]!) right[row] = x;
  }
  return {
    colour,
    pixels: members.length,
    bounds,
    filledPixels: filledArea(bounds, labels, label, width),
    topShare: top / members.length,
    rowWidths: left.map((l, row) => (l === -1 ? 0 : right[row]! - l + 1)),
  };
}

/** The bounding box less the pixels that reach its border through pixels not in the blob. */
function filledArea(b: Rect, labels: Int32Array, label: number, width: number): number {
  const w = b.x1 - b.x0 + 1;
  const h = b.y1 - b.y0 + 1;
  const outside = new Uint8Array(w * h);
  const stack: number[] = [];
  const visit = (x: number, y: number) => {
    const i = y * w + x;
    if (outside[i] || labels[(b.y0 + y) * width + b.x0 + x] === label) return;
    outside[i] = 1;
    stack.push(i);
  };
  for (let x = 0; x < w; x++) {
    visit(x, 0);
    visit(x, h - 1);
  }
  for (let y = 0; y < h; y++) {
    visit(0, y);
    visit(w - 1, y);
  }
  let count = 0;
  while (stack.length > 0) {
    const i = stack.pop()!;
    count++;
    const x = i % w;
    const y = (i - x) / w;
    if (x > 0) visit(x - 1, y);
    if (x < w - 1) visit(x + 1, y);
    if (y > 0) visit(x, y - 1);
    if (y < h - 1) visit(x, y + 1);
  }
  return w * h - count;
}

/**
 * Which of the renderer's shapes a blob of an exact rendering is, from its outline alone: a square
 * fills its box, a triangle (apex up) keeps about a quarter of its pixels in the top half, a disc
 * fills about π/4 of its box (0.70 at radius 10, rising towards 0.785), a cross 0.5–0.6 and is as
 * heavy above its middle as below. Nothing if the box is not square or the fill matches none;
 * meant for the renderer's pictures, not for a model's (the text-to-image checker has its own,
 * wider rules).
 */
export function recogniseShape(blob: ColourBlob): ShapeName | undefined {
  if (blobWidth(blob) !== blobHeight(blob)) return undefined;
  const fill = fillRatio(blob);
  if (fill === 1) return 'square';
  if (blob.topShare < 0.4 && fill > 0.45 && fill < 0.56) return 'triangle';
  if (fill >= 0.66 && fill < 0.82) return 'circle';
  if (fill >= 0.45 && fill < 0.66 && Math.abs(blob.topShare - 0.5) < 0.01) return 'cross';
  return undefined;
}
