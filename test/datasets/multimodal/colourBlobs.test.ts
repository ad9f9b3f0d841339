import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import {
  NO_CLASS,
  WHITE_CLASS,
  blobHeight,
  blobWidth,
  classifyPixels,
  decodePng,
  fillRatio,
  findBlobs,
  pngSize,
  recogniseShape,
  widthAt,
  type RgbImage,
} from '../../../datasets/builtin/multimodal/colourBlobs';
import { BASELINE_GREY, COLOURS, PALETTE, SHAPES } from '../../../datasets/builtin/multimodal/palette';
import {
  encodePng,
  renderRgb,
  renderScene,
  shapeArea,
  shapeBounds,
  type ShapeSpec,
} from '../../../datasets/builtin/multimodal/render';

/** Rendered pictures hold exact palette colours: any tolerance under half the closest pair's distance names them. */
const EXACT = 1;

function blobsOf(png: Buffer) {
  const image = decodePng(png);
  return findBlobs(image, classifyPixels(image, EXACT));
}

function alone(spec: Omit<ShapeSpec, 'cx' | 'cy'>): { png: Buffer; spec: ShapeSpec } {
  const side = 2 * spec.r + 7;
  const placed = { ...spec, cx: spec.r + 3, cy: spec.r + 3 };
  return { png: renderScene({ kind: 'shapes', width: side, height: side, shapes: [placed] }), spec: placed };
}

describe('pngSize', () => {
  it('reads width and height from IHDR without decoding', () => {
    const png = renderScene({ kind: 'shapes', width: 70, height: 33, shapes: [] });
    expect(pngSize(png)).toEqual({ width: 70, height: 33 });
    expect(pngSize(png.subarray(0, 24))).toEqual({ width: 70, height: 33 });
  });

  it('refuses bytes that are not a PNG', () => {
    expect(() => pngSize(Buffer.from('GIF89a, not a png at all, honestly'))).toThrow(/PNG signature/);
    const png = Buffer.from(renderScene({ kind: 'shapes', width: 8, height: 8, shapes: [] }));
    png.write('IEND', 12, 'latin1');
    expect(() => pngSize(png)).toThrow(/not IHDR/);
  });
});

describe('decodePng', () => {
  it('gives back the rendered RGB exactly', () => {
    const scene = {
      kind: 'shapes' as const,
      width: 60,
      height: 40,
      shapes: [{ shape: 'cross' as const, colour: 'purple' as const, cx: 30, cy: 20, r: 12 }],
    };
    const image = decodePng(renderScene(scene));
    expect([image.width, image.height]).toEqual([60, 40]);
    expect(image.rgb.equals(renderRgb(scene))).toBe(true);
  });

  it('lays transparent pixels over white and reads other PNG flavours', () => {
    const png = new PNG({ width: 3, height: 1 });
    png.data = Buffer.from([220, 30, 30, 255, 0, 0, 0, 0, 0, 0, 0, 128]);
    const image = decodePng(PNG.sync.write(png, { colorType: 6 }));
    expect([...image.rgb]).toEqual([220, 30, 30, 255, 255, 255, 127, 127, 127]);
    const grey = decodePng(PNG.sync.write(png, { colorType: 0 }));
    expect(grey.width).toBe(3);
  });

  it('names a truncated file as truncated', () => {
    const png = renderScene({ kind: 'shapes', width: 50, height: 50, shapes: [] });
    expect(() => decodePng(png.subarray(0, png.length - 20))).toThrow(/truncated/);
    expect(() => decodePng(png.subarray(0, 40))).toThrow(/not a readable PNG/);
  });
});

describe('classifyPixels', () => {
  const image = (...pixels: (readonly number[])[]): RgbImage => ({
    width: pixels.length,
    height: 1,
    rgb: Buffer.from(pixels.flat()),
  });

  it('names exact palette colours and white, and leaves the chart baseline grey unnamed', () => {
    const classes = classifyPixels(image(...COLOURS.map((c) => PALETTE[c]), [255, 255, 255], BASELINE_GREY), 50);
    expect([...classes]).toEqual([...COLOURS.map((_, i) => i), WHITE_CLASS, NO_CLASS]);
  });

  it('names a pixel within the distance after its nearest colour, and none beyond', () => {
    const classes = classifyPixels(image([200, 50, 40], [255, 160, 160], [250, 250, 250]), 40);
    expect([...classes]).toEqual([COLOURS.indexOf('red'), NO_CLASS, WHITE_CLASS]);
  });
});

describe('findBlobs', () => {
  it('measures every shape of every colour as one blob of its exact area and box, recognised as itself', () => {
    for (const shape of SHAPES)
      for (const colour of COLOURS)
        for (const r of [10, 11, 17, 28]) {
          const { png, spec } = alone({ shape, colour, r });
          const blobs = blobsOf(png);
          expect(blobs).toHaveLength(1);
          expect(blobs[0]!.colour).toBe(colour);
          expect(blobs[0]!.pixels).toBe(shapeArea(spec));
          expect(blobs[0]!.bounds).toEqual(shapeBounds(spec));
          expect(recogniseShape(blobs[0]!)).toBe(shape);
        }
  });

  it('recognises every shape at every radius 10–100', () => {
    for (const shape of SHAPES)
      for (let r = 10; r <= 100; r++) {
        const [blob] = blobsOf(alone({ shape, colour: 'blue', r }).png);
        expect(recogniseShape(blob!), `${shape} r=${r}`).toBe(shape);
      }
  });

  it('joins pixels by their sides only, and sorts blobs largest first, ties in reading order', () => {
    const squares = renderScene({
      kind: 'shapes',
      width: 40,
      height: 40,
      shapes: [
        { shape: 'square', colour: 'green', cx: 5, cy: 5, r: 2 },
        { shape: 'square', colour: 'green', cx: 10, cy: 10, r: 2 }, // touches the first at one corner
        { shape: 'square', colour: 'red', cx: 30, cy: 30, r: 4 },
        { shape: 'square', colour: 'green', cx: 30, cy: 5, r: 2 },
      ],
    });
    const blobs = blobsOf(squares);
    expect(blobs.map((b) => [b.colour, b.pixels, b.bounds.x0, b.bounds.y0])).toEqual([
      ['red', 81, 26, 26],
      ['green', 25, 3, 3],
      ['green', 25, 28, 3],
      ['green', 25, 8, 8],
    ]);
    const image = decodePng(squares);
    expect(findBlobs(image, classifyPixels(image, EXACT), 'green')).toHaveLength(3);
  });

  it('measures row widths, and fills holes for the fill ratio but not the pixel count', () => {
    const [triangle] = blobsOf(alone({ shape: 'triangle', colour: 'black', r: 10 }).png);
    expect([...triangle!.rowWidths]).toEqual([
      1, 1, 3, 3, 5, 5, 7, 7, 9, 9, 11, 11, 13, 13, 15, 15, 17, 17, 19, 19, 21,
    ]);
    expect([widthAt(triangle!, 0.25), widthAt(triangle!, 0.75), widthAt(triangle!, 1)]).toEqual([5, 15, 21]);

    const rgb = renderRgb({
      kind: 'shapes',
      width: 20,
      height: 20,
      shapes: [{ shape: 'square', colour: 'orange', cx: 10, cy: 10, r: 6 }],
    });
    for (let y = 8; y <= 12; y++) for (let x = 8; x <= 12; x++) rgb.fill(255, (y * 20 + x) * 3, (y * 20 + x) * 3 + 3);
    const [ring] = blobsOf(encodePng(20, 20, rgb));
    expect([ring!.pixels, ring!.filledPixels, blobWidth(ring!), blobHeight(ring!), fillRatio(ring!)]).toEqual([
      169 - 25,
      169,
      13,
      13,
      1,
    ]);
  });
});
