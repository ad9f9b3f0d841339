/**
 * The built-in code dataset: its items are well formed and keep their tests out of the prompts,
 * every problem's reference solution passes its hidden tests in the real sandbox, and a stub that
 * returns None fails every one of them (so no test suite is vacuous).
 */
import type Dockerode from 'dockerode';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DatasetItem } from '../../contracts/dataset';
import {
  CODE_PYTHON_BASIC_ID,
  CODE_PYTHON_BASIC_PROBLEMS,
  generateCodePythonBasic,
} from '../../datasets/builtin/codePythonBasic';
import { datasetContentHash } from '../../datasets/contentHash';
import { runInSandbox } from '../../docker/codeSandbox';
import { ensureCodeSandboxImage } from '../../docker/codeSandboxImage';
import { SANDBOX_ROLE } from '../../docker/codeSandboxSpec';
import { LABEL_ROLE } from '../../docker/containerSpec';
import { connectDocker } from '../../docker/engine';
import { Value } from '@sinclair/typebox/value';
import { extractProgram } from '../../scoring/extractProgram';
import { scoreCodeProblem } from '../../activities/codeScoring/scoreCodeProblem';
import { requireEnv } from '../support/env';

let docker: Dockerode;

beforeAll(async () => {
  docker = connectDocker(requireEnv('DOCKER_HOST'));
  await ensureCodeSandboxImage(docker);
});

afterEach(async () => {
  const left = await docker.listContainers({ all: true, filters: { label: [`${LABEL_ROLE}=${SANDBOX_ROLE}`] } });
  expect(left).toEqual([]);
});

describe('code-python-basic', () => {
  it('has twenty well-formed items, the same on every generation, with the tests kept out of the prompt', () => {
    const items = generateCodePythonBasic();
    expect(items).toHaveLength(20);
    expect(new Set(items.map((i) => i.id)).size).toBe(20);
    expect(items[0]!.id).toBe(`${CODE_PYTHON_BASIC_ID}-0001`);
    expect(datasetContentHash(generateCodePythonBasic())).toBe(datasetContentHash(items));
    expect(new Set(CODE_PYTHON_BASIC_PROBLEMS.map((p) => p.entryPoint)).size).toBe(20);
    items.forEach((item, i) => {
      const problem = CODE_PYTHON_BASIC_PROBLEMS[i]!;
      expect(Value.Check(DatasetItem, item), item.id).toBe(true);
      expect(item.metadata).toEqual({ entry_point: problem.entryPoint });
      expect(item.prompt).toContain(`\`${problem.signature}\``);
      expect(item.ground_truth).toBe(problem.tests);
      for (const line of problem.tests.split('\n').filter((l) => l.startsWith('assert')))
        expect(item.prompt).not.toContain(line);
      expect(item.prompt).not.toContain(problem.solution.trim());
    });
  });

  it('passes every reference solution and fails a stub on every problem', async () => {
    const stub = (name: string) => `def ${name}(*args, **kwargs):\n    return None\n`;
    const results = await Promise.all(
      CODE_PYTHON_BASIC_PROBLEMS.map((p, i) =>
        scoreCodeProblem(
          docker,
          { id: `problem-${i}`, entryPoint: p.entryPoint, tests: p.tests },
          [p.solution, stub(p.entryPoint)],
          { ks: [1], concurrency: 1 },
        ),
      ),
    );
    const verdicts = results.map((r, i) => [
      CODE_PYTHON_BASIC_PROBLEMS[i]!.entryPoint,
      r.completions.map((c) => c.sandbox.verdict),
    ]);
    expect(verdicts).toEqual(CODE_PYTHON_BASIC_PROBLEMS.map((p) => [p.entryPoint, ['passed', 'tests_failed']]));
  });

  it('runs an item as the metric would: the model answer fenced, the tests from ground_truth', async () => {
    const item = generateCodePythonBasic()[0]!;
    const answer = `Sure!\n\`\`\`python\n${CODE_PYTHON_BASIC_PROBLEMS[0]!.solution}\`\`\`\nThis clamps x.`;
    const entryPoint = String(item.metadata!.entry_point);
    const r = await runInSandbox(docker, {
      program: extractProgram(answer, entryPoint),
      tests: item.ground_truth,
      entryPoint,
    });
    expect(r.verdict).toBe('passed');
  });
});
