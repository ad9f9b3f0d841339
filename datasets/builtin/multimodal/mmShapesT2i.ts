/**
 * `mm-shapes-t2i`: 100 requests to draw one shape of one colour on white, every (colour, shape)
 * pair of the palette asked three or four times. The ground truth is what a correct picture must
 * show, `{"colour":"red","shape":"circle"}`, and t2iCheck.ts decides whether a generated picture
 * shows it, so a text-to-image model is scored without a judge model. The prompt id a model sees is
 * the item's index. The wording is part of the contract the reference model parses.
 */
import type { DatasetItem } from '../../../contracts/dataset';
import { Prng } from '../../prng';
import { builtinItemId } from '../itemIds';
import { COLOURS, SHAPES, type ColourName, type ShapeName } from './palette';
import { shuffled } from './sceneDraw';

export const MM_SHAPES_T2I_ID = 'mm-shapes-t2i';
export const MM_SHAPES_T2I_SIZE = 100;
const SEED = 0x3d11_0003;

/** What a correct picture shows: one shape of this colour and kind (the largest coloured blob). */
export interface T2iExpectation {
  colour: ColourName;
  shape: ShapeName;
}

export interface T2iMetadata {
  task: 't2i';
  expect: T2iExpectation;
  [key: string]: unknown;
}

export function generateMmShapesT2i(): DatasetItem[] {
  const prng = new Prng(SEED);
  const pairs = COLOURS.flatMap((colour) => SHAPES.map((shape): T2iExpectation => ({ colour, shape })));
  // Each round asks every pair once, in a fresh order, so the counts differ by at most one.
  const rounds = Math.ceil(MM_SHAPES_T2I_SIZE / pairs.length);
  const asked = Array.from({ length: rounds }, () => shuffled(prng, pairs))
    .flat()
    .slice(0, MM_SHAPES_T2I_SIZE);
  return asked.map(({ colour, shape }, i): DatasetItem => {
    const expect: T2iExpectation = { colour, shape };
    const metadata: T2iMetadata = { task: 't2i', expect };
    return {
      id: builtinItemId(MM_SHAPES_T2I_ID, i),
      prompt: `Draw one ${colour} ${shape} on a white background.`,
      ground_truth: JSON.stringify(expect),
      metadata,
    };
  });
}
