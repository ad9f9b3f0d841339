/**
 * `mm-shapes-retrieval`: 60 pictures of 1–4 shapes and two captions for each, one item per caption
 * (image 0 caption a, image 0 caption b, image 1 caption a, …). No two pictures hold the same
 * multiset of (colour, shape), so every caption describes exactly one picture and a model that
 * reads colours, shapes and counts can match all of them. Caption a lists the groups in colour
 * then shape order (`A picture of one red circle and two blue squares.`), caption b the same groups
 * in reverse (`Two blue squares and one red circle on a white background.`), so word order alone
 * does not give the match away. The wording is part of the contract the reference model parses.
 */
import type { DatasetItem } from '../../../contracts/dataset';
import { Prng } from '../../prng';
import { builtinItemId } from '../itemIds';
import { imageFileName, type BuiltinDrawing } from './imageFiles';
import { COLOURS, SHAPES, numberWord, pluralOf, type ColourName, type ShapeName } from './palette';
import type { Scene } from './render';
import { placeShapes, type ShapeDraft } from './sceneDraw';

export const MM_SHAPES_RETRIEVAL_ID = 'mm-shapes-retrieval';
export const MM_SHAPES_RETRIEVAL_IMAGES = 60;
export const MM_SHAPES_RETRIEVAL_SIZE = 2 * MM_SHAPES_RETRIEVAL_IMAGES;
const SEED = 0x3d11_0002;
const MAX_SHAPES = 4;

export interface RetrievalMetadata {
  task: 'retrieval';
  /** Exactly one file: the picture the caption describes. */
  images: [string];
  [key: string]: unknown;
}

/** Shapes of one colour and kind in a picture. */
export interface ShapeGroup {
  colour: ColourName;
  shape: ShapeName;
  count: number;
}

export function generateMmShapesRetrieval(): DatasetItem[] {
  return buildMmShapesRetrieval().items;
}

export function buildMmShapesRetrieval(): BuiltinDrawing {
  const prng = new Prng(SEED);
  const scenes = new Map<string, Scene>();
  const seen = new Set<string>();
  const items: DatasetItem[] = [];
  while (scenes.size < MM_SHAPES_RETRIEVAL_IMAGES) {
    const drafts: ShapeDraft[] = [];
    for (let n = prng.int(1, MAX_SHAPES); drafts.length < n;) {
      // A repeat now and then, so some captions count two or three of a kind.
      const repeat = drafts.length > 0 && prng.int(0, 3) === 0;
      drafts.push(repeat ? { ...prng.pick(drafts) } : { colour: prng.pick(COLOURS), shape: prng.pick(SHAPES) });
    }
    const groups = groupShapes(drafts);
    const key = JSON.stringify(groups);
    if (seen.has(key)) continue;
    seen.add(key);
    const file = imageFileName(scenes.size);
    scenes.set(file, placeShapes(prng, drafts));
    for (const prompt of captionsOf(groups)) {
      const metadata: RetrievalMetadata = { task: 'retrieval', images: [file] };
      items.push({ id: builtinItemId(MM_SHAPES_RETRIEVAL_ID, items.length), prompt, ground_truth: file, metadata });
    }
  }
  return { items, scenes };
}

/** The shapes counted by (colour, shape), in colour order then shape order. */
export function groupShapes(shapes: readonly { colour: ColourName; shape: ShapeName }[]): ShapeGroup[] {
  const groups: ShapeGroup[] = [];
  for (const colour of COLOURS)
    for (const shape of SHAPES) {
      const count = shapes.filter((s) => s.colour === colour && s.shape === shape).length;
      if (count > 0) groups.push({ colour, shape, count });
    }
  return groups;
}

/** Caption a and caption b of a picture with these groups (in colour then shape order). */
export function captionsOf(groups: readonly ShapeGroup[]): [string, string] {
  const forward = listOf(groups);
  const backward = listOf([...groups].reverse());
  return [`A picture of ${forward}.`, `${backward.charAt(0).toUpperCase()}${backward.slice(1)} on a white background.`];
}

function listOf(groups: readonly ShapeGroup[]): string {
  const phrases = groups.map(
    ({ colour, shape, count }) => `${numberWord(count)} ${colour} ${count === 1 ? shape : pluralOf(shape)}`,
  );
  return phrases.length === 1 ? phrases[0]! : `${phrases.slice(0, -1).join(', ')} and ${phrases.at(-1)!}`;
}
