import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import { DatasetItem } from '../../../contracts/dataset';
import {
  MM_SHAPES_VQA_ID,
  MM_SHAPES_VQA_SIZE,
  VQA_QUESTION_TYPES,
  buildMmShapesVqa,
  generateMmShapesVqa,
  type VqaMetadata,
} from '../../../datasets/builtin/multimodal/mmShapesVqa';
import { COLOURS, SHAPES, pluralOf, type ShapeName } from '../../../datasets/builtin/multimodal/palette';
import { renderScene, shapeArea } from '../../../datasets/builtin/multimodal/render';
import { readBars, readShapes } from './readPicture';

const { items, scenes } = buildMmShapesVqa();
const metadataOf = (item: DatasetItem) => item.metadata as VqaMetadata;
const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** The question: the prompt less its placeholders line and any choices block. */
function questionOf(item: DatasetItem): string {
  return item.prompt.split('\n')[1]!;
}

function shapeNamed(plural: string): ShapeName {
  const shape = SHAPES.find((s) => pluralOf(s) === plural);
  if (shape === undefined) throw new Error(`no shape is called ${plural}`);
  return shape;
}

/**
 * The answer to the item's question as read off its rendered pictures, in the form of its ground
 * truth. Each branch also insists on what makes the question fair (one object of the colour asked
 * about, counts that differ, one tallest bar).
 */
function answerFromPixels(item: DatasetItem): string {
  const pngs = metadataOf(item).images.map((name) => renderScene(scenes.get(name)!));
  const question = questionOf(item);
  const choices = item.choices ?? [];
  const letterOf = (text: string) => {
    const at = choices.indexOf(text);
    expect(at, `${item.id}: ${text} is one of the choices`).toBeGreaterThanOrEqual(0);
    expect(choices.lastIndexOf(text)).toBe(at);
    return LETTERS[at]!;
  };
  let m: RegExpMatchArray | null;
  if ((m = question.match(/^How many (\w+) (\w+) are in the picture\?$/))) {
    const [, colour, plural] = m;
    const shape = shapeNamed(plural!);
    return letterOf(String(readShapes(pngs[0]!).filter((s) => s.colour === colour && s.shape === shape).length));
  }
  if ((m = question.match(/^What colour is the (\w+)\?$/))) {
    const ofKind = readShapes(pngs[0]!).filter((s) => s.shape === m![1]);
    expect(ofKind, `${item.id}: one ${m[1]}`).toHaveLength(1);
    return letterOf(ofKind[0]!.colour);
  }
  if (question === 'Which picture has more shapes?') {
    const [first, second] = pngs.map((png) => readShapes(png).length);
    expect(first).not.toBe(second);
    return letterOf(first! > second! ? 'the first picture' : 'the second picture');
  }
  if (question === 'Which colours appear in the picture?') {
    const seen = new Set(readShapes(pngs[0]!).map((s) => s.colour));
    return choices.flatMap((c, k) => (seen.has(c as never) ? [LETTERS[k]] : [])).join(',');
  }
  if (question === 'The picture shows ___ shapes in all. Fill in the blank with a number.')
    return String(readShapes(pngs[0]!).length);
  if ((m = question.match(/^What shape is the (\w+) object\? Answer with one word\.$/))) {
    const ofColour = readShapes(pngs[0]!).filter((s) => s.colour === m![1]);
    expect(ofColour, `${item.id}: one ${m[1]} object`).toHaveLength(1);
    return ofColour[0]!.shape;
  }
  if (question === 'Which colour is the tallest bar? Answer with one word.') {
    const bars = readBars(pngs[0]!).sort((a, b) => b.height - a.height);
    expect(bars[0]!.height).toBeGreaterThan(bars[1]!.height);
    return bars[0]!.colour;
  }
  if (question === 'The chart has ___ bars. Fill in the blank with a number.') return String(readBars(pngs[0]!).length);
  if ((m = question.match(/^Is there an? (\w+) (\w+) in the picture\? Answer yes or no\.$/))) {
    const found = readShapes(pngs[0]!).some((s) => s.colour === m![1] && s.shape === m![2]);
    return found ? 'yes' : 'no';
  }
  if ((m = question.match(/^Is the (\w+) bar taller than the (\w+) bar\? Answer yes or no\.$/))) {
    const bars = readBars(pngs[0]!);
    const height = (colour: string) => {
      const matching = bars.filter((b) => b.colour === colour);
      expect(matching, `${item.id}: one ${colour} bar`).toHaveLength(1);
      return matching[0]!.height;
    };
    return height(m[1]!) > height(m[2]!) ? 'yes' : 'no';
  }
  throw new Error(`${item.id}: no template matches ${JSON.stringify(question)}`);
}

describe(MM_SHAPES_VQA_ID, () => {
  it('has 240 valid items with sequential ids, the same on every call', () => {
    expect(items).toHaveLength(MM_SHAPES_VQA_SIZE);
    expect(MM_SHAPES_VQA_SIZE).toBe(240);
    items.forEach((item, i) => {
      expect(item.id).toBe(`mm-shapes-vqa-${String(i + 1).padStart(4, '0')}`);
      expect(Value.Check(DatasetItem, item), item.id).toBe(true);
    });
    expect(generateMmShapesVqa()).toEqual(items);
  });

  it('numbers its pictures img-0000.png on, each used by one item, each with its scene', () => {
    const names = items.flatMap((item) => metadataOf(item).images);
    expect(names).toEqual(names.map((_, k) => `img-${String(k).padStart(4, '0')}.png`));
    expect([...scenes.keys()]).toEqual(names);
    for (const item of items) {
      const meta = metadataOf(item);
      expect(meta.task).toBe('vqa');
      expect(meta.scenes).toEqual(meta.images.map((name) => scenes.get(name)));
    }
  });

  it('starts each prompt with its placeholders and a newline, and uses every question type', () => {
    for (const item of items) {
      const { images } = metadataOf(item);
      const placeholders = images.map((_, k) => `<image ${k + 1}>`).join('');
      expect(item.prompt.startsWith(`${placeholders}\n`), item.id).toBe(true);
      expect(item.prompt.split('\n')[0]).toBe(placeholders);
    }
    const types = new Set(items.map((item) => metadataOf(item).questionType));
    expect([...types].sort()).toEqual([...VQA_QUESTION_TYPES].sort());
  });

  it('ends every choice prompt with its choices and the instruction, and its ground truth in the right form', () => {
    for (const item of items) {
      const { questionType } = metadataOf(item);
      const choices = item.choices;
      if (questionType === 'multiple-choice' || questionType === 'multiple-response') {
        expect(choices, item.id).toBeDefined();
        expect(new Set(choices).size).toBe(choices!.length);
        const instruction =
          questionType === 'multiple-choice'
            ? 'Answer with the option letter.'
            : 'Answer with all the correct option letters, separated by commas.';
        const block = `\nChoices:\n${choices!.map((c, k) => `(${LETTERS[k]}) ${c}\n`).join('')}${instruction}`;
        expect(item.prompt.endsWith(block), item.id).toBe(true);
        expect(item.prompt).toBe(`${item.prompt.split('\n').slice(0, 2).join('\n')}${block}`);
        const letters = item.ground_truth.split(',');
        expect(letters.join(',')).toBe(item.ground_truth);
        expect([...letters].sort()).toEqual(letters);
        for (const l of letters) expect(LETTERS.indexOf(l)).toBeLessThan(choices!.length);
        if (questionType === 'multiple-choice') {
          expect(letters).toHaveLength(1);
          expect([2, 4]).toContain(choices!.length);
        } else {
          expect(choices!.length).toBeGreaterThanOrEqual(4);
          expect(choices!.length).toBeLessThanOrEqual(6);
          expect(letters.length).toBeLessThan(choices!.length);
        }
      } else {
        expect(choices, item.id).toBeUndefined();
        expect(item.prompt.split('\n')).toHaveLength(2);
        if (questionType === 'yes-no') expect(['yes', 'no']).toContain(item.ground_truth);
        if (questionType === 'fill-in-the-blank') expect(item.ground_truth).toMatch(/^[1-9]$/);
        if (questionType === 'short-answer') expect([...COLOURS, ...SHAPES]).toContain(item.ground_truth);
      }
    }
  });

  it('gives every item the answer its rendered pictures show', () => {
    for (const item of items) expect(answerFromPixels(item), `${item.id}: ${questionOf(item)}`).toBe(item.ground_truth);
  });

  it('draws every scene so it decodes to one blob per shape, of its colour and exact area, or one blob per bar', () => {
    for (const scene of scenes.values()) {
      const png = renderScene(scene);
      if (scene.kind === 'bars') {
        expect(readBars(png)).toEqual(scene.bars);
        continue;
      }
      expect(scene.shapes.length).toBeGreaterThanOrEqual(1);
      expect(scene.shapes.length).toBeLessThanOrEqual(6);
      const key = (s: { colour: string; shape: string; pixels: number }) => `${s.colour} ${s.shape} ${s.pixels}`;
      expect(readShapes(png).map(key).sort()).toEqual(
        scene.shapes.map((s) => key({ ...s, pixels: shapeArea(s) })).sort(),
      );
    }
  });

  it('asks each template 24 times and answers half of each kind of yes-no question yes', () => {
    const templates = new Map<string, number>();
    for (const item of items) {
      const template = questionOf(item).replace(/\b(red|orange|yellow|green|blue|purple|black)\b/g, '{c}');
      const generic = template
        .replace(/\b(circles?|squares?|triangles?|cross(es)?)\b/g, '{s}')
        .replace(/\ban? \{c\}/g, 'a {c}');
      templates.set(generic, (templates.get(generic) ?? 0) + 1);
    }
    expect([...templates.values()]).toEqual(Array<number>(10).fill(24));
    for (const yesNo of [/^Is there an? /, /^Is the /]) {
      const answers = items.filter((item) => yesNo.test(questionOf(item))).map((item) => item.ground_truth);
      expect(answers.filter((a) => a === 'yes')).toHaveLength(12);
      expect(answers.filter((a) => a === 'no')).toHaveLength(12);
    }
  });
});
