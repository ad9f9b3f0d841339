/**
 * HumanEval in the real code sandbox, the way a run scores it (scoreCodeProblem with the item's
 * prefix and tests): all 164 canonical solutions pass, the even-numbered ones given as the whole
 * function in a python fence after a sentence (a chat model's answer), the odd ones as the bare
 * body (a completion model's continuation of the prompt); and a stub that returns None fails every
 * fourth problem (HumanEval/0, 4, 8, …), a fixed sample that shows the tests are not vacuous
 * without doubling the test's time (one sandbox per run; the timing is printed).
 */
import type Dockerode from 'dockerode';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateHumanEval, loadHumanEvalProblems } from '../../datasets/builtin/public/humanEval';
import { ensureCodeSandboxImage } from '../../docker/codeSandboxImage';
import { SANDBOX_ROLE } from '../../docker/codeSandboxSpec';
import { LABEL_ROLE } from '../../docker/containerSpec';
import { connectDocker } from '../../docker/engine';
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

/** Problems scored at once; each runs its completions one after the other. */
const PARALLEL = 2;

async function inTurn<T, R>(items: readonly T[], fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: PARALLEL }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}

describe('humaneval in the sandbox', () => {
  it('passes all 164 canonical solutions, whole functions and bare bodies, and fails a None stub on every fourth', async () => {
    const problems = loadHumanEvalProblems();
    const items = generateHumanEval(problems);
    const started = Date.now();
    const results = await inTurn(items, (item, i) => {
      const p = problems[i]!;
      const whole = `Here it is:\n\`\`\`python\n${p.prompt}${p.canonicalSolution}\`\`\`\n`;
      const body = p.canonicalSolution;
      const stub = `\`\`\`python\ndef ${p.entryPoint}(*args, **kwargs):\n    return None\n\`\`\``;
      return scoreCodeProblem(
        docker,
        {
          id: item.id,
          entryPoint: String(item.metadata!.entry_point),
          tests: item.ground_truth,
          prefix: String(item.metadata!.program_prefix),
        },
        i % 4 === 0 ? [whole, stub] : [i % 2 === 0 ? whole : body],
        { ks: [1], concurrency: 1 },
      );
    });
    const seconds = (Date.now() - started) / 1000;
    const runs = results.reduce((sum, r) => sum + r.n, 0);
    process.stderr.write(`[humaneval sandbox] ${runs} sandbox runs in ${seconds.toFixed(1)} s\n`);
    const verdicts = results.map((r, i) => [problems[i]!.taskId, r.completions.map((c) => c.sandbox.passed)]);
    expect(verdicts).toEqual(problems.map((p, i) => [p.taskId, i % 4 === 0 ? [true, false] : [true]]));
  }, 600_000);
});
