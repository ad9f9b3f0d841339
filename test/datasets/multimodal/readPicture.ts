/**
 * What the tests see in a rendered built-in picture, read from its PNG bytes alone (never from the
 * scene it was drawn from): the shapes, or the bars of a chart from left to right.
 */
import {
  blobHeight,
  classifyPixels,
  decodePng,
  findBlobs,
  recogniseShape,
} from '../../../datasets/builtin/multimodal/colourBlobs';
import type { ColourName, ShapeName } from '../../../datasets/builtin/multimodal/palette';

/** Rendered pictures hold exact palette colours; grey (a chart's baseline) stays unnamed. */
const EXACT = 1;

export interface SeenShape {
  colour: ColourName;
  shape: ShapeName;
  pixels: number;
}

export function readShapes(png: Buffer): SeenShape[] {
  const image = decodePng(png);
  return findBlobs(image, classifyPixels(image, EXACT)).map((blob) => {
    const shape = recogniseShape(blob);
    if (shape === undefined) throw new Error(`a ${blob.colour} blob of ${blob.pixels} px is no known shape`);
    return { colour: blob.colour, shape, pixels: blob.pixels };
  });
}

export function readBars(png: Buffer): { colour: ColourName; height: number }[] {
  const image = decodePng(png);
  return findBlobs(image, classifyPixels(image, EXACT))
    .sort((a, b) => a.bounds.x0 - b.bounds.x0)
    .map((blob) => ({ colour: blob.colour, height: blobHeight(blob) }));
}
