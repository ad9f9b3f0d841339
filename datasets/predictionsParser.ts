/**
 * Reads uploaded predictions from JSON Lines against the dataset they answer, and refuses them, with
 * the line and field to fix, unless every line is {id, prediction} naming an item of the dataset,
 * no id comes twice, and every item has its prediction. Missing predictions are refused rather than
 * scored as failures: a file that skips items is a mistake far more often than a choice, and a score
 * over silently missing answers would be a wrong number with a right-looking face.
 */
import { DatasetFormatError } from './jsonlParser';

export { DatasetFormatError as PredictionsFormatError };

const MISSING_IDS_SHOWN = 5;

/** `itemIds[idx]` is the id of the item at index idx. Returns the prediction of each index, in index order. */
export function parsePredictionsJsonl(text: string, itemIds: readonly string[], datasetId: string): string[] {
  const indexOf = new Map(itemIds.map((id, idx) => [id, idx]));
  const predictions: (string | undefined)[] = new Array(itemIds.length);
  const lineOf = new Map<string, number>();
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  lines.forEach((raw, i) => {
    const line = i + 1;
    const source = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (source.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(source);
    } catch (error) {
      throw new DatasetFormatError(line, 'jsonl', `not valid JSON (${(error as Error).message})`);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new DatasetFormatError(line, 'jsonl', 'must be a JSON object {"id": "<item id>", "prediction": "<text>"}');
    }
    const record = value as Record<string, unknown>;
    const extra = Object.keys(record).find((k) => k !== 'id' && k !== 'prediction');
    if (extra !== undefined)
      throw new DatasetFormatError(line, extra, 'is not a field of a prediction (only id and prediction are)');
    if (typeof record.id !== 'string')
      throw new DatasetFormatError(line, 'id', 'must be the id of an item of the dataset, as a string');
    if (typeof record.prediction !== 'string')
      throw new DatasetFormatError(line, 'prediction', 'must be a string (the model\'s answer; "" for none)');
    if (!isStorable(record.prediction)) {
      throw new DatasetFormatError(
        line,
        'prediction',
        'must be text without NUL (\\u0000) or unpaired surrogate (\\ud800–\\udfff) characters',
      );
    }
    const idx = indexOf.get(record.id);
    if (idx === undefined)
      throw new DatasetFormatError(line, 'id', `"${clip(record.id)}" is not an item of dataset ${datasetId}`);
    const seen = lineOf.get(record.id);
    if (seen !== undefined)
      throw new DatasetFormatError(
        line,
        'id',
        `"${clip(record.id)}" already has a prediction on line ${seen}; each item takes one`,
      );
    lineOf.set(record.id, line);
    predictions[idx] = record.prediction;
  });
  const missing: string[] = [];
  for (let idx = 0; idx < itemIds.length; idx++) if (predictions[idx] === undefined) missing.push(itemIds[idx]!);
  if (missing.length > 0) {
    const shown = missing
      .slice(0, MISSING_IDS_SHOWN)
      .map((id) => `"${clip(id)}"`)
      .join(', ');
    throw new DatasetFormatError(
      0,
      'jsonl',
      `has no prediction for ${missing.length} of the ${itemIds.length} item(s) of dataset ${datasetId} (${shown}${missing.length > MISSING_IDS_SHOWN ? ', …' : ''}); every item needs one`,
    );
  }
  return predictions as string[];
}

function clip(id: string): string {
  return id.length > 80 ? `${id.slice(0, 80)}…` : id;
}

function isStorable(text: string): boolean {
  // PostgreSQL text holds no NUL, and an unpaired surrogate is not UTF-8.
  return !/\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(text);
}
