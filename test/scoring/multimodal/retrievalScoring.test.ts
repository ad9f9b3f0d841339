/**
 * Retrieval recall on small hand-made similarity matrices whose ranks are worked out by hand in
 * the comments: both directions, images with several captions, pessimistic ties, k beyond the
 * number of candidates, and the refusals of items and matrices that do not fit.
 */
import { describe, expect, it } from 'vitest';
import type { DatasetItem } from '../../../contracts/dataset';
import { retrievalLayoutOf, scoreRetrieval } from '../../../scoring/multimodal/retrievalScoring';

/** One item per caption; `files[j]` is the image caption j describes. */
const captions = (files: string[]): DatasetItem[] =>
  files.map((file, j) => ({
    id: `c${j}`,
    prompt: `caption ${j}`,
    ground_truth: file,
    metadata: { task: 'retrieval', images: [file] },
  }));

const matrix = (rows: number[][]) => ({ shape: [rows.length, rows[0]?.length ?? 0], data: rows.flat() });

function score(items: DatasetItem[], rows: number[][]) {
  const result = scoreRetrieval(items, matrix(rows));
  if (!result.ok) throw new Error(result.problem);
  return result.score;
}

describe('retrievalLayoutOf', () => {
  it('numbers images by first appearance and captions by item', () => {
    expect(retrievalLayoutOf(captions(['b.png', 'a.png', 'b.png', 'c.png', 'a.png']))).toEqual({
      ok: true,
      layout: { images: ['b.png', 'a.png', 'c.png'], imageOfCaption: [0, 1, 0, 2, 1] },
    });
  });

  it.each<[string, Record<string, unknown> | undefined]>([
    ['no metadata', undefined],
    ['no images', { task: 'retrieval' }],
    ['two images', { images: ['a.png', 'b.png'] }],
    ['an empty list', { images: [] }],
    ['a number', { images: [3] }],
    ['an empty name', { images: [''] }],
    ['a string, not a list', { images: 'a.png' }],
  ])('refuses an item with %s, naming it', (_, metadata) => {
    const items = captions(['a.png']);
    items.push({ id: 'bad', prompt: 'p', ground_truth: 'x', ...(metadata ? { metadata } : {}) });
    const result = retrievalLayoutOf(items);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problem).toMatch(
      /^dataset item 1 \(id "bad"\) has metadata.images .*; expected a list of exactly one image file name$/,
    );
  });
});

describe('scoreRetrieval', () => {
  // Images A, B, C; captions 0 and 1 describe A, caption 2 B, caption 3 C.
  const items = captions(['A.png', 'A.png', 'B.png', 'C.png']);
  const rows = [
    [0.9, 0.1, 0.5, 0.2], // A
    [0.3, 0.8, 0.4, 0.7], // B
    [0.2, 0.6, 0.1, 0.9], // C
  ];

  it('ranks both ways, counting an image hit by its best caption', () => {
    const s = score(items, rows);
    // Image → text. A: best own 0.9, no other caption reaches it → 1. B: own 0.4, beaten by 0.8
    // and 0.7 → 3. C: own 0.9 → 1.
    expect(s.imageRanks).toEqual([1, 3, 1]);
    // Text → image. Caption 0: A 0.9 of (0.9, 0.3, 0.2) → 1. Caption 1: A 0.1 of (0.1, 0.8, 0.6)
    // → 3. Caption 2: B 0.4 of (0.5, 0.4, 0.1) → 2. Caption 3: C 0.9 of (0.2, 0.7, 0.9) → 1.
    expect(s.captionRanks).toEqual([1, 3, 2, 1]);
    expect(s.imageToText).toEqual({ r1: 2 / 3, r5: 1, r10: 1 });
    expect(s.textToImage).toEqual({ r1: 2 / 4, r5: 1, r10: 1 });
    expect(s.meanRecall).toBeCloseTo((2 / 3 + 1 + 1 + 1 / 2 + 1 + 1) / 6, 12);
    expect(s).toMatchObject({ images: 3, captions: 4 });
  });

  it('puts a tied wrong candidate ahead of the right one', () => {
    // Everything equal: each right answer ranks behind every wrong one, last of two.
    const flat = score(captions(['a', 'b']), [
      [0, 0],
      [0, 0],
    ]);
    expect(flat.captionRanks).toEqual([2, 2]);
    expect(flat.imageRanks).toEqual([2, 2]);
    // k = 5 and 10 exceed the two candidates, so those recalls are 1 whatever the ranking.
    expect(flat.imageToText).toEqual({ r1: 0, r5: 1, r10: 1 });
    expect(flat.textToImage).toEqual({ r1: 0, r5: 1, r10: 1 });
    expect(flat.meanRecall).toBeCloseTo(4 / 6, 12);
  });

  it("does not let an image's own captions, tied with each other, push each other back", () => {
    // Image a owns captions 0 and 1, both 0.5; caption 2 (b's) is lower in a's row → a ranks 1.
    // In b's row, b's caption 2 (0.5) ties with a's caption 0 (0.5) → 2.
    const s = score(captions(['a', 'a', 'b']), [
      [0.5, 0.5, 0.4],
      [0.5, 0.1, 0.5],
    ]);
    expect(s.imageRanks).toEqual([1, 2]);
    // Caption 0: a 0.5 ties b 0.5 → 2. Caption 1: a 0.5 over 0.1 → 1. Caption 2: b 0.5 over 0.4 → 1.
    expect(s.captionRanks).toEqual([2, 1, 1]);
  });

  it('tells recall@5 from recall@10 with more candidates than five', () => {
    // Seven images of one caption each. Column j: the right image scores 0, the first r_j - 1
    // other images 1, the rest -1, so caption j's image ranks r_j.
    const ranks = [1, 2, 5, 6, 7, 6, 1];
    const n = ranks.length;
    const m = Array.from({ length: n }, () => new Array<number>(n).fill(-1));
    ranks.forEach((r, j) => {
      m[j]![j] = 0;
      let ahead = 0;
      for (let i = 0; i < n && ahead < r - 1; i++)
        if (i !== j) {
          m[i]![j] = 1;
          ahead++;
        }
    });
    const s = score(captions(ranks.map((_, j) => `img-${j}`)), m);
    expect(s.captionRanks).toEqual(ranks);
    expect(s.textToImage).toEqual({ r1: 2 / 7, r5: 4 / 7, r10: 1 });
  });

  it('ranks image → text among more than ten captions', () => {
    // Twelve images of one caption each. Row i: its own caption scores 0, the first r_i - 1 other
    // captions 1, the rest -1, so image i's caption ranks r_i.
    const ranks = [1, 1, 1, 3, 5, 6, 10, 11, 12, 2, 8, 1];
    const n = ranks.length;
    const m = ranks.map((r, i) => {
      const row = new Array<number>(n).fill(-1);
      row[i] = 0;
      for (let j = 0, ahead = 0; j < n && ahead < r - 1; j++)
        if (j !== i) {
          row[j] = 1;
          ahead++;
        }
      return row;
    });
    const s = score(captions(ranks.map((_, i) => `img-${i}`)), m);
    expect(s.imageRanks).toEqual(ranks);
    // Within 1: four; within 5: seven (1, 1, 1, 3, 5, 2, 1); within 10: ten (all but 11 and 12).
    expect(s.imageToText).toEqual({ r1: 4 / 12, r5: 7 / 12, r10: 10 / 12 });
  });

  it('agrees with sorting every row and column, wrong candidates first among equals', () => {
    // Small integer similarities tie often; a Lehmer generator keeps the cases the same on every run.
    let seed = 12345;
    const next = (n: number) => ((seed = (seed * 48271) % 2147483647), seed % n);
    const rankBySort = (scores: number[], right: (k: number) => boolean) => {
      const order = scores
        .map((_, k) => k)
        .sort((x, y) => scores[y]! - scores[x]! || Number(right(x)) - Number(right(y)));
      return order.findIndex(right) + 1;
    };
    for (let round = 0; round < 50; round++) {
      const files = Array.from({ length: 1 + next(9) }, () => `img-${next(5)}`);
      const layout = retrievalLayoutOf(captions(files));
      if (!layout.ok) throw new Error(layout.problem);
      const { images, imageOfCaption } = layout.layout;
      const m = images.map(() => files.map(() => next(3)));
      const s = score(captions(files), m);
      expect(s.captionRanks).toEqual(
        imageOfCaption.map((img, j) =>
          rankBySort(
            m.map((row) => row[j]!),
            (i) => i === img,
          ),
        ),
      );
      expect(s.imageRanks).toEqual(images.map((_, i) => rankBySort(m[i]!, (j) => imageOfCaption[j] === i)));
    }
  });

  it('scores a perfect model 1 and an empty dataset 0', () => {
    const perfect = score(captions(['a', 'a', 'b']), [
      [2, 2, 0],
      [0, 0, 2],
    ]);
    expect(perfect.meanRecall).toBe(1);
    const empty = scoreRetrieval([], { shape: [0, 0], data: [] });
    expect(empty).toEqual({
      ok: true,
      score: {
        images: 0,
        captions: 0,
        imageToText: { r1: 0, r5: 0, r10: 0 },
        textToImage: { r1: 0, r5: 0, r10: 0 },
        meanRecall: 0,
        captionRanks: [],
        imageRanks: [],
      },
    });
  });

  it.each<[string, { shape: number[]; data: number[] }, string]>([
    [
      'transposed',
      matrix([
        [1, 0, 0],
        [0, 1, 0],
        [0, 0, 1],
        [0, 0, 0],
      ]),
      'expected a 3×4 similarity matrix (3 images × 4 captions), found 4×3; the rows must be the images',
    ],
    ['too small', matrix([[1, 0, 0, 0]]), 'expected a 3×4 similarity matrix (3 images × 4 captions), found 1×4'],
    [
      'one-dimensional',
      { shape: [12], data: new Array<number>(12).fill(0) },
      'expected a 3×4 similarity matrix (3 images × 4 captions), found a 1-D array of shape (12)',
    ],
    [
      'three-dimensional',
      { shape: [3, 4, 1], data: new Array<number>(12).fill(0) },
      'expected a 3×4 similarity matrix (3 images × 4 captions), found a 3-D array of shape (3, 4, 1)',
    ],
    [
      'short of numbers',
      { shape: [3, 4], data: new Array<number>(11).fill(0) },
      'the matrix holds 11 numbers; expected a 3×4 similarity matrix (3 images × 4 captions)',
    ],
    [
      'not finite',
      matrix([
        [0, 0, 0, 0],
        [0, 0, NaN, 0],
        [0, 0, 0, 0],
      ]),
      'the similarity at [1, 2] is NaN; expected finite numbers',
    ],
  ])('refuses a matrix %s, naming what was expected and found', (_, m, problem) => {
    expect(scoreRetrieval(items, m)).toEqual({ ok: false, problem });
  });

  it('refuses items that are not one image per caption before looking at the matrix', () => {
    const bad = [...items, { id: 'x', prompt: 'p', ground_truth: 'g' }];
    expect(scoreRetrieval(bad, matrix(rows))).toEqual({
      ok: false,
      problem: expect.stringMatching(/^dataset item 4 \(id "x"\) has metadata.images missing/),
    });
  });
});
