/**
 * The fingerprint of a dataset's content. A run records it for every dataset it uses, so a result
 * can always be tied to the exact items it was scored on, and start-up can tell whether a built-in
 * dataset's stored items are stale.
 *
 * The hash is over a canonical JSONL rendering, never over whatever bytes a user uploaded, so the
 * same items hash the same whatever their key order, spacing or line endings were:
 *   - one line per item, joined with '\n' (no trailing newline);
 *   - each line a JSON object with keys in the order id, prompt, ground_truth, choices, metadata,
 *     choices and metadata left out when absent;
 *   - object keys inside metadata sorted by UTF-16 code unit, recursively, and otherwise
 *     JSON.stringify's escaping and number formatting (undefined members dropped as it does);
 *   - for a dataset with pictures, then a NUL line `pictures` and each picture's name and sha256.
 */
import { createHash } from 'node:crypto';
import type { DatasetItem } from '../contracts/dataset';

export function datasetContentHash(items: readonly DatasetItem[], pictures?: string): string {
  const hash = createHash('sha256');
  items.forEach((item, i) => {
    if (i > 0) hash.update('\n');
    hash.update(canonicalItemLine(item));
  });
  // A multimodal dataset's pictures are content too (datasets/multimodalDataset.ts picturesDigest).
  if (pictures) hash.update(`\n\u0000pictures\n${pictures}`);
  return `sha256:${hash.digest('hex')}`;
}

export function canonicalItemLine(item: DatasetItem): string {
  let line = `{"id":${JSON.stringify(item.id)},"prompt":${JSON.stringify(item.prompt)},"ground_truth":${JSON.stringify(item.ground_truth)}`;
  if (item.choices !== undefined) line += `,"choices":${canonicalJson(item.choices)}`;
  if (item.metadata !== undefined) line += `,"metadata":${canonicalJson(item.metadata)}`;
  return `${line}}`;
}

/**
 * JSON.stringify with object keys sorted. Written out by hand because a JS object always lists
 * integer-like keys ("2", "10") first whatever order they were inserted in.
 */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value))
    return `[${value.map((v) => (v === undefined || typeof v === 'function' ? 'null' : canonicalJson(v))).join(',')}]`;
  if (value === null || typeof value !== 'object' || typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return JSON.stringify(value) ?? 'null';
  }
  const entries = Object.keys(value)
    .sort()
    .flatMap((key) => {
      const v = (value as Record<string, unknown>)[key];
      return v === undefined || typeof v === 'function' ? [] : [`${JSON.stringify(key)}:${canonicalJson(v)}`];
    });
  return `{${entries.join(',')}}`;
}
