/**
 * The datasets every installation has. Each is generated from a fixed seed, so every process
 * produces identical items (and content hash) and start-up can store them without shipping data
 * files. The prompt wording is part of the contract: the reference model recognises it.
 */
import type { DatasetItem, MetricName } from '../contracts/dataset';
import { datasetContentHash } from './contentHash';
import { ARITH_BASIC_ID, generateArithBasic } from './builtin/arithBasic';
import { ARITH_MC_ID, generateArithChoice } from './builtin/arithChoice';
import { UNIT_CONVERSION_ID, generateUnitConversion } from './builtin/unitConversion';
import { WORD_REVERSE_ID, generateWordReverse } from './builtin/wordReverse';

export interface BuiltinDataset {
  id: string;
  name: string;
  domain: 'nlp';
  task: string;
  metric: MetricName;
  description: string;
  size: number;
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
      description: 'Addition and subtraction of integers 2–999 and multiplication of integers 2–99, answered with the number alone.',
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
      description: 'The same arithmetic as four-option multiple choice with near-miss distractors, answered with the option letter.',
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
      description: 'Conversions of length, mass, time and volume between units with exact factors, in both directions; results have at most three decimals.',
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

export function findBuiltinDataset(id: string): BuiltinDataset | undefined {
  return BUILTIN_DATASETS.find((d) => d.id === id);
}

/** Ids no custom dataset may take, whether or not the built-ins are stored yet. */
export const BUILTIN_DATASET_IDS: ReadonlySet<string> = new Set(BUILTIN_DATASETS.map((d) => d.id));

/** Every built-in, generated, with its content hash: what start-up stores in the registry. */
export function builtinDatasetRecords() {
  return BUILTIN_DATASETS.map((d) => {
    const items = d.generate();
    return { id: d.id, name: d.name, domain: d.domain, task: d.task, metric: d.metric, description: d.description, items, contentHash: datasetContentHash(items) };
  });
}
