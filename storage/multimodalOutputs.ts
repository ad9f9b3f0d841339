/**
 * Reading what a multimodal model's job writes (seed: "Upload Model & Code Specifications"):
 * `$output_dir/$dataset.json` for visual questions, `$output_dir/$dataset.npy` for retrieval and
 * `output_info.json` with a PNG per prompt for text-to-image. Every read goes through the guarded
 * reader (jobOutputs.ts: no link or path out of the directory, regular files only) with a cap fitted
 * to what the file should hold. A file the whole dataset depends on refuses the dataset with a
 * JobOutputError naming the file and what was expected; one text-to-image picture that cannot be
 * read is only that prompt's failure, with its reason.
 */
import { EXPECTED_VQA_OUTPUT, parseVqaOutput, type VqaOutputEntry } from '../scoring/multimodal/vqaScoring';
import { JobOutputError, readJobOutput, readJobOutputJson } from './jobOutputs';
import { NpyFormatError, readMatrix, type MatrixShape, type NpyArray } from './npyFile';
import { describeJsonValue } from '../scoring/jsonValue';

/** Answers of a few thousand questions are well under this; a model that rambles is cut short. */
export const VQA_OUTPUT_MAX_BYTES = 64 * 2 ** 20;

/** The output's file for a dataset: its name plus the extension, and never a path. */
export function datasetOutputFile(datasetName: string, extension: '.json' | '.npy'): string {
  if (!datasetName || datasetName === '.' || datasetName === '..' || /[/\\\0]/.test(datasetName))
    throw new Error(`the dataset name ${JSON.stringify(datasetName)} cannot name a file in the output directory`);
  return `${datasetName}${extension}`;
}

/** The checked entries of `$dataset.json`; a JobOutputError (problem `malformed`) says what is wrong. */
export async function readVqaOutput(
  outputDir: string,
  datasetName: string,
  o: { maxBytes?: number } = {},
): Promise<VqaOutputEntry[]> {
  const file = datasetOutputFile(datasetName, '.json');
  const json = await sayingWhatWasExpected(
    readJobOutputJson(outputDir, file, { maxBytes: o.maxBytes ?? VQA_OUTPUT_MAX_BYTES }),
    EXPECTED_VQA_OUTPUT,
  );
  const parsed = parseVqaOutput(json, file);
  if (!parsed.ok) throw new JobOutputError('malformed', file, parsed.problem);
  return parsed.entries;
}

// ---- Retrieval: the similarity matrix ----

/**
 * Room for the .npy header on top of the data: numpy writes about 128 bytes for a matrix, and a
 * version 1.0 header can be at most 64 KiB.
 */
export const NPY_HEADER_ALLOWANCE = 64 * 2 ** 10;
/** A float64 matrix is the largest file a correct output can be. */
const LARGEST_FLOAT_BYTES = 8;
/**
 * The guarded reader sets its cap aside in memory before reading, and the matrix is then held as
 * doubles: a larger output is refused as too large rather than taking the worker's memory.
 */
export const RETRIEVAL_OUTPUT_MAX_BYTES = 2 ** 30;

/** The most bytes a `rows × cols` float matrix written by numpy.save takes. */
export function retrievalOutputMaxBytes(shape: MatrixShape): number {
  return Math.min(NPY_HEADER_ALLOWANCE + shape.rows * shape.cols * LARGEST_FLOAT_BYTES, RETRIEVAL_OUTPUT_MAX_BYTES);
}

const FLOAT_KINDS = 'float16, float32 or float64';

/**
 * `$dataset.npy`, checked to be an `expected.rows × expected.cols` matrix (images × captions) of
 * floats; a JobOutputError says what is wrong. Integer and boolean matrices are refused: a
 * similarity is a score, and a matrix of integers is more likely labels or indices than scores.
 */
export async function readRetrievalOutput(
  outputDir: string,
  datasetName: string,
  expected: MatrixShape,
): Promise<NpyArray> {
  const file = datasetOutputFile(datasetName, '.npy');
  const shown = JSON.stringify(file);
  const want = `a ${expected.rows}×${expected.cols} matrix of ${FLOAT_KINDS} similarities (images × captions) written by numpy.save`;
  const maxBytes = retrievalOutputMaxBytes(expected);
  const bytes = await sayingWhatWasExpected(readJobOutput(outputDir, file, { maxBytes }), `expected ${want}`);
  let array: NpyArray;
  try {
    array = readMatrix(bytes, expected);
  } catch (error) {
    if (!(error instanceof NpyFormatError)) throw error;
    throw new JobOutputError('malformed', file, `${shown} is not ${want}: ${error.message}`);
  }
  if (!/^[<>|=]?f\d+$/.test(array.descr))
    throw new JobOutputError(
      'malformed',
      file,
      `${shown} holds ${/^[<>|=]?b/.test(array.descr) ? 'booleans' : 'integers'} ('${array.descr}'); expected ${want}`,
    );
  return array;
}

// ---- Text-to-image: output_info.json and the pictures it lists ----

export const T2I_INFO_FILE = 'output_info.json';
/**
 * A 1024 × 1024 8-bit RGBA PNG stored without compression is about 4 MiB (the t2i checker takes
 * sides up to 1024); twice that is room enough.
 */
export const T2I_IMAGE_MAX_BYTES = 8 * 2 ** 20;
/** output_info.json: a base for the brackets plus generous room for each entry's id and path. */
const T2I_INFO_BASE_BYTES = 64 * 2 ** 10;
const T2I_INFO_BYTES_PER_PROMPT = 1024;

export const EXPECTED_T2I_INFO =
  'expected a JSON list like [{"id": "0", "image": "0.png"}, …]: each id a string or integer, each image a path relative to the output directory';

export const PNG_SIGNATURE = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** One entry of output_info.json, in file order. */
export interface T2iInfoEntry {
  id: string;
  image: string;
}

/** The entries of a parsed output_info.json; throws a JobOutputError naming the bad entry. */
export function parseT2iInfo(value: unknown): T2iInfoEntry[] {
  const refuse = (problem: string) =>
    new JobOutputError('malformed', T2I_INFO_FILE, `${problem}; ${EXPECTED_T2I_INFO}`);
  if (!Array.isArray(value)) throw refuse(`${T2I_INFO_FILE} is ${describeJsonValue(value)}, not a list`);
  return value.map((entry: unknown, i) => {
    const at = `${T2I_INFO_FILE}[${i}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
      throw refuse(`${at} is ${describeJsonValue(entry)}, not an object`);
    const { id, image } = entry as { id?: unknown; image?: unknown };
    let text: string;
    if (typeof id === 'string') text = id;
    else if (typeof id === 'number' && Number.isSafeInteger(id)) text = String(id);
    else throw refuse(`${at}.id is ${describeJsonValue(id)}, not a string or an integer`);
    if (typeof image !== 'string' || image === '')
      throw refuse(
        `${at}.image (id ${JSON.stringify(text)}) is ${image === '' ? 'empty' : describeJsonValue(image)}, not a path`,
      );
    return { id: text, image };
  });
}

export type T2iImageResult =
  | { promptId: string; ok: true; image: string; png: Buffer }
  | { promptId: string; ok: false; image?: string; reason: string };

export interface T2iOutput {
  /** One per prompt id asked for, in that order. */
  images: T2iImageResult[];
  /** ids of output_info.json that are no prompt of the dataset, each once, in file order. */
  unknownIds: string[];
}

/**
 * The picture of each prompt (an integer id is taken as its decimal text, as output_info.json's
 * ids are): its PNG bytes, or why there is none — no entry, an id listed twice (which picture
 * counts would be a guess), a file missing, outside the directory, too large, or not starting
 * with the PNG signature. Decoding and judging the picture is the checker's business. A missing or
 * malformed output_info.json refuses the whole dataset with a JobOutputError.
 */
export async function readT2iOutput(
  outputDir: string,
  promptIds: readonly (string | number)[],
  o: { maxImageBytes?: number } = {},
): Promise<T2iOutput> {
  const maxInfoBytes = T2I_INFO_BASE_BYTES + T2I_INFO_BYTES_PER_PROMPT * promptIds.length;
  const info = await sayingWhatWasExpected(
    readJobOutputJson(outputDir, T2I_INFO_FILE, { maxBytes: maxInfoBytes }),
    EXPECTED_T2I_INFO,
  );
  const entries = parseT2iInfo(info);
  const byId = new Map<string, number[]>();
  entries.forEach((e, i) => byId.set(e.id, [...(byId.get(e.id) ?? []), i]));

  const images: T2iImageResult[] = [];
  for (const raw of promptIds) {
    const promptId = String(raw);
    const listed = byId.get(promptId) ?? [];
    if (listed.length === 0) {
      images.push({ promptId, ok: false, reason: `${T2I_INFO_FILE} lists no image for prompt ${promptId}` });
      continue;
    }
    if (listed.length > 1) {
      const where = listed.map((i) => `${T2I_INFO_FILE}[${i}]`).join(', ');
      images.push({
        promptId,
        ok: false,
        reason: `${T2I_INFO_FILE} lists prompt ${promptId} more than once (${where})`,
      });
      continue;
    }
    const { image } = entries[listed[0]!]!;
    images.push({ promptId, image, ...(await readPng(outputDir, image, o.maxImageBytes ?? T2I_IMAGE_MAX_BYTES)) });
  }
  const asked = new Set(promptIds.map(String));
  const unknownIds = [...byId.keys()].filter((id) => !asked.has(id));
  return { images, unknownIds };
}

async function readPng(
  outputDir: string,
  image: string,
  maxBytes: number,
): Promise<{ ok: true; png: Buffer } | { ok: false; reason: string }> {
  let png: Buffer;
  try {
    png = await readJobOutput(outputDir, image, { maxBytes });
  } catch (error) {
    if (error instanceof JobOutputError) return { ok: false, reason: error.message };
    throw error;
  }
  if (png.length < PNG_SIGNATURE.length || !PNG_SIGNATURE.every((b, i) => png[i] === b))
    return {
      ok: false,
      reason: `${JSON.stringify(image)} does not start with the PNG signature; expected a PNG picture`,
    };
  return { ok: true, png };
}

/**
 * The guarded reader's refusal of an oversize file says only how large it is; the author of the
 * job also needs to hear what the file should have been.
 */
async function sayingWhatWasExpected<T>(read: Promise<T>, expected: string): Promise<T> {
  try {
    return await read;
  } catch (error) {
    if (error instanceof JobOutputError && error.problem === 'too_large')
      throw new JobOutputError('too_large', error.file, `${error.message}; ${expected}`);
    throw error;
  }
}
