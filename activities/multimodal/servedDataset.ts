/**
 * What the multimodal data server serves of one dataset: the answers of meta_info and get_data,
 * derived from its items (contracts/dataset.ts, read by the multimodal data model). Each answer is
 * built from the fields a model may see and nothing else (never ground_truth, nor choices: a
 * question lists its options in its own text, nor any other metadata), one item at a time, so a
 * request costs the size of its item whatever the size of the dataset.
 *
 * The items are checked once, when the server starts: one the data model does not describe fails
 * the start, naming it, instead of a request in the middle of a user's job.
 */
import {
  MULTIMODAL_TASKS,
  VQA_QUESTION_TYPES,
  type MultimodalTask,
  type VqaQuestionType,
} from '../../contracts/multimodal';
import path from 'node:path';
import type { DatasetItem } from '../../contracts/dataset';
import { DataRequestError, quoted } from './dataRequestError';
import type { DataServerDataset } from './dataServer';

export { MULTIMODAL_TASKS, VQA_QUESTION_TYPES, type MultimodalTask, type VqaQuestionType };
const isQuestionType = (value: unknown): value is VqaQuestionType => VQA_QUESTION_TYPES.some((t) => t === value);

export interface ServedDataset {
  /** The meta_info answer. */
  metaInfo: object;
  /** The get_data answer for a request's query; throws DataRequestError for a query it refuses. */
  getData(query: URLSearchParams): object;
}

export function serveDataset(dataset: DataServerDataset): ServedDataset {
  if (typeof dataset.name !== 'string' || dataset.name === '')
    throw new TypeError('the data server needs the dataset name meta_info answers with');
  const dir = dataset.imageDirInContainer;
  if (typeof dir !== 'string' || !dir.startsWith('/') || /[\0-\x1f]/.test(dir))
    throw new TypeError(
      `the dataset's image directory in the container must be an absolute path, not ${quoted(String(dir))}`,
    );
  if (!MULTIMODAL_TASKS.includes(dataset.task))
    throw new TypeError(
      `the data server serves the tasks ${MULTIMODAL_TASKS.join(', ')}, not ${quoted(String(dataset.task))}`,
    );
  dataset.items.forEach((item, index) => {
    const task = item.metadata?.task;
    if (task !== undefined && task !== dataset.task)
      throw new TypeError(`${itemName(dataset, index)} is marked metadata.task ${quoted(String(task))}`);
  });
  switch (dataset.task) {
    case 'vqa':
      return serveVqa(dataset);
    case 'retrieval':
      return serveRetrieval(dataset);
    case 't2i':
      return serveT2i(dataset);
    default:
      throw new TypeError(
        `the data server serves the tasks ${MULTIMODAL_TASKS.join(', ')}, not ${quoted(String(dataset.task))}`,
      );
  }
}

/**
 * VQA: question N with its images as paths in the container, its id and its question type.
 * meta_info's `length` is the number of questions: the seed calls it "number of images", but its
 * get_data walks [0, length) by question, and a question may show several images or share one.
 */
function serveVqa(dataset: DataServerDataset): ServedDataset {
  const { items } = dataset;
  const questions = items.map((item, index) => {
    const type = item.metadata?.questionType;
    if (!isQuestionType(type))
      throw new TypeError(
        `${itemName(dataset, index)} needs metadata.questionType, one of ${VQA_QUESTION_TYPES.join(', ')}; it has ${quoted(String(type))}`,
      );
    return { images: imagesOf(dataset, index), type };
  });
  return {
    // The seed's example answers type 'vpa'; that is a typo for the task it describes.
    metaInfo: { length: items.length, name: dataset.name, type: 'vqa' },
    getData(query) {
      const index = indexFrom(query, items.length, 'questions');
      const { images, type } = questions[index]!;
      return {
        img_path: images.map((file) => path.posix.join(dataset.imageDirInContainer, file)),
        question: items[index]!.prompt,
        question_id: items[index]!.id,
        type,
      };
    },
  };
}

/**
 * Retrieval: images and captions fetched apart (type=img, type=text), so nothing served pairs a
 * caption with its image. Caption j is item j; image i is the i-th distinct file in the order the
 * items first name them.
 */
function serveRetrieval(dataset: DataServerDataset): ServedDataset {
  const { items } = dataset;
  const seen = new Set<string>();
  const images: string[] = [];
  items.forEach((_item, index) => {
    const named = imagesOf(dataset, index);
    if (named.length !== 1)
      throw new TypeError(
        `${itemName(dataset, index)} is a caption: its metadata.images names exactly one image, not ${named.length}`,
      );
    if (seen.has(named[0]!)) return;
    seen.add(named[0]!);
    images.push(path.posix.join(dataset.imageDirInContainer, named[0]!));
  });
  const typeNeeded = `type=img (an image, index in [0, ${images.length})) or type=text (a caption, index in [0, ${items.length}))`;
  return {
    metaInfo: { name: dataset.name, image_number: images.length, caption_number: items.length, type: 'retrieval' },
    getData(query) {
      const type = single(query, 'type');
      if (type === undefined) throw new DataRequestError(400, `a retrieval dataset's get_data needs ${typeNeeded}`);
      if (type === 'img') return { img_path: images[indexFrom(query, images.length, 'images')]! };
      if (type === 'text') return { caption: items[indexFrom(query, items.length, 'captions')]!.prompt };
      throw new DataRequestError(400, `type must be img or text, not ${quoted(type)}: ${typeNeeded}`);
    },
  };
}

/** Text-to-image: prompt N, whose id is N, the name its picture is saved under (N.png). */
function serveT2i(dataset: DataServerDataset): ServedDataset {
  const { items } = dataset;
  return {
    metaInfo: { length: items.length, name: dataset.name, type: 't2i' },
    getData(query) {
      const index = indexFrom(query, items.length, 'prompts');
      return { prompt: items[index]!.prompt, id: index };
    },
  };
}

// VQA and text-to-image datasets have one kind of item, so a `type` parameter there selects
// nothing: it is ignored, as the seed documents `type` for retrieval only and its VQA and
// text-to-image examples send `index` alone; a client that sends it everywhere still gets its data.

/** The one value of a query parameter; a parameter given twice is refused rather than guessed at. */
function single(query: URLSearchParams, name: string): string | undefined {
  const values = query.getAll(name);
  if (values.length > 1) throw new DataRequestError(400, `give ${name} once, not ${values.length} times`);
  return values[0];
}

/**
 * The request's index: 400 when it is missing or not a non-negative integer written in digits,
 * 404 past the end, so a client that walks until it is refused can tell the end from a mistake.
 */
function indexFrom(query: URLSearchParams, length: number, what: string): number {
  const raw = single(query, 'index');
  const range = `[0, ${length})`;
  if (raw === undefined) throw new DataRequestError(400, `get_data needs index=N, N an integer in ${range}`);
  if (!/^[0-9]+$/.test(raw))
    throw new DataRequestError(400, `index must be a non-negative integer in ${range}, not ${quoted(raw)}`);
  const index = Number(raw);
  if (index >= length)
    throw new DataRequestError(
      404,
      length === 0
        ? `index ${raw.length > 20 ? quoted(raw) : raw} is out of range: the dataset has no ${what}`
        : `index ${raw.length > 20 ? quoted(raw) : raw} is out of range ${range}: the dataset has ${length} ${what}`,
    );
  return index;
}

/** An item's image file names, each relative to the dataset's image directory and staying inside it. */
function imagesOf(dataset: DataServerDataset, index: number): string[] {
  const images = dataset.items[index]!.metadata?.images;
  if (!Array.isArray(images))
    throw new TypeError(`${itemName(dataset, index)} needs metadata.images, a list of image file names`);
  return images.map((file, k) => {
    if (
      typeof file !== 'string' ||
      file === '' ||
      file.startsWith('/') ||
      /[\0-\x1f]/.test(file) ||
      file.split('/').some((part) => part === '..')
    )
      throw new TypeError(
        `${itemName(dataset, index)}: metadata.images[${k}] must be a file name relative to the dataset's image directory, not ${quoted(String(file))}`,
      );
    return file;
  });
}

function itemName(dataset: DataServerDataset, index: number): string {
  const item: DatasetItem = dataset.items[index]!;
  return `item ${quoted(item.id)} (index ${index}) of the ${dataset.task} dataset ${quoted(dataset.name)}`;
}
