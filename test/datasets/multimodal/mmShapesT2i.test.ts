import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import { DatasetItem } from '../../../contracts/dataset';
import {
  MM_SHAPES_T2I_ID,
  MM_SHAPES_T2I_SIZE,
  generateMmShapesT2i,
  type T2iMetadata,
} from '../../../datasets/builtin/multimodal/mmShapesT2i';
import { COLOURS, SHAPES } from '../../../datasets/builtin/multimodal/palette';

const items = generateMmShapesT2i();

describe(MM_SHAPES_T2I_ID, () => {
  it('has 100 valid items whose prompt, ground truth and metadata ask for the same picture', () => {
    expect(MM_SHAPES_T2I_SIZE).toBe(100);
    expect(items).toHaveLength(100);
    items.forEach((item, i) => {
      expect(item.id).toBe(`mm-shapes-t2i-${String(i + 1).padStart(4, '0')}`);
      expect(Value.Check(DatasetItem, item), item.id).toBe(true);
      const m = item.prompt.match(/^Draw one (\w+) (\w+) on a white background\.$/);
      expect(m, item.prompt).not.toBeNull();
      const [, colour, shape] = m!;
      expect(COLOURS).toContain(colour);
      expect(SHAPES).toContain(shape);
      expect(item.ground_truth).toBe(`{"colour":"${colour}","shape":"${shape}"}`);
      expect(item.metadata).toEqual({ task: 't2i', expect: { colour, shape } });
      expect((item.metadata as T2iMetadata).expect).toEqual(JSON.parse(item.ground_truth));
      expect(item.choices).toBeUndefined();
    });
    expect(generateMmShapesT2i()).toEqual(items);
  });

  it('asks for every colour and shape pair three or four times', () => {
    const counts = new Map<string, number>();
    for (const item of items) counts.set(item.ground_truth, (counts.get(item.ground_truth) ?? 0) + 1);
    expect(counts.size).toBe(COLOURS.length * SHAPES.length);
    for (const n of counts.values()) expect([3, 4]).toContain(n);
  });
});
