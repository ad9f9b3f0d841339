import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import { DatasetItem } from '../../../contracts/dataset';
import {
  MM_SHAPES_RETRIEVAL_ID,
  MM_SHAPES_RETRIEVAL_IMAGES,
  MM_SHAPES_RETRIEVAL_SIZE,
  buildMmShapesRetrieval,
  captionsOf,
  generateMmShapesRetrieval,
  groupShapes,
} from '../../../datasets/builtin/multimodal/mmShapesRetrieval';
import { renderScene, shapeArea } from '../../../datasets/builtin/multimodal/render';
import { readShapes } from './readPicture';

const { items, scenes } = buildMmShapesRetrieval();

describe('captionsOf', () => {
  it('lists the groups in colour then shape order, and in reverse with a capital', () => {
    const groups = groupShapes([
      { colour: 'blue', shape: 'square' },
      { colour: 'red', shape: 'circle' },
      { colour: 'blue', shape: 'square' },
    ]);
    expect(captionsOf(groups)).toEqual([
      'A picture of one red circle and two blue squares.',
      'Two blue squares and one red circle on a white background.',
    ]);
    expect(
      captionsOf(
        groupShapes([
          { colour: 'black', shape: 'cross' },
          { colour: 'orange', shape: 'triangle' },
          { colour: 'orange', shape: 'circle' },
        ]),
      ),
    ).toEqual([
      'A picture of one orange circle, one orange triangle and one black cross.',
      'One black cross, one orange triangle and one orange circle on a white background.',
    ]);
    expect(captionsOf(groupShapes([{ colour: 'green', shape: 'cross' }]))).toEqual([
      'A picture of one green cross.',
      'One green cross on a white background.',
    ]);
  });
});

describe(MM_SHAPES_RETRIEVAL_ID, () => {
  it('has 120 valid items, two captions per picture in picture order, the same on every call', () => {
    expect([MM_SHAPES_RETRIEVAL_SIZE, MM_SHAPES_RETRIEVAL_IMAGES]).toEqual([120, 60]);
    expect(items).toHaveLength(120);
    items.forEach((item, i) => {
      const file = `img-${String(Math.floor(i / 2)).padStart(4, '0')}.png`;
      expect(item.id).toBe(`mm-shapes-retrieval-${String(i + 1).padStart(4, '0')}`);
      expect(Value.Check(DatasetItem, item), item.id).toBe(true);
      expect(item.ground_truth).toBe(file);
      expect(item.metadata).toEqual({ task: 'retrieval', images: [file] });
      expect(item.choices).toBeUndefined();
    });
    expect([...scenes.keys()]).toEqual([...new Set(items.map((item) => item.ground_truth))]);
    expect(generateMmShapesRetrieval()).toEqual(items);
  });

  it('captions each picture with what its rendered PNG shows, no two pictures alike', () => {
    const seen = new Set<string>();
    for (let image = 0; image < MM_SHAPES_RETRIEVAL_IMAGES; image++) {
      const a = items[2 * image]!;
      const b = items[2 * image + 1]!;
      const shapes = readShapes(renderScene(scenes.get(a.ground_truth)!));
      expect(shapes.length).toBeGreaterThanOrEqual(1);
      expect(shapes.length).toBeLessThanOrEqual(4);
      expect([a.prompt, b.prompt]).toEqual(captionsOf(groupShapes(shapes)));
      const multiset = JSON.stringify(groupShapes(shapes));
      expect(seen.has(multiset), `${a.ground_truth} repeats another picture`).toBe(false);
      seen.add(multiset);
    }
    expect(new Set(items.map((item) => item.prompt)).size).toBe(items.length);
  });

  it('draws every scene so it decodes to one blob per shape of its exact area', () => {
    for (const scene of scenes.values()) {
      if (scene.kind !== 'shapes') throw new Error('expected a shapes scene');
      const key = (s: { colour: string; shape: string; pixels: number }) => `${s.colour} ${s.shape} ${s.pixels}`;
      expect(readShapes(renderScene(scene)).map(key).sort()).toEqual(
        scene.shapes.map((s) => key({ ...s, pixels: shapeArea(s) })).sort(),
      );
    }
  });

  it('counts more than one of a kind in some captions', () => {
    expect(items.filter((item) => /\b(two|three|four) /.test(item.prompt)).length).toBeGreaterThan(10);
  });
});
