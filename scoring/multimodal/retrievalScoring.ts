/**
 * Scoring image–text retrieval: the n_images × n_captions similarity matrix a model's job leaves
 * as `$dataset.npy` (row i an image, column j a caption), against the dataset's items. Each item
 * is one caption (caption j = item j) whose `metadata.images[0]` is the image it describes; the
 * dataset's images are the distinct files in order of first appearance (image i = the i-th).
 *
 * Recall@k in both directions, for k in RECALL_KS:
 *   - image → text: image i is a hit when any of its captions ranks within k among all captions,
 *     ordered by row i, highest similarity first;
 *   - text → image: caption j is a hit when its image ranks within k among all images, ordered by
 *     column j.
 * Ties are broken pessimistically: a wrong candidate with the same similarity as the right one
 * ranks ahead of it, so a model that outputs a constant matrix scores as if it ranked every right
 * answer last, not first. (Several right captions of one image tied with each other do not push
 * each other back: any one of them is a hit.) A k at least the number of candidates makes every
 * query a hit, as any ranking holds the right answer within its first k.
 *
 * The dataset's primary score is the mean of the six recalls.
 */
import type { DatasetItem } from '../../contracts/dataset';

export const RECALL_KS = [1, 5, 10] as const;

export interface RecallAtK {
  r1: number;
  r5: number;
  r10: number;
}

/** Which image each caption describes: what the items say, checked. */
export interface RetrievalLayout {
  /** The distinct image files in order of first appearance: image index i is images[i]. */
  images: string[];
  /** For caption (item) j, the index of its image. */
  imageOfCaption: number[];
}

export type RetrievalLayoutResult = { ok: true; layout: RetrievalLayout } | { ok: false; problem: string };

/** The layout of a retrieval dataset's items, or which item is not a caption of one image. */
export function retrievalLayoutOf(items: readonly DatasetItem[]): RetrievalLayoutResult {
  const indexOf = new Map<string, number>();
  const imageOfCaption: number[] = [];
  for (const [j, item] of items.entries()) {
    const images = item.metadata?.images;
    if (!Array.isArray(images) || images.length !== 1 || typeof images[0] !== 'string' || images[0] === '')
      return {
        ok: false,
        problem: `dataset item ${j} (id ${JSON.stringify(item.id)}) has metadata.images ${JSON.stringify(images) ?? 'missing'}; expected a list of exactly one image file name`,
      };
    const file = images[0];
    let i = indexOf.get(file);
    if (i === undefined) indexOf.set(file, (i = indexOf.size));
    imageOfCaption.push(i);
  }
  return { ok: true, layout: { images: [...indexOf.keys()], imageOfCaption } };
}

/** A matrix as storage/npyFile.ts reads it: dimensions and row-major elements. */
export interface SimilarityMatrix {
  shape: readonly number[];
  data: ArrayLike<number>;
}

export interface RetrievalScore {
  images: number;
  captions: number;
  imageToText: RecallAtK;
  textToImage: RecallAtK;
  /** The mean of the six recalls: the dataset's primary score. */
  meanRecall: number;
  /** For caption (item) j, the rank (from 1) of its image in column j. */
  captionRanks: number[];
  /** For image i, the rank (from 1) of its best-ranked caption in row i. */
  imageRanks: number[];
}

export type RetrievalScoreResult = { ok: true; score: RetrievalScore } | { ok: false; problem: string };

/**
 * Recall@1/5/10 both ways. Refuses (with a problem in words) items that are not one image per
 * caption, and a matrix that is not images × captions or holds a non-finite number. An empty
 * dataset scores 0.
 */
export function scoreRetrieval(items: readonly DatasetItem[], matrix: SimilarityMatrix): RetrievalScoreResult {
  const laid = retrievalLayoutOf(items);
  if (!laid.ok) return laid;
  const { images, imageOfCaption } = laid.layout;
  const rows = images.length;
  const cols = imageOfCaption.length;
  const problem = matrixProblem(matrix, rows, cols);
  if (problem) return { ok: false, problem };
  const m = matrix.data;
  const at = (i: number, j: number) => m[i * cols + j]!;

  const captionRanks = imageOfCaption.map((image, j) => {
    const right = at(image, j);
    let ahead = 0;
    for (let i = 0; i < rows; i++) if (i !== image && at(i, j) >= right) ahead++;
    return ahead + 1;
  });

  const captionsOf: number[][] = images.map(() => []);
  imageOfCaption.forEach((image, j) => captionsOf[image]!.push(j));
  const imageRanks = captionsOf.map((own, i) => {
    const best = Math.max(...own.map((j) => at(i, j)));
    const mine = new Set(own);
    let ahead = 0;
    for (let j = 0; j < cols; j++) if (!mine.has(j) && at(i, j) >= best) ahead++;
    return ahead + 1;
  });

  const imageToText = recalls(imageRanks);
  const textToImage = recalls(captionRanks);
  const all = [...Object.values(imageToText), ...Object.values(textToImage)];
  return {
    ok: true,
    score: {
      images: rows,
      captions: cols,
      imageToText,
      textToImage,
      meanRecall: all.reduce((a, b) => a + b, 0) / all.length,
      captionRanks,
      imageRanks,
    },
  };
}

function recalls(ranks: readonly number[]): RecallAtK {
  const within = (k: number) => (ranks.length === 0 ? 0 : ranks.filter((r) => r <= k).length / ranks.length);
  return { r1: within(1), r5: within(5), r10: within(10) };
}

function matrixProblem(matrix: SimilarityMatrix, rows: number, cols: number): string | null {
  const want = `a ${rows}×${cols} similarity matrix (${rows} images × ${cols} captions)`;
  const { shape, data } = matrix;
  if (shape.length !== 2) return `expected ${want}, found a ${shape.length}-D array of shape (${shape.join(', ')})`;
  const [r, c] = shape as [number, number];
  if (r !== rows || c !== cols) {
    const transposed = r === cols && c === rows && rows !== cols ? '; the rows must be the images' : '';
    return `expected ${want}, found ${r}×${c}${transposed}`;
  }
  if (data.length !== rows * cols) return `the matrix holds ${data.length} numbers; expected ${want}`;
  for (let k = 0; k < data.length; k++)
    if (!Number.isFinite(data[k]))
      return `the similarity at [${Math.floor(k / cols)}, ${k % cols}] is ${data[k]}; expected finite numbers`;
  return null;
}
