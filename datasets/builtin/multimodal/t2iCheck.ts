/**
 * Whether a generated picture shows what a `mm-shapes-t2i` item asked for, decided from its pixels
 * alone so a text-to-image model is scored without a judge model. The rules are the contract's:
 * a readable PNG with both sides 64–1024 px (read from IHDR before anything is decoded, so a huge
 * picture costs nothing); after colour naming, the largest blob of a non-white palette colour must
 * be the colour asked and cover at least 2 % of the picture; and its shape, classified from its
 * bounding box and fill ratio, must be the shape asked. The reason says in words what was measured,
 * so a refused picture can be understood without opening it.
 */
import {
  blobHeight,
  blobWidth,
  classifyPixels,
  decodePng,
  findBlobs,
  pngSize,
  widthAt,
  type ColourBlob,
} from './colourBlobs';
import type { T2iExpectation } from './mmShapesT2i';
import { articleFor, type ShapeName } from './palette';

export const T2I_MIN_SIDE = 64;
export const T2I_MAX_SIDE = 1024;
/** The least share of the picture the largest coloured blob covers: a speck is no drawing. */
export const T2I_MIN_SHARE = 0.02;
/**
 * How far (Euclidean RGB) a pixel may be from a palette colour and still take its name. The closest
 * palette pair is 102 apart, so up to 51 nearest is unambiguous; 80 also takes in shading and
 * compression noise, while the chart grey (109 from purple) and pastel tints stay unnamed.
 */
export const T2I_COLOUR_TOLERANCE = 80;

const MIN_ASPECT = 0.8;
const MAX_ASPECT = 1.25;
const SQUARE_FILL = 0.9;
const CIRCLE_FILL = 0.7;
/** A triangle (apex up) is narrower a quarter of the way down than three quarters down by this factor. */
const TRIANGLE_TAPER = 0.6;

export interface T2iVerdict {
  ok: boolean;
  reason: string;
}

export function checkT2iPicture(png: Buffer, expect: T2iExpectation): T2iVerdict {
  const wanted = `${articleFor(expect.colour)} ${expect.colour} ${expect.shape}`;
  const refuse = (reason: string): T2iVerdict => ({ ok: false, reason });
  let image;
  try {
    const { width, height } = pngSize(png);
    if ([width, height].some((side) => side < T2I_MIN_SIDE || side > T2I_MAX_SIDE))
      return refuse(`the picture is ${width}×${height} px; both sides must be ${T2I_MIN_SIDE}–${T2I_MAX_SIDE} px`);
    image = decodePng(png);
  } catch (err) {
    return refuse(err instanceof Error ? err.message : String(err));
  }
  const area = image.width * image.height;
  const largest = findBlobs(image, classifyPixels(image, T2I_COLOUR_TOLERANCE))[0];
  if (largest === undefined)
    return refuse(
      `the ${image.width}×${image.height} px picture has no pixel of a palette colour other than white; expected ${wanted}`,
    );
  const share = largest.pixels / area;
  const measured = `the largest blob is ${largest.colour}, ${largest.pixels} px (${percent(share)} of the picture)`;
  if (largest.colour !== expect.colour) return refuse(`${measured}; expected ${wanted}`);
  if (share < T2I_MIN_SHARE)
    return refuse(`${measured}, under the ${T2I_MIN_SHARE * 100} % required; expected ${wanted}`);
  const shape = classifyT2iShape(largest);
  const geometry = describeShape(largest);
  if (shape === undefined) return refuse(`${measured}, ${geometry}: no shape; expected ${wanted}`);
  if (shape !== expect.shape) return refuse(`${measured}, ${geometry}: a ${shape}; expected ${wanted}`);
  return { ok: true, reason: `${measured}, ${geometry}: ${wanted}, as expected` };
}

/**
 * The contract's shape of a blob: none if its box is far from square; else by fill ratio
 * f = pixels / box area, a square (f ≥ 0.9), a circle (0.7 ≤ f < 0.9), or below that a triangle if it
 * is much narrower a quarter of the way down than three quarters down, else a cross.
 */
export function classifyT2iShape(blob: ColourBlob): ShapeName | undefined {
  const aspect = blobWidth(blob) / blobHeight(blob);
  if (aspect < MIN_ASPECT || aspect > MAX_ASPECT) return undefined;
  const fill = blobFill(blob);
  if (fill >= SQUARE_FILL) return 'square';
  if (fill >= CIRCLE_FILL) return 'circle';
  return widthAt(blob, 0.25) < TRIANGLE_TAPER * widthAt(blob, 0.75) ? 'triangle' : 'cross';
}

function blobFill(blob: ColourBlob): number {
  return blob.pixels / (blobWidth(blob) * blobHeight(blob));
}

/** What classifyT2iShape looked at, in words. */
function describeShape(blob: ColourBlob): string {
  const w = blobWidth(blob);
  const h = blobHeight(blob);
  const aspect = w / h;
  const box = `its box ${w}×${h} px`;
  if (aspect < MIN_ASPECT || aspect > MAX_ASPECT)
    return `${box} (aspect ${aspect.toFixed(2)}, outside ${MIN_ASPECT}–${MAX_ASPECT})`;
  const fill = blobFill(blob);
  const base = `${box}, fill ${fill.toFixed(2)}`;
  if (fill >= CIRCLE_FILL) return base;
  return `${base}, ${widthAt(blob, 0.25)} px wide at 25 % of its height and ${widthAt(blob, 0.75)} px at 75 %`;
}

/** Rounded down, so a blob shown as 2.0 % does cover 2 %. */
function percent(share: number): string {
  return `${(Math.floor(share * 1000) / 10).toFixed(1)} %`;
}
