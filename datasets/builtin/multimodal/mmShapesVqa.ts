/**
 * `mm-shapes-vqa`: questions about pictures of simple shapes and bar charts, answered from the
 * picture alone: counts, colours, shapes, comparisons of two pictures and of bars, in all five
 * question types (multiple-choice, multiple-response, fill-in-the-blank, short-answer, yes-no).
 * Ten templates take turns, so any prefix of the items mixes them; each draws its scene so its
 * answer is unambiguous (the one shape of a kind a colour question asks about, counts that differ,
 * bars of distinct heights). The wording is part of the contract the reference model parses.
 */
import { VQA_QUESTION_TYPES, type VqaQuestionType } from '../../../contracts/multimodal';
import type { DatasetItem } from '../../../contracts/dataset';
import { Prng } from '../../prng';
import { builtinItemId } from '../itemIds';
import { imageFileName, type BuiltinDrawing } from './imageFiles';
import { COLOURS, SHAPES, articleFor, pluralOf, type ColourName, type ShapeName } from './palette';
import type { Scene } from './render';
import { drawBarChart, pickDistinct, placeShapes, shuffled, type ShapeDraft } from './sceneDraw';

export const MM_SHAPES_VQA_ID = 'mm-shapes-vqa';
export const MM_SHAPES_VQA_SIZE = 240;
const SEED = 0x3d11_0001;

export { VQA_QUESTION_TYPES, type VqaQuestionType };

export interface VqaMetadata {
  task: 'vqa';
  images: string[];
  questionType: VqaQuestionType;
  /** The scene of each picture, in the order of `images`: enough to draw it again. */
  scenes: Scene[];
  [key: string]: unknown;
}

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const MAX_SHAPES = 6;
const MIN_BARS = 2;
const MAX_BARS = 5;

interface Question {
  text: string;
  questionType: VqaQuestionType;
  scenes: Scene[];
  answer: string;
  choices?: string[];
}

/** `yes` is the round's answer to a yes-no question: half the rounds have each, in a shuffled order. */
type Template = (prng: Prng, yes: boolean) => Question;

export function generateMmShapesVqa(): DatasetItem[] {
  return buildMmShapesVqa().items;
}

export function buildMmShapesVqa(): BuiltinDrawing {
  const prng = new Prng(SEED);
  const rounds = Math.ceil(MM_SHAPES_VQA_SIZE / TEMPLATES.length);
  const yesRounds = shuffled(
    prng,
    Array.from({ length: rounds }, (_, k) => k % 2 === 0),
  );
  const scenes = new Map<string, Scene>();
  const items = Array.from({ length: MM_SHAPES_VQA_SIZE }, (_, i): DatasetItem => {
    const q = TEMPLATES[i % TEMPLATES.length]!(prng, yesRounds[Math.floor(i / TEMPLATES.length)]!);
    const images = q.scenes.map((scene) => {
      const name = imageFileName(scenes.size);
      scenes.set(name, scene);
      return name;
    });
    const placeholders = images.map((_, k) => `<image ${k + 1}>`).join('');
    const metadata: VqaMetadata = { task: 'vqa', images, questionType: q.questionType, scenes: q.scenes };
    return {
      id: builtinItemId(MM_SHAPES_VQA_ID, i),
      prompt: `${placeholders}\n${q.text}`,
      ground_truth: q.answer,
      ...(q.choices === undefined ? {} : { choices: q.choices }),
      metadata,
    };
  });
  return { items, scenes };
}

/** The question, its `(A) …` lines and the instruction, as every (multiple-)choice prompt ends. */
function withChoices(question: string, choices: readonly string[], multiple: boolean): string {
  const lines = choices.map((c, k) => `(${LETTERS[k]}) ${c}\n`).join('');
  const instruction = multiple
    ? 'Answer with all the correct option letters, separated by commas.'
    : 'Answer with the option letter.';
  return `${question}\nChoices:\n${lines}${instruction}`;
}

function multipleChoice(question: string, scenes: Scene[], choices: string[], correct: string): Question {
  const at = choices.indexOf(correct);
  if (at < 0 || choices.lastIndexOf(correct) !== at) throw new Error(`${correct} must be exactly one of the choices`);
  return {
    text: withChoices(question, choices, false),
    questionType: 'multiple-choice',
    scenes,
    answer: LETTERS[at]!,
    choices,
  };
}

function randomDraft(prng: Prng): ShapeDraft {
  return { shape: prng.pick(SHAPES), colour: prng.pick(COLOURS) };
}

/** A shape that is not a `colour` `shape`, and mostly a near miss: one of the two matches. */
function nearMiss(prng: Prng, colour: ColourName, shape: ShapeName): ShapeDraft {
  switch (prng.int(0, 2)) {
    case 0:
      return { colour, shape: prng.pick(SHAPES.filter((s) => s !== shape)) };
    case 1:
      return { colour: prng.pick(COLOURS.filter((c) => c !== colour)), shape };
    default: {
      let draft = randomDraft(prng);
      while (draft.colour === colour && draft.shape === shape) draft = randomDraft(prng);
      return draft;
    }
  }
}

function scene(prng: Prng, drafts: ShapeDraft[]): Scene {
  return placeShapes(prng, shuffled(prng, drafts));
}

function randomScene(prng: Prng, count: number): Scene {
  return scene(
    prng,
    Array.from({ length: count }, () => randomDraft(prng)),
  );
}

function barChart(prng: Prng): Scene {
  return drawBarChart(prng, prng.int(MIN_BARS, MAX_BARS), COLOURS);
}

function barsOf(chart: Scene) {
  if (chart.kind !== 'bars') throw new Error('expected a bar chart');
  return chart.bars;
}

const countChoice: Template = (prng) => {
  const colour = prng.pick(COLOURS);
  const shape = prng.pick(SHAPES);
  const count = prng.int(1, 4);
  const others = Array.from({ length: prng.int(0, MAX_SHAPES - count) }, () => nearMiss(prng, colour, shape));
  const drafts = [...Array.from({ length: count }, () => ({ colour, shape })), ...others];
  // Four consecutive numbers around the answer, in ascending order.
  const first = prng.int(Math.max(0, count - 3), count);
  const choices = [0, 1, 2, 3].map((k) => String(first + k));
  const question = `How many ${colour} ${pluralOf(shape)} are in the picture?`;
  return multipleChoice(question, [scene(prng, drafts)], choices, String(count));
};

const colourChoice: Template = (prng) => {
  const shape = prng.pick(SHAPES);
  const colour = prng.pick(COLOURS);
  const others = Array.from({ length: prng.int(0, MAX_SHAPES - 1) }, () => ({
    shape: prng.pick(SHAPES.filter((s) => s !== shape)),
    colour: prng.pick(COLOURS),
  }));
  const wrong = pickDistinct(
    prng,
    COLOURS.filter((c) => c !== colour),
    3,
  );
  const choices = shuffled(prng, [colour, ...wrong]);
  return multipleChoice(`What colour is the ${shape}?`, [scene(prng, [{ shape, colour }, ...others])], choices, colour);
};

const morePictureChoice: Template = (prng) => {
  const first = prng.int(1, MAX_SHAPES);
  let second = prng.int(1, MAX_SHAPES - 1);
  if (second >= first) second++;
  const choices = ['the first picture', 'the second picture'];
  const scenes = [randomScene(prng, first), randomScene(prng, second)];
  return multipleChoice('Which picture has more shapes?', scenes, choices, choices[first > second ? 0 : 1]!);
};

const coloursResponse: Template = (prng) => {
  const present = pickDistinct(prng, COLOURS, prng.int(1, 4));
  const absent = COLOURS.filter((c) => !present.includes(c));
  const extra = prng.int(0, MAX_SHAPES - present.length);
  const drafts = [...present, ...Array.from({ length: extra }, () => prng.pick(present))].map((colour) => ({
    colour,
    shape: prng.pick(SHAPES),
  }));
  const count = prng.int(4, 6);
  const right = prng.int(Math.max(1, count - absent.length), Math.min(present.length, count - 1));
  const choices = shuffled(prng, [...pickDistinct(prng, present, right), ...pickDistinct(prng, absent, count - right)]);
  const letters = choices.flatMap((c, k) => (present.includes(c) ? [LETTERS[k]!] : []));
  return {
    text: withChoices('Which colours appear in the picture?', choices, true),
    questionType: 'multiple-response',
    scenes: [scene(prng, drafts)],
    answer: letters.join(','),
    choices,
  };
};

const countBlank: Template = (prng) => {
  const count = prng.int(1, MAX_SHAPES);
  return {
    text: 'The picture shows ___ shapes in all. Fill in the blank with a number.',
    questionType: 'fill-in-the-blank',
    scenes: [randomScene(prng, count)],
    answer: String(count),
  };
};

const shapeShort: Template = (prng) => {
  const colour = prng.pick(COLOURS);
  const shape = prng.pick(SHAPES);
  const others = Array.from({ length: prng.int(0, MAX_SHAPES - 1) }, () => ({
    shape: prng.pick(SHAPES),
    colour: prng.pick(COLOURS.filter((c) => c !== colour)),
  }));
  return {
    text: `What shape is the ${colour} object? Answer with one word.`,
    questionType: 'short-answer',
    scenes: [scene(prng, [{ colour, shape }, ...others])],
    answer: shape,
  };
};

const tallestShort: Template = (prng) => {
  const chart = barChart(prng);
  const tallest = barsOf(chart).reduce((a, b) => (b.height > a.height ? b : a));
  return {
    text: 'Which colour is the tallest bar? Answer with one word.',
    questionType: 'short-answer',
    scenes: [chart],
    answer: tallest.colour,
  };
};

const barsBlank: Template = (prng) => {
  const chart = barChart(prng);
  return {
    text: 'The chart has ___ bars. Fill in the blank with a number.',
    questionType: 'fill-in-the-blank',
    scenes: [chart],
    answer: String(barsOf(chart).length),
  };
};

const shapeYesNo: Template = (prng, yes) => {
  const colour = prng.pick(COLOURS);
  const shape = prng.pick(SHAPES);
  const count = prng.int(1, MAX_SHAPES);
  const drafts = Array.from({ length: count }, (_, k) =>
    yes && k === 0 ? { colour, shape } : nearMiss(prng, colour, shape),
  );
  return {
    text: `Is there ${articleFor(colour)} ${colour} ${shape} in the picture? Answer yes or no.`,
    questionType: 'yes-no',
    scenes: [scene(prng, drafts)],
    answer: yes ? 'yes' : 'no',
  };
};

const barsYesNo: Template = (prng, yes) => {
  const chart = barChart(prng);
  const [taller, shorter] = pickDistinct(prng, barsOf(chart), 2).sort((p, q) => q.height - p.height);
  const a = yes ? taller! : shorter!;
  const b = yes ? shorter! : taller!;
  return {
    text: `Is the ${a.colour} bar taller than the ${b.colour} bar? Answer yes or no.`,
    questionType: 'yes-no',
    scenes: [chart],
    answer: a.height > b.height ? 'yes' : 'no',
  };
};

const TEMPLATES: readonly Template[] = [
  countChoice,
  colourChoice,
  morePictureChoice,
  coloursResponse,
  countBlank,
  shapeShort,
  tallestShort,
  barsBlank,
  shapeYesNo,
  barsYesNo,
];
