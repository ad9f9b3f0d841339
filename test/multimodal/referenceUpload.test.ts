/**
 * The reference multimodal upload (test/fixtures/multimodal-upload) run as a job would run it,
 * `bash run.sh TASK IP PORT`, with this machine's python3 against the multimodal data server,
 * serving datasets built here from render.ts scenes and the exact wording of the built-ins: every
 * VQA template answered right, a retrieval matrix whose best match is right both ways, and
 * text-to-image pictures that read back as the asked colour and shape. Some VQA pictures are
 * written by this file's own encoder, RGBA with a transparent background and every row filter
 * PNG has, so the upload's PNG reader is tried beyond the built-ins' pinned encoding.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { deflateSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatasetItem } from '../../contracts/dataset';
import { startDataServer, type DataServerDataset } from '../../activities/multimodal/dataServer';
import {
  COLOURS,
  PALETTE,
  SHAPES,
  numberWord,
  pluralOf,
  type ColourName,
  type ShapeName,
} from '../../datasets/builtin/multimodal/palette';
import {
  maxBarHeight,
  renderRgb,
  renderScene,
  type Scene,
  type ShapeSpec,
} from '../../datasets/builtin/multimodal/render';
import { Prng } from '../../datasets/prng';

const run = promisify(execFile);
const UPLOAD = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/multimodal-upload');
const CANVAS = 224;

let scratch: string;
let imageDir: string;
let imageCount = 0;

beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'mm-reference-upload-'));
  imageDir = path.join(scratch, 'images');
  await run('mkdir', ['-p', imageDir]);
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** Writes a scene as the next img-NNNN.png and returns its name; `filtered` uses the encoder below. */
async function saveScene(scene: Scene, filtered = false): Promise<string> {
  const name = `img-${String(imageCount++).padStart(4, '0')}.png`;
  const png = filtered ? encodeRgbaAllFilters(scene.width, scene.height, renderRgb(scene)) : renderScene(scene);
  await writeFile(path.join(imageDir, name), png);
  return name;
}

/**
 * RGBA, white made fully transparent (black at alpha 0: only laying it over white makes it white
 * again), row y filtered with filter type y mod 5 (None, Sub, Up, Average, Paeth).
 */
function encodeRgbaAllFilters(width: number, height: number, rgb: Buffer): Buffer {
  const bpp = 4;
  const stride = width * bpp;
  const rgba = Buffer.alloc(width * height * bpp);
  for (let p = 0; p < width * height; p++) {
    const white = rgb[p * 3] === 255 && rgb[p * 3 + 1] === 255 && rgb[p * 3 + 2] === 255;
    if (white) continue;
    rgb.copy(rgba, p * 4, p * 3, p * 3 + 3);
    rgba[p * 4 + 3] = 255;
  }
  const raw = Buffer.alloc(height * (stride + 1));
  for (let y = 0; y < height; y++) {
    const type = y % 5;
    raw[y * (stride + 1)] = type;
    for (let i = 0; i < stride; i++) {
      const x = rgba[y * stride + i]!;
      const a = i >= bpp ? rgba[y * stride + i - bpp]! : 0;
      const b = y > 0 ? rgba[(y - 1) * stride + i]! : 0;
      const c = y > 0 && i >= bpp ? rgba[(y - 1) * stride + i - bpp]! : 0;
      const p = a + b - c;
      const paeth =
        Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c)
          ? a
          : Math.abs(p - b) <= Math.abs(p - c)
            ? b
            : c;
      const predictor = [0, a, b, (a + b) >> 1, paeth][type]!;
      raw[y * (stride + 1) + 1 + i] = (x - predictor) & 0xff;
    }
  }
  const chunk = (type: string, body: Buffer) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(body.length, 0);
    head.write(type, 4, 'latin1');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])), 0);
    return Buffer.concat([head, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 6, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function crc32(data: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

interface Draft {
  shape: ShapeName;
  colour: ColourName;
}

/**
 * A shapes scene: each shape in its own cell of a 3×3 grid (74-pixel cells), radius 10–28,
 * jittered, so no two shapes come within 7 pixels of each other.
 */
function placeShapes(prng: Prng, drafts: readonly Draft[]): Scene {
  const cells = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  for (let i = cells.length - 1; i > 0; i--) {
    const j = prng.int(0, i);
    [cells[i], cells[j]] = [cells[j]!, cells[i]!];
  }
  const shapes: ShapeSpec[] = drafts.map((d, i) => ({
    ...d,
    cx: 37 + 74 * (cells[i]! % 3) + prng.int(-5, 5),
    cy: 37 + 74 * Math.floor(cells[i]! / 3) + prng.int(-5, 5),
    r: prng.int(10, 28),
  }));
  return { kind: 'shapes', width: CANVAS, height: CANVAS, shapes };
}

function randomDrafts(prng: Prng, count: number, allow: (d: Draft) => boolean = () => true): Draft[] {
  const out: Draft[] = [];
  while (out.length < count) {
    const d = { shape: prng.pick(SHAPES), colour: prng.pick(COLOURS) };
    if (allow(d)) out.push(d);
  }
  return out;
}

/** A chart of `count` bars of distinct colours, heights distinct and at least 14 pixels apart. */
function barChart(prng: Prng, count: number): Scene & { kind: 'bars' } {
  const colours = shuffled(prng, COLOURS).slice(0, count);
  const steps = shuffled(
    prng,
    Array.from({ length: Math.floor((maxBarHeight(CANVAS) - 20) / 14) + 1 }, (_, k) => 20 + 14 * k),
  );
  return {
    kind: 'bars',
    width: CANVAS,
    height: CANVAS,
    bars: colours.map((colour, i) => ({ colour, height: steps[i]! })),
  };
}

function shuffled<T>(prng: Prng, values: readonly T[]): T[] {
  const out = [...values];
  for (let i = out.length - 1; i > 0; i--) {
    const j = prng.int(0, i);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

function withChoices(question: string, choices: readonly string[], multiple: boolean): string {
  const lines = choices.map((c, i) => `(${LETTERS[i]}) ${c}`).join('\n');
  const instruction = multiple
    ? 'Answer with all the correct option letters, separated by commas.'
    : 'Answer with the option letter.';
  return `${question}\nChoices:\n${lines}\n${instruction}`;
}

type QuestionType = 'multiple-choice' | 'multiple-response' | 'fill-in-the-blank' | 'short-answer' | 'yes-no';

interface Question {
  scenes: Scene[];
  question: string;
  type: QuestionType;
  answer: string;
  choices?: string[];
}

/** One question of each template of mm-builtins.md, by kind, its answer derived from the scene. */
const TEMPLATES: ((prng: Prng) => Question)[] = [
  (prng) => {
    const drafts = randomDrafts(prng, prng.int(2, 6));
    const target = prng.next() < 0.5 ? prng.pick(drafts) : randomDrafts(prng, 1)[0]!;
    const count = drafts.filter((d) => d.colour === target.colour && d.shape === target.shape).length;
    const options = shuffled(prng, [
      count,
      ...shuffled(
        prng,
        [0, 1, 2, 3, 4, 5, 6].filter((n) => n !== count),
      ).slice(0, 3),
    ]);
    return {
      scenes: [placeShapes(prng, drafts)],
      question: withChoices(
        `How many ${target.colour} ${pluralOf(target.shape)} are in the picture?`,
        options.map(String),
        false,
      ),
      type: 'multiple-choice',
      answer: LETTERS[options.indexOf(count)]!,
      choices: options.map(String),
    };
  },
  (prng) => {
    const shape = prng.pick(SHAPES);
    const colour = prng.pick(COLOURS);
    const drafts = shuffled(prng, [{ shape, colour }, ...randomDrafts(prng, prng.int(0, 4), (d) => d.shape !== shape)]);
    const options = shuffled(prng, [
      colour,
      ...shuffled(
        prng,
        COLOURS.filter((c) => c !== colour),
      ).slice(0, 3),
    ]);
    return {
      scenes: [placeShapes(prng, drafts)],
      question: withChoices(`What colour is the ${shape}?`, options, false),
      type: 'multiple-choice',
      answer: LETTERS[options.indexOf(colour)]!,
      choices: options,
    };
  },
  (prng) => {
    const first = prng.int(1, 6);
    let second = prng.int(1, 6);
    while (second === first) second = prng.int(1, 6);
    const options = ['the first picture', 'the second picture'];
    return {
      scenes: [placeShapes(prng, randomDrafts(prng, first)), placeShapes(prng, randomDrafts(prng, second))],
      question: withChoices('Which picture has more shapes?', options, false),
      type: 'multiple-choice',
      answer: first > second ? 'A' : 'B',
      choices: options,
    };
  },
  (prng) => {
    const drafts = randomDrafts(prng, prng.int(1, 5));
    const present = new Set(drafts.map((d) => d.colour));
    const count = prng.int(4, 6);
    let options = shuffled(prng, COLOURS).slice(0, count);
    if (!options.some((c) => present.has(c))) options = [drafts[0]!.colour, ...options.slice(1)];
    options = shuffled(prng, options);
    return {
      scenes: [placeShapes(prng, drafts)],
      question: withChoices('Which colours appear in the picture?', options, true),
      type: 'multiple-response',
      answer: options
        .map((c, i) => (present.has(c) ? LETTERS[i] : null))
        .filter(Boolean)
        .join(','),
      choices: options,
    };
  },
  (prng) => {
    const count = prng.int(1, 6);
    return {
      scenes: [placeShapes(prng, randomDrafts(prng, count))],
      question: 'The picture shows ___ shapes in all. Fill in the blank with a number.',
      type: 'fill-in-the-blank',
      answer: String(count),
    };
  },
  (prng) => {
    const target = randomDrafts(prng, 1)[0]!;
    const drafts = shuffled(prng, [target, ...randomDrafts(prng, prng.int(0, 4), (d) => d.colour !== target.colour)]);
    return {
      scenes: [placeShapes(prng, drafts)],
      question: `What shape is the ${target.colour} object? Answer with one word.`,
      type: 'short-answer',
      answer: target.shape,
    };
  },
  (prng) => {
    const chart = barChart(prng, prng.int(2, 5));
    const tallest = chart.bars.reduce((a, b) => (b.height > a.height ? b : a));
    return {
      scenes: [chart],
      question: 'Which colour is the tallest bar? Answer with one word.',
      type: 'short-answer',
      answer: tallest.colour,
    };
  },
  (prng) => {
    const chart = barChart(prng, prng.int(2, 5));
    return {
      scenes: [chart],
      question: 'The chart has ___ bars. Fill in the blank with a number.',
      type: 'fill-in-the-blank',
      answer: String(chart.bars.length),
    };
  },
  (prng) => {
    const drafts = randomDrafts(prng, prng.int(1, 6));
    const yes = prng.next() < 0.5;
    const target = yes
      ? prng.pick(drafts)
      : randomDrafts(prng, 1, (d) => !drafts.some((o) => o.colour === d.colour && o.shape === d.shape))[0]!;
    return {
      scenes: [placeShapes(prng, drafts)],
      question: `Is there ${/^[aeiou]/.test(target.colour) ? 'an' : 'a'} ${target.colour} ${target.shape} in the picture? Answer yes or no.`,
      type: 'yes-no',
      answer: yes ? 'yes' : 'no',
    };
  },
  (prng) => {
    const chart = barChart(prng, prng.int(2, 5));
    const [a, b] = shuffled(prng, chart.bars);
    return {
      scenes: [chart],
      question: `Is the ${a!.colour} bar taller than the ${b!.colour} bar? Answer yes or no.`,
      type: 'yes-no',
      answer: a!.height > b!.height ? 'yes' : 'no',
    };
  },
];

/** `count` questions, the templates in turn; every 12th question's pictures use the all-filters encoder. */
async function vqaDataset(count: number): Promise<DataServerDataset> {
  const prng = new Prng(20261207);
  const items: DatasetItem[] = [];
  for (let i = 0; i < count; i++) {
    const q = TEMPLATES[i % TEMPLATES.length]!(prng);
    const images: string[] = [];
    for (const scene of q.scenes) images.push(await saveScene(scene, i % 12 === 5));
    const placeholders = images.map((_, k) => `<image ${k + 1}>`).join('');
    items.push({
      id: `q-${String(i).padStart(3, '0')}`,
      prompt: `${placeholders}\n${q.question}`,
      ground_truth: q.answer,
      ...(q.choices ? { choices: q.choices } : {}),
      metadata: { task: 'vqa', images, questionType: q.type },
    });
  }
  return { name: 'mm-shapes-vqa-test', task: 'vqa', items, imageDirInContainer: imageDir };
}

/** The caption list: groups in colour then shape order, `one red circle, two blue squares and …`. */
function groupList(groups: [Draft, number][]): string {
  const words = groups.map(([d, n]) => `${numberWord(n)} ${d.colour} ${n === 1 ? d.shape : pluralOf(d.shape)}`);
  return words.length === 1 ? words[0]! : `${words.slice(0, -1).join(', ')} and ${words.at(-1)}`;
}

async function retrievalDataset(): Promise<{ dataset: DataServerDataset; imageOf: number[] }> {
  const prng = new Prng(7);
  // Near neighbours on purpose: one more of the same, a colour or a shape swapped.
  const fixed: Draft[][] = [
    [{ colour: 'red', shape: 'circle' }],
    [
      { colour: 'red', shape: 'circle' },
      { colour: 'red', shape: 'circle' },
    ],
    [
      { colour: 'red', shape: 'circle' },
      { colour: 'blue', shape: 'square' },
    ],
    [
      { colour: 'red', shape: 'square' },
      { colour: 'blue', shape: 'circle' },
    ],
    [{ colour: 'orange', shape: 'triangle' }],
    [{ colour: 'yellow', shape: 'triangle' }],
    [{ colour: 'orange', shape: 'cross' }],
  ];
  const multisets = [...fixed];
  const key = (ds: Draft[]) =>
    ds
      .map((d) => `${d.colour}/${d.shape}`)
      .sort()
      .join(' ');
  const seen = new Set(multisets.map(key));
  while (multisets.length < 24) {
    const drafts = randomDrafts(prng, prng.int(1, 4));
    if (seen.has(key(drafts))) continue;
    seen.add(key(drafts));
    multisets.push(drafts);
  }
  const items: DatasetItem[] = [];
  const imageOf: number[] = [];
  for (const [i, drafts] of multisets.entries()) {
    const file = await saveScene(placeShapes(prng, drafts));
    const groups = new Map<string, [Draft, number]>();
    for (const d of drafts) {
      const k = `${COLOURS.indexOf(d.colour)}-${SHAPES.indexOf(d.shape)}`;
      groups.set(k, [d, (groups.get(k)?.[1] ?? 0) + 1]);
    }
    const ordered = [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, g]) => g);
    const b = groupList([...ordered].reverse());
    for (const caption of [
      `A picture of ${groupList(ordered)}.`,
      `${b[0]!.toUpperCase()}${b.slice(1)} on a white background.`,
    ]) {
      items.push({
        id: `c-${items.length}`,
        prompt: caption,
        ground_truth: file,
        metadata: { task: 'retrieval', images: [file] },
      });
      imageOf.push(i);
    }
  }
  return {
    dataset: { name: 'mm-shapes-retrieval-test', task: 'retrieval', items, imageDirInContainer: imageDir },
    imageOf,
  };
}

function t2iDataset(): DataServerDataset {
  const items: DatasetItem[] = [];
  for (const colour of COLOURS)
    for (const shape of SHAPES)
      items.push({
        id: `p-${items.length}`,
        prompt: `Draw one ${colour} ${shape} on a white background.`,
        ground_truth: JSON.stringify({ colour, shape }),
        metadata: { task: 't2i', expect: { colour, shape } },
      });
  return { name: 'mm-shapes-t2i-test', task: 't2i', items, imageDirInContainer: imageDir };
}

/** Runs the upload against a data server for the dataset; its output directory comes back. */
async function runUpload(dataset: DataServerDataset): Promise<{ outputDir: string; stdout: string; seconds: number }> {
  const outputDir = await mkdtemp(path.join(scratch, `out-${dataset.task}-`));
  const server = await startDataServer({
    dataset,
    io: { checkpointPath: path.join(UPLOAD, 'checkpoint.pth'), outputDir },
  });
  try {
    const started = performance.now();
    const { stdout } = await run(
      'bash',
      [path.join(UPLOAD, 'run.sh'), dataset.task, server.host, String(server.port)],
      {
        timeout: 120_000,
        env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
      },
    );
    return { outputDir, stdout, seconds: (performance.now() - started) / 1000 };
  } finally {
    await server.close();
  }
}

/** A float32 NPY 1.0 file as rows of numbers, after checking its header. */
function readNpy(data: Buffer): { shape: [number, number]; rows: number[][] } {
  expect(data.subarray(0, 8)).toEqual(Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]));
  const headerLength = data.readUInt16LE(8);
  expect((10 + headerLength) % 64).toBe(0);
  const header = data.toString('latin1', 10, 10 + headerLength);
  const match = /^\{'descr': '<f4', 'fortran_order': False, 'shape': \((\d+), (\d+)\), \} *\n$/.exec(header);
  expect(match, header).not.toBeNull();
  const shape: [number, number] = [Number(match![1]), Number(match![2])];
  const body = data.subarray(10 + headerLength);
  expect(body.length).toBe(shape[0] * shape[1] * 4);
  const rows = Array.from({ length: shape[0] }, (_, i) =>
    Array.from({ length: shape[1] }, (_, j) => body.readFloatLE((i * shape[1] + j) * 4)),
  );
  return { shape, rows };
}

/**
 * What a generated picture shows, by this file's own reading of the checker's rule: every
 * non-white pixel one exact palette colour covering at least 2 % of the picture, the shape from
 * the bounding box's aspect, the fill ratio and the widths a quarter and three quarters down.
 */
function readPicture(png: Buffer): {
  width: number;
  height: number;
  translucent: number;
  colour: string;
  shape: string;
  share: number;
} {
  const { width, height, data } = PNG.sync.read(png);
  const colours = new Set<string>();
  let n = 0;
  let translucent = 0;
  let [x0, y0, x1, y1] = [Infinity, Infinity, -1, -1];
  const extent = new Map<number, [number, number]>();
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const p = (y * width + x) * 4;
      const [r, g, b, a] = [data[p]!, data[p + 1]!, data[p + 2]!, data[p + 3]!];
      if (a !== 255) translucent++;
      if (r === 255 && g === 255 && b === 255) continue;
      colours.add(`${r},${g},${b}`);
      n++;
      [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
      const e = extent.get(y) ?? [x, x];
      extent.set(y, [Math.min(e[0], x), Math.max(e[1], x)]);
    }
  const named = COLOURS.filter((c) => colours.has(PALETTE[c].join(',')));
  const colour = colours.size === 1 && named.length === 1 ? named[0]! : `mixed: ${[...colours].join(' ')}`;
  const [w, h] = [x1 - x0 + 1, y1 - y0 + 1];
  const fill = n / (w * h);
  const widthAt = (q: number) => {
    const e = extent.get(y0 + Math.floor(q * h));
    return e ? e[1] - e[0] + 1 : 0;
  };
  const shape =
    w / h < 0.8 || w / h > 1.25
      ? 'none'
      : fill >= 0.9
        ? 'square'
        : fill >= 0.7
          ? 'circle'
          : widthAt(0.25) < 0.6 * widthAt(0.75)
            ? 'triangle'
            : 'cross';
  return { width, height, translucent, colour, shape, share: n / (width * height) };
}

describe('the reference multimodal upload', () => {
  it('vqa: answers every template of the built-ins right, 240 questions, RGB and RGBA pictures of every row filter', async () => {
    const dataset = await vqaDataset(240);
    const pictures = new Set(dataset.items.flatMap((item) => item.metadata!.images as string[])).size;
    const { outputDir, stdout, seconds } = await runUpload(dataset);
    console.log(`reference upload, vqa: ${pictures} pictures in ${seconds.toFixed(2)} s (${stdout.trim()})`);
    const answers = JSON.parse(await readFile(path.join(outputDir, 'mm-shapes-vqa-test.json'), 'utf8'));
    expect(answers).toEqual(dataset.items.map((item) => ({ question_id: item.id, answer: item.ground_truth })));
    // Each template and question type was asked.
    expect(new Set(dataset.items.map((item) => item.metadata!.questionType)).size).toBe(5);
    expect(pictures).toBeGreaterThanOrEqual(240);
    expect(seconds).toBeLessThan(60);
  }, 120_000);

  it('retrieval: a float32 images × captions .npy, 1 for a match and less for any other, best match right both ways', async () => {
    const { dataset, imageOf } = await retrievalDataset();
    const { outputDir } = await runUpload(dataset);
    const { shape, rows } = readNpy(await readFile(path.join(outputDir, 'mm-shapes-retrieval-test.npy')));
    const images = Math.max(...imageOf) + 1;
    expect(shape).toEqual([images, dataset.items.length]);
    for (let i = 0; i < images; i++)
      for (let j = 0; j < dataset.items.length; j++) {
        if (imageOf[j] === i) expect(rows[i]![j], `image ${i}, caption ${j}`).toBe(1);
        else expect(rows[i]![j], `image ${i}, caption ${j}`).toBeLessThan(0.95);
        expect(rows[i]![j]).toBeGreaterThanOrEqual(0);
      }
    const argmax = (values: number[]) => values.indexOf(Math.max(...values));
    for (let j = 0; j < dataset.items.length; j++) expect(argmax(rows.map((row) => row[j]!))).toBe(imageOf[j]);
    for (let i = 0; i < images; i++) expect(imageOf[argmax(rows[i]!)]).toBe(i);
    // Graded: a near neighbour scores above an unrelated picture.
    expect(rows[1]![0]).toBeGreaterThan(rows[4]![0]!);
  }, 60_000);

  it('t2i: draws every colour and shape, each picture read back as asked, and lists them in output_info.json', async () => {
    const dataset = t2iDataset();
    const { outputDir } = await runUpload(dataset);
    const info = JSON.parse(await readFile(path.join(outputDir, 'output_info.json'), 'utf8'));
    expect(info).toEqual(dataset.items.map((_, i) => ({ id: String(i), image: `${i}.png` })));
    for (const [i, item] of dataset.items.entries()) {
      const read = readPicture(await readFile(path.join(outputDir, `${i}.png`)));
      const { colour, shape } = item.metadata!.expect as { colour: string; shape: string };
      expect({ ...read, share: read.share >= 0.02 }, item.prompt).toEqual({
        width: 256,
        height: 256,
        translucent: 0,
        colour,
        shape,
        share: true,
      });
    }
  }, 60_000);

  it('run.sh refuses an unknown task with status 2, naming the tasks it answers', async () => {
    const error = (await run('bash', [path.join(UPLOAD, 'run.sh'), 'audio', '127.0.0.1', '1']).catch(
      (e: unknown) => e,
    )) as { code: number; stderr: string };
    expect(error.code).toBe(2);
    expect(error.stderr).toBe("run.sh: unknown task 'audio': this model answers vqa, retrieval and t2i\n");
  });
});
