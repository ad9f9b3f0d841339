import { describe, expect, it } from 'vitest';
import { classifyPixels, decodePng, findBlobs } from '../../../datasets/builtin/multimodal/colourBlobs';
import { COLOURS, SHAPES, type ColourName, type ShapeName } from '../../../datasets/builtin/multimodal/palette';
import {
  encodePng,
  renderRgb,
  renderScene,
  shapeArea,
  type ShapeSpec,
} from '../../../datasets/builtin/multimodal/render';
import { generateMmShapesT2i, type T2iMetadata } from '../../../datasets/builtin/multimodal/mmShapesT2i';
import { T2I_COLOUR_TOLERANCE, checkT2iPicture, classifyT2iShape } from '../../../datasets/builtin/multimodal/t2iCheck';

function picture(side: number, ...shapes: Omit<ShapeSpec, 'cx' | 'cy'>[]): Buffer {
  const c = Math.floor(side / 2);
  return renderScene({
    kind: 'shapes',
    width: side,
    height: side,
    shapes: shapes.map((s) => ({ ...s, cx: c, cy: c })),
  });
}

describe('classifyT2iShape', () => {
  it('classifies every rendered shape at every radius 10–100 as itself', () => {
    for (const shape of SHAPES)
      for (let r = 10; r <= 100; r++) {
        const image = decodePng(picture(2 * r + 5, { shape, colour: 'green', r }));
        const [blob] = findBlobs(image, classifyPixels(image, T2I_COLOUR_TOLERANCE));
        expect(classifyT2iShape(blob!), `${shape} r=${r}`).toBe(shape);
      }
  });
});

describe('checkT2iPicture', () => {
  it('accepts every shape and colour drawn by render.ts at radii 10–100 on canvases 64–512', () => {
    let checked = 0;
    for (const side of [64, 100, 224, 512])
      for (const r of [10, 14, 19, 25, 31, 40, 50, 63, 75, 88, 100]) {
        if (2 * r + 1 > side) continue;
        for (const shape of SHAPES) {
          if (shapeArea({ shape, colour: 'red', cx: 0, cy: 0, r }) < 0.02 * side * side) continue;
          for (const colour of COLOURS) {
            const verdict = checkT2iPicture(picture(side, { shape, colour, r }), { colour, shape });
            expect(verdict, `${colour} ${shape} r=${r} on ${side}`).toMatchObject({ ok: true });
            checked++;
          }
        }
      }
    expect(checked).toBeGreaterThan(500);
  });

  it('says what it measured when it accepts', () => {
    expect(
      checkT2iPicture(picture(224, { shape: 'circle', colour: 'orange', r: 40 }), {
        colour: 'orange',
        shape: 'circle',
      }),
    ).toEqual({
      ok: true,
      reason:
        'the largest blob is orange, 5025 px (10.0 % of the picture), its box 81×81 px, fill 0.77: an orange circle, as expected',
    });
  });

  it('judges the largest coloured blob and ignores smaller ones', () => {
    const png = renderScene({
      kind: 'shapes',
      width: 224,
      height: 224,
      shapes: [
        { shape: 'triangle', colour: 'red', cx: 60, cy: 60, r: 45 },
        { shape: 'square', colour: 'blue', cx: 170, cy: 170, r: 20 },
      ],
    });
    expect(checkT2iPicture(png, { colour: 'red', shape: 'triangle' }).ok).toBe(true);
    expect(checkT2iPicture(png, { colour: 'blue', shape: 'square' }).reason).toMatch(/^the largest blob is red, /);
  });

  it('tolerates anti-aliased edges, noise and transparency around the shape', () => {
    // Drawn at 4× and averaged down, then every channel jittered by up to ±20: a model's picture, roughly.
    const cases: [ShapeName, ColourName][] = [
      ['circle', 'purple'],
      ['square', 'yellow'],
      ['triangle', 'black'],
      ['cross', 'orange'],
    ];
    for (const [shape, colour] of cases) {
      const big = renderRgb({
        kind: 'shapes',
        width: 896,
        height: 896,
        shapes: [{ shape, colour, cx: 448, cy: 448, r: 300 }],
      });
      const small = Buffer.alloc(224 * 224 * 3);
      let jitter = 12345;
      for (let y = 0; y < 224; y++)
        for (let x = 0; x < 224; x++)
          for (let c = 0; c < 3; c++) {
            let sum = 0;
            for (let dy = 0; dy < 4; dy++)
              for (let dx = 0; dx < 4; dx++) sum += big[((4 * y + dy) * 896 + 4 * x + dx) * 3 + c]!;
            jitter = (jitter * 1103515245 + 12345) % 2 ** 31;
            small[(y * 224 + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(sum / 16) + (jitter % 41) - 20));
          }
      expect(checkT2iPicture(encodePng(224, 224, small), { colour, shape }), `${colour} ${shape}`).toMatchObject({
        ok: true,
      });
    }
  });

  it('refuses the wrong colour, naming what it found', () => {
    expect(
      checkT2iPicture(picture(224, { shape: 'circle', colour: 'blue', r: 16 }), { colour: 'red', shape: 'circle' }),
    ).toEqual({
      ok: false,
      reason: 'the largest blob is blue, 797 px (1.5 % of the picture); expected a red circle',
    });
  });

  it('refuses the wrong shape, saying what it measured', () => {
    const square = checkT2iPicture(picture(224, { shape: 'square', colour: 'red', r: 40 }), {
      colour: 'red',
      shape: 'circle',
    });
    expect(square).toEqual({
      ok: false,
      reason:
        'the largest blob is red, 6561 px (13.0 % of the picture), its box 81×81 px, fill 1.00: a square; expected a red circle',
    });
    const cross = checkT2iPicture(picture(224, { shape: 'cross', colour: 'green', r: 40 }), {
      colour: 'green',
      shape: 'triangle',
    });
    expect(cross.ok).toBe(false);
    expect(cross.reason).toMatch(
      /fill 0\.\d\d, 27 px wide at 25 % of its height and 27 px at 75 %: a cross; expected a green triangle$/,
    );
  });

  it('refuses a blob whose box is far from square as no shape', () => {
    const png = renderScene({ kind: 'bars', width: 224, height: 224, bars: [{ colour: 'red', height: 150 }] });
    const verdict = checkT2iPicture(png, { colour: 'red', shape: 'square' });
    expect(verdict.ok).toBe(false);
    expect(verdict.reason).toMatch(
      /its box 115×150 px \(aspect 0\.77, outside 0\.8–1\.25\): no shape; expected a red square$/,
    );
  });

  it('refuses an empty white picture and a blob under 2 % of the picture', () => {
    expect(checkT2iPicture(picture(224), { colour: 'red', shape: 'circle' })).toEqual({
      ok: false,
      reason: 'the 224×224 px picture has no pixel of a palette colour other than white; expected a red circle',
    });
    expect(
      checkT2iPicture(picture(512, { shape: 'circle', colour: 'red', r: 10 }), { colour: 'red', shape: 'circle' }),
    ).toEqual({
      ok: false,
      reason: 'the largest blob is red, 317 px (0.1 % of the picture), under the 2 % required; expected a red circle',
    });
  });

  it('refuses bytes that are not a PNG, a truncated PNG, and sides outside 64–1024 px before decoding', () => {
    const expectation = { colour: 'red', shape: 'circle' } as const;
    expect(checkT2iPicture(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'), expectation)).toEqual({
      ok: false,
      reason: 'not a PNG: the file does not start with the PNG signature',
    });
    const png = picture(224, { shape: 'circle', colour: 'red', r: 40 });
    expect(checkT2iPicture(png.subarray(0, png.length - 30), expectation)).toEqual({
      ok: false,
      reason: 'not a readable PNG: the file ends before its image data does (truncated)',
    });
    expect(checkT2iPicture(encodePng(2000, 10, Buffer.alloc(2000 * 10 * 3, 255)), expectation)).toEqual({
      ok: false,
      reason: 'the picture is 2000×10 px; both sides must be 64–1024 px',
    });
    expect(checkT2iPicture(picture(63, { shape: 'circle', colour: 'red', r: 20 }), expectation).reason).toBe(
      'the picture is 63×63 px; both sides must be 64–1024 px',
    );
    // A header claiming 100000 × 100000 px with no image data behind it is refused from IHDR alone.
    const huge = Buffer.from(png.subarray(0, 33));
    huge.writeUInt32BE(100_000, 16);
    huge.writeUInt32BE(100_000, 20);
    expect(checkT2iPicture(huge, expectation).reason).toBe(
      'the picture is 100000×100000 px; both sides must be 64–1024 px',
    );
  });

  it('accepts a correct drawing of every mm-shapes-t2i item', () => {
    for (const item of generateMmShapesT2i()) {
      const { expect: wanted } = item.metadata as T2iMetadata;
      const verdict = checkT2iPicture(picture(224, { ...wanted, r: 60 }), wanted);
      expect(verdict.ok, `${item.id}: ${verdict.reason}`).toBe(true);
    }
  });
});
