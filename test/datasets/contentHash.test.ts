import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { datasetContentHash } from '../../datasets/contentHash';
import { BUILTIN_DATASETS } from '../../datasets/builtinCatalog';
import type { DatasetItem } from '../../contracts/dataset';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const sha256 = (text: string) => `sha256:${createHash('sha256').update(text, 'utf8').digest('hex')}`;

describe('datasetContentHash', () => {
  it('hashes the canonical JSONL: fixed key order, sorted metadata keys, absent fields left out, no trailing newline', () => {
    const items: DatasetItem[] = [
      {
        ground_truth: 'B',
        prompt: 'Pick "one"\nplease',
        id: 'q1',
        metadata: { z: 1, a: { y: [2, { d: 1, c: 'é' }], b: null }, '10': true, '9': false },
        choices: ['x', 'y'],
      },
      { id: 'q2', prompt: 'p', ground_truth: '' },
    ];
    const expected =
      '{"id":"q1","prompt":"Pick \\"one\\"\\nplease","ground_truth":"B","choices":["x","y"],"metadata":{"10":true,"9":false,"a":{"b":null,"y":[2,{"c":"é","d":1}]},"z":1}}' +
      '\n' +
      '{"id":"q2","prompt":"p","ground_truth":""}';
    expect(datasetContentHash(items)).toBe(sha256(expected));
  });

  it('ignores key order and undefined members, and changes with any content', () => {
    const a: DatasetItem = { id: 'x', prompt: 'p', ground_truth: 'g', metadata: { k: 1, j: 2 } };
    const b = {
      metadata: { j: 2, k: 1, gone: undefined },
      ground_truth: 'g',
      prompt: 'p',
      id: 'x',
      choices: undefined,
    } as DatasetItem;
    expect(datasetContentHash([a])).toBe(datasetContentHash([b]));
    expect(datasetContentHash([a])).not.toBe(datasetContentHash([{ ...a, ground_truth: 'h' }]));
    expect(datasetContentHash([a])).not.toBe(datasetContentHash([{ ...a, metadata: undefined }]));
    expect(datasetContentHash([a, { ...a, id: 'y' }])).not.toBe(datasetContentHash([{ ...a, id: 'y' }, a]));
    expect(datasetContentHash([])).toBe(sha256(''));
  });

  it('is the same in another process for every built-in dataset', async () => {
    const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');
    const script =
      "import { BUILTIN_DATASETS } from './datasets/builtinCatalog';" +
      "import { datasetContentHash } from './datasets/contentHash';" +
      'console.log(JSON.stringify(BUILTIN_DATASETS.map((d) => [d.id, datasetContentHash(d.generate())])));';
    const { stdout } = await promisify(execFile)(process.execPath, [tsxCli, '-e', script], { cwd: ROOT });
    const elsewhere = JSON.parse(stdout.trim()) as [string, string][];
    expect(elsewhere).toEqual(BUILTIN_DATASETS.map((d) => [d.id, datasetContentHash(d.generate())]));
  });
});
