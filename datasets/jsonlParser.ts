/**
 * Reads a user's dataset from JSON Lines and refuses it, with the line and field to fix, unless
 * every item is well formed and fits the metric it will be scored with. Checking the metric fit
 * here, once, is what lets the scorer trust a dataset for the length of a 100,000-sample run.
 */
import { referencesOf } from '../scoring/references';
import { Value } from '@sinclair/typebox/value';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import { DatasetItem, type MetricName } from '../contracts/dataset';
import { parseNumber } from '../scoring/extractNumber';

export const DEFAULT_MAX_ITEMS = 100_000;

/** A dataset that cannot be registered. `line` is 1-based (0 for the dataset as a whole). */
export class DatasetFormatError extends Error {
  override name = 'DatasetFormatError';
  constructor(
    readonly line: number,
    readonly field: string,
    detail: string,
  ) {
    super(line > 0 ? `line ${line}: ${detail}` : detail);
  }
}

export function parseDatasetJsonl(text: string, options: { metric: MetricName; maxItems?: number }): DatasetItem[] {
  const maxItems = options.maxItems ?? DEFAULT_MAX_ITEMS;
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  const items: DatasetItem[] = [];
  const firstLineOfId = new Map<string, number>();

  lines.forEach((raw, i) => {
    const line = i + 1;
    const source = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (source.trim() === '') return;
    if (items.length === maxItems) {
      throw new DatasetFormatError(
        line,
        'jsonl',
        `the dataset has more than ${maxItems.toLocaleString('en-US')} items`,
      );
    }
    let value: unknown;
    try {
      value = JSON.parse(source);
    } catch (error) {
      throw new DatasetFormatError(line, 'jsonl', `not valid JSON (${(error as Error).message})`);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new DatasetFormatError(
        line,
        'jsonl',
        'must be a JSON object with id, prompt, ground_truth and optional choices and metadata',
      );
    }
    const unstorable = unstorableField(value);
    if (unstorable !== null)
      throw new DatasetFormatError(
        line,
        unstorable,
        'must be text without NUL (\\u0000) or unpaired surrogate (\\ud800–\\udfff) characters',
      );
    if (!Value.Check(DatasetItem, value)) {
      const first = Value.Errors(DatasetItem, value).First();
      throw schemaError(line, first);
    }
    const seen = firstLineOfId.get(value.id);
    if (seen !== undefined)
      throw new DatasetFormatError(line, 'id', `id "${value.id}" is already used on line ${seen}; ids must be unique`);
    firstLineOfId.set(value.id, line);
    checkMetricFit(line, value, options.metric);
    items.push(value);
  });

  if (items.length === 0)
    throw new DatasetFormatError(0, 'jsonl', 'the dataset has no items: give one JSON object per line');
  return items;
}

function schemaError(line: number, error: ValueError | undefined): DatasetFormatError {
  if (!error) return new DatasetFormatError(line, 'jsonl', 'is not a valid dataset item');
  const path = error.path.split('/').filter(Boolean);
  const field = path.map((p, k) => (k === 0 ? p : `[${p}]`)).join('') || 'jsonl';
  if (error.type === ValueErrorType.ObjectRequiredProperty)
    return new DatasetFormatError(line, field, `${field} is required`);
  if (error.type === ValueErrorType.ObjectAdditionalProperties) {
    return new DatasetFormatError(
      line,
      field,
      `${field} is not allowed (an item has id, prompt, ground_truth and optional choices and metadata)`,
    );
  }
  const description =
    (error.schema.description as string | undefined) ??
    (path[0] === 'choices'
      ? 'must be a string of at most 10,000 characters'
      : path[0] === 'metadata'
        ? 'must be a JSON object'
        : null);
  return new DatasetFormatError(line, field, `${field} ${description ?? `is invalid: ${error.message.toLowerCase()}`}`);
}

function checkMetricFit(line: number, item: DatasetItem, metric: MetricName): void {
  switch (metric) {
    case 'mc_accuracy': {
      if (!item.choices) throw new DatasetFormatError(line, 'choices', 'choices is required for metric mc_accuracy');
      const last = String.fromCharCode(64 + item.choices.length);
      if (!/^[A-Z]$/.test(item.ground_truth) || item.ground_truth > last) {
        throw new DatasetFormatError(
          line,
          'ground_truth',
          `ground_truth must be a letter from A to ${last} for metric mc_accuracy (the item has ${item.choices.length} choices)`,
        );
      }
      return;
    }
    case 'numeric_match':
      if (parseNumber(item.ground_truth) === null) {
        throw new DatasetFormatError(line, 'ground_truth', 'ground_truth must be a number for metric numeric_match');
      }
      return;
    case 'safety':
      // What the prompt is: harmful (to be refused or answered safely) or benign (to be answered).
      if (item.ground_truth !== 'harmful' && item.ground_truth !== 'benign') {
        throw new DatasetFormatError(
          line,
          'ground_truth',
          'ground_truth must be harmful or benign for metric safety (whether the prompt must be refused or answered safely, or answered)',
        );
      }
      return;
    case 'exact_match':
      if (item.ground_truth.trim() === '') {
        throw new DatasetFormatError(line, 'ground_truth', 'ground_truth must not be empty for metric exact_match');
      }
      return;
    case 'pass_at_k': {
      // The sandbox calls the entry point by name and runs ground_truth as Python after the program.
      const entryPoint = item.metadata?.entry_point;
      if (typeof entryPoint !== 'string' || !/^[A-Za-z_]\w*$/.test(entryPoint)) {
        throw new DatasetFormatError(
          line,
          'metadata.entry_point',
          'metadata.entry_point must be a Python identifier (the function the tests call) for metric pass_at_k',
        );
      }
      if (item.ground_truth.trim() === '') {
        throw new DatasetFormatError(
          line,
          'ground_truth',
          'ground_truth must hold the hidden test code (Python assertions) for metric pass_at_k',
        );
      }
      const prefix = item.metadata?.program_prefix;
      if (prefix !== undefined && typeof prefix !== 'string') {
        throw new DatasetFormatError(
          line,
          'metadata.program_prefix',
          'metadata.program_prefix must be a string (Python code run before the answer, e.g. the function signature the prompt gives) for metric pass_at_k',
        );
      }
      return;
    }
    case 'f1':
    case 'rouge_l':
    case 'bleu':
      if (referencesOf(item.ground_truth).some((reference) => reference.trim() === '')) {
        throw new DatasetFormatError(
          line,
          'ground_truth',
          `ground_truth must be a non-empty text, or a JSON array of non-empty texts for several references, for metric ${metric}`,
        );
      }
      return;
  }
}

const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** The first field (key or value, at any depth) holding text PostgreSQL cannot store; null when there is none. */
function unstorableField(value: unknown): string | null {
  const pending: { node: unknown; field: string }[] = [{ node: value, field: 'jsonl' }];
  while (pending.length > 0) {
    const { node, field } = pending.pop()!;
    if (typeof node === 'string') {
      if (UNSTORABLE.test(node)) return field;
    } else if (Array.isArray(node)) {
      node.forEach((item, i) => pending.push({ node: item, field: `${field}[${i}]` }));
    } else if (node && typeof node === 'object') {
      for (const [key, item] of Object.entries(node)) {
        const inner = field === 'jsonl' ? key : `${field}.${key}`;
        if (UNSTORABLE.test(key)) return inner;
        pending.push({ node: item, field: inner });
      }
    }
  }
  return null;
}
