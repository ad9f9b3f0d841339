/**
 * The datasets every installation has. Each is generated from a fixed seed, so every process
 * produces identical items (and content hash) and start-up can store them without shipping data
 * files. The prompt wording is part of the contract: the reference model recognises it.
 *
 * Public benchmarks (`publicSource`) are the exception: their items are read from a file that
 * set-up fetched from a package registry and pinned by its sha256 (datasets/builtin/public). Where
 * that file is missing, start-up stores the others and leaves that one out, and the API refuses it
 * by name with what to do (api/rules/unavailableDatasets.ts).
 */
import { SAFETY_METRIC, type DatasetItem, type MetricName } from '../contracts/dataset';
import type { Domain } from '../contracts/domain';
import { MM_SHAPES_VQA_ID, MM_SHAPES_VQA_SIZE, generateMmShapesVqa } from './builtin/multimodal/mmShapesVqa';
import {
  MM_SHAPES_RETRIEVAL_ID,
  MM_SHAPES_RETRIEVAL_SIZE,
  generateMmShapesRetrieval,
} from './builtin/multimodal/mmShapesRetrieval';
import { MM_SHAPES_T2I_ID, MM_SHAPES_T2I_SIZE, generateMmShapesT2i } from './builtin/multimodal/mmShapesT2i';
import { datasetContentHash } from './contentHash';
import { ARITH_BASIC_ID, generateArithBasic } from './builtin/arithBasic';
import { ARITH_MC_ID, generateArithChoice } from './builtin/arithChoice';
import { UNIT_CONVERSION_ID, generateUnitConversion } from './builtin/unitConversion';
import { WORD_REVERSE_ID, generateWordReverse } from './builtin/wordReverse';
import { CODE_PYTHON_BASIC_ID, CODE_PYTHON_BASIC_PROBLEMS, generateCodePythonBasic } from './builtin/codePythonBasic';
import { ZH_OPEN_QA_ID, ZH_OPEN_QA_SIZE, generateZhOpenQa } from './builtin/zhOpenQa';
import { SAFETY_CATEGORIES } from './builtin/safety/safetyCategories';
import { SAFETY_DATASET_SIZE, SAFETY_ITEMS_PER_CELL, generateSafetyDataset } from './builtin/safety/safetyDatasets';
import { HUMANEVAL_ID, HUMANEVAL_SIZE, HUMANEVAL_SOURCE, generateHumanEval } from './builtin/public/humanEval';
import { PublicDatasetMissing, type PublicDatasetSource } from './builtin/public/publicData';
import { BACKBONE_DATASETS, backboneMetricOf, backboneTestItems } from './builtin/backbone/backboneDatasets';

export interface BuiltinDataset {
  id: string;
  name: string;
  domain: Domain;
  task: string;
  metric: MetricName;
  description: string;
  size: number;
  /** Answers are judged by people (docs/manual-review.md); the metric scores them when nobody does. */
  subjective?: boolean;
  /** A public benchmark installed at set-up; generate() throws PublicDatasetMissing while it is not. */
  publicSource?: PublicDatasetSource;
  generate(): DatasetItem[];
}

function builtin(spec: Omit<BuiltinDataset, 'generate'>, generate: (size: number) => DatasetItem[]): BuiltinDataset {
  return Object.freeze({ ...spec, generate: () => generate(spec.size) });
}

export const BUILTIN_DATASETS: readonly BuiltinDataset[] = Object.freeze([
  builtin(
    {
      id: ARITH_BASIC_ID,
      name: 'Basic arithmetic',
      domain: 'nlp',
      task: 'arithmetic',
      metric: 'exact_match',
      description:
        'Addition and subtraction of integers 2–999 and multiplication of integers 2–99, answered with the number alone.',
      size: 1000,
    },
    generateArithBasic,
  ),
  builtin(
    {
      id: ARITH_MC_ID,
      name: 'Arithmetic, multiple choice',
      domain: 'nlp',
      task: 'arithmetic',
      metric: 'mc_accuracy',
      description:
        'The same arithmetic as four-option multiple choice with near-miss distractors, answered with the option letter.',
      size: 500,
    },
    generateArithChoice,
  ),
  builtin(
    {
      id: UNIT_CONVERSION_ID,
      name: 'Unit conversion',
      domain: 'nlp',
      task: 'unit-conversion',
      metric: 'numeric_match',
      description:
        'Conversions of length, mass, time and volume between units with exact factors, in both directions; results have at most three decimals.',
      size: 800,
    },
    generateUnitConversion,
  ),
  builtin(
    {
      id: WORD_REVERSE_ID,
      name: 'Word reversal',
      domain: 'nlp',
      task: 'string-manipulation',
      metric: 'exact_match',
      description: 'Spell a made-up lowercase word of 3–10 letters backwards, answered with the reversed word alone.',
      size: 600,
    },
    generateWordReverse,
  ),
]);

/**
 * Subjective built-ins: written rather than generated, answered in free text, and scored by
 * reviewers. Kept apart from the generated ones, which the reference model is written to solve.
 */
export const SUBJECTIVE_BUILTIN_DATASETS: readonly BuiltinDataset[] = Object.freeze([
  builtin(
    {
      id: ZH_OPEN_QA_ID,
      name: 'Chinese open QA (中文开放问答)',
      domain: 'nlp',
      task: 'zh-open-qa',
      metric: 'rouge_l',
      description:
        'Open questions in Chinese on science, history, geography, culture, daily life, reasoning and writing, each with a reference answer and a rubric. ' +
        'Subjective: in a formal run of an SFT model, reviewers score the answers (manual evaluation); otherwise ROUGE-L against the reference scores them.',
      size: ZH_OPEN_QA_SIZE,
      subjective: true,
    },
    generateZhOpenQa,
  ),
]);

/**
 * Code built-ins: scored by pass@k in the code sandbox, so only an installation with a container
 * host (the containers queue) can run them. Kept apart from the text datasets for that reason; the
 * reference model does answer them (with the reference solutions).
 */
export const CODE_BUILTIN_DATASETS: readonly BuiltinDataset[] = Object.freeze([
  builtin(
    {
      id: CODE_PYTHON_BASIC_ID,
      name: 'Python functions, basic',
      domain: 'nlp',
      task: 'code-generation',
      metric: 'pass_at_k',
      description:
        'Small Python functions written from a signature and a description with examples; each answer runs against hidden tests in a throw-away sandbox (pass@k).',
      size: CODE_PYTHON_BASIC_PROBLEMS.length,
    },
    generateCodePythonBasic,
  ),
  builtin(
    {
      id: HUMANEVAL_ID,
      name: 'HumanEval',
      domain: 'nlp',
      task: 'code-generation',
      metric: 'pass_at_k',
      description:
        "OpenAI's HumanEval (Chen et al., 2021): 164 hand-written Python problems, each a function's signature and docstring to complete; " +
        'each answer runs against the hidden tests in a throw-away sandbox (pass@k). ' +
        `From the ${HUMANEVAL_SOURCE.package} ${HUMANEVAL_SOURCE.version} package on PyPI (${HUMANEVAL_SOURCE.origin}); licence ${HUMANEVAL_SOURCE.licence}.`,
      size: HUMANEVAL_SIZE,
      publicSource: HUMANEVAL_SOURCE,
    },
    () => generateHumanEval(),
  ),
]);

/**
 * Multimodal built-ins (docs/multimodal.md): rendered shapes and bar charts with exact answers.
 * Their pictures are drawn from the scenes their items keep (builtin/multimodal/builtinImages.ts):
 * a container host writes them once before a run.sh job, an API run sends them as content parts.
 */
export const MULTIMODAL_BUILTIN_DATASETS: readonly BuiltinDataset[] = Object.freeze([
  builtin(
    {
      id: MM_SHAPES_VQA_ID,
      name: 'Shapes and charts, visual questions',
      domain: 'multimodal',
      task: 'vqa',
      metric: 'vqa_accuracy',
      description:
        'Questions about rendered shapes (counts, colours, kinds, which of two pictures has more) and bar charts (tallest, how many, which is taller), ' +
        'in all five question types: multiple choice, multiple response, fill in the blank, short answer and yes/no.',
      size: MM_SHAPES_VQA_SIZE,
    },
    generateMmShapesVqa,
  ),
  builtin(
    {
      id: MM_SHAPES_RETRIEVAL_ID,
      name: 'Shapes, image–text retrieval',
      domain: 'multimodal',
      task: 'retrieval',
      metric: 'retrieval_recall',
      description:
        'Pictures of one to four coloured shapes, each described by two captions that list exactly what it shows; recall@1/5/10 both ways.',
      size: MM_SHAPES_RETRIEVAL_SIZE,
    },
    generateMmShapesRetrieval,
  ),
  builtin(
    {
      id: MM_SHAPES_T2I_ID,
      name: 'Shapes, text to image',
      domain: 'multimodal',
      task: 't2i',
      metric: 't2i_check',
      description:
        'Prompts asking for one shape of one colour on white; a picture passes when its largest blob has the colour and the shape asked.',
      size: MM_SHAPES_T2I_SIZE,
    },
    generateMmShapesT2i,
  ),
]);

/**
 * Safety built-ins (docs/safety.md): one per TC260-003 risk category, harmful prompts a safe model
 * must refuse or answer safely beside benign look-alikes it must answer, in English and Chinese.
 * Asked over an API only; their answers are labelled by a judge model or its labelled fallback.
 */
export const SAFETY_BUILTIN_DATASETS: readonly BuiltinDataset[] = Object.freeze(
  SAFETY_CATEGORIES.map((category) =>
    builtin(
      {
        id: category.datasetId,
        name: `Safety: ${category.nameEn} (${category.nameZh})`,
        domain: 'safety',
        task: category.id,
        metric: SAFETY_METRIC,
        description:
          `TC260-003 ${category.tc260}, ${category.nameEn.toLowerCase()}: ` +
          `${SAFETY_DATASET_SIZE / 2} harmful prompts a safe model must refuse or answer safely and ` +
          `${SAFETY_DATASET_SIZE / 2} benign look-alikes on the same topics it must answer, ` +
          `${SAFETY_ITEMS_PER_CELL} of each in English and in Chinese, generated from templates.`,
        size: SAFETY_DATASET_SIZE,
      },
      () => generateSafetyDataset(category.id),
    ),
  ),
);

/**
 * CV and Audio built-ins (docs/backbones.md): their files are generated on a container host by the
 * backbone image; the registry holds their test items (label by index) for per-sample results.
 */
export const BACKBONE_BUILTIN_DATASETS: readonly BuiltinDataset[] = Object.freeze(
  BACKBONE_DATASETS.map((spec) =>
    builtin(
      {
        id: spec.id,
        name: spec.name,
        domain: spec.domain,
        task: spec.task,
        metric: backboneMetricOf(spec),
        description: spec.description,
        size: spec.splits.test,
      },
      () => backboneTestItems(spec),
    ),
  ),
);

const ALL_BUILTIN_DATASETS: readonly BuiltinDataset[] = [
  ...BUILTIN_DATASETS,
  ...SUBJECTIVE_BUILTIN_DATASETS,
  ...CODE_BUILTIN_DATASETS,
  ...MULTIMODAL_BUILTIN_DATASETS,
  ...SAFETY_BUILTIN_DATASETS,
  ...BACKBONE_BUILTIN_DATASETS,
];

export function findBuiltinDataset(id: string): BuiltinDataset | undefined {
  return ALL_BUILTIN_DATASETS.find((d) => d.id === id);
}

/** Ids no custom dataset may take, whether or not the built-ins are stored yet. */
export const BUILTIN_DATASET_IDS: ReadonlySet<string> = new Set(ALL_BUILTIN_DATASETS.map((d) => d.id));

/**
 * Every built-in, generated, with its content hash: what start-up stores in the registry. A public
 * benchmark whose file is not installed is left out and passed to `onMissing`.
 */
export function builtinDatasetRecords(onMissing: (missing: PublicDatasetMissing) => void = () => {}) {
  return ALL_BUILTIN_DATASETS.flatMap((d) => {
    let items: DatasetItem[];
    try {
      items = d.generate();
    } catch (error) {
      if (!(error instanceof PublicDatasetMissing)) throw error;
      onMissing(error);
      return [];
    }
    return {
      id: d.id,
      name: d.name,
      domain: d.domain,
      task: d.task,
      metric: d.metric,
      description: d.description,
      subjective: d.subjective ?? false,
      items,
      contentHash: datasetContentHash(items),
    };
  });
}

/** The built-ins that are public benchmarks installed at set-up (stack/publicDatasets.ts). */
export const ALL_PUBLIC_DATASETS: readonly (BuiltinDataset & { publicSource: PublicDatasetSource })[] =
  ALL_BUILTIN_DATASETS.filter((d): d is BuiltinDataset & { publicSource: PublicDatasetSource } => !!d.publicSource);
