/**
 * The scoring configuration through HTTP, as JSON and as a YAML document (quick configuration):
 * the same schema and rules both ways, errors naming the field path, judge keys write-only (sealed,
 * shown masked, kept when the mask is sent back), and the debug call that shows every step, whose
 * judge calls a worker of the judge queue makes (the API process never calls a judge).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { parse as parseYaml } from 'yaml';
import { nlpEvaluationBody } from '../support/evaluationBodies';
import { startJudgeStandIn } from '../support/judgeStandIn';
import { RECORD_HISTORIES, recordHistoryFixture } from '../support/historyFixtures';
import { judgeKeys, scoringConfigs } from '../../db/schema';
import { JUDGE_KEY_MASK } from '../../contracts/scoringConfig';
import { WORKFLOW_TYPES } from '../../temporal.config';
import { useTestStack } from '../support/testStack';

let key: string;

// The debug call's workflow runs on the runs queue and its judge calls on the judge queue.
const stack = useTestStack({ api: true, workers: ['runs', 'judge'], judge: true });

beforeAll(async () => {
  key = (await stack.api.createUser()).apiKey;
});

/** Every text in a workflow's history, payloads decoded (JSON.stringify would show their bytes as numbers). */
async function historyText(workflowId: string): Promise<string> {
  const texts: string[] = [];
  const walk = (value: unknown): void => {
    if (value instanceof Uint8Array) texts.push(Buffer.from(value).toString('utf8'));
    else if (typeof value === 'string') texts.push(value);
    else if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === 'object') Object.values(value).forEach(walk);
  };
  walk(await stack.api.deps.temporal.workflow.getHandle(workflowId).fetchHistory());
  return texts.join('\n');
}

/** The debug workflows started since `known` (ids), waiting for visibility to catch up. */
async function newDebugWorkflows(known: ReadonlySet<string>, expected: number): Promise<string[]> {
  for (let attempt = 0; ; attempt++) {
    const ids: string[] = [];
    for await (const wf of stack.api.deps.temporal.workflow.list({
      query: `WorkflowType = '${WORKFLOW_TYPES.scoringDebug}'`,
    })) {
      if (!known.has(wf.workflowId)) ids.push(wf.workflowId);
    }
    if (ids.length >= expected || attempt === 50) return ids;
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function debugWorkflowIds(): Promise<Set<string>> {
  const ids = new Set<string>();
  for await (const wf of stack.api.deps.temporal.workflow.list({
    query: `WorkflowType = '${WORKFLOW_TYPES.scoringDebug}'`,
  }))
    ids.add(wf.workflowId);
  return ids;
}

async function newEvaluation(): Promise<string> {
  const res = await stack.api.request('POST', '/v1/evaluations', { key, body: nlpEvaluationBody() });
  expect(res.status, res.text).toBe(201);
  return res.body.id as string;
}

const JUDGE_KEY = () => `sk-judge-${randomUUID()}`;

const yamlConfig = (judgeUrl: string, judgeKey: string) => `# quick configuration
default:
  metric: judge
  judge:
    baseUrl: ${judgeUrl}
    model: stand-in-judge
    apiKey: ${judgeKey}
  systemPrompt: You grade answers.
  prompt: |
    Question:
    {question}
    Reference answer:
    {reference}
    Answer to grade:
    {answer}
  preprocess:
    - stripThinking
    - trim
  postprocess:
    - regexExtract: { pattern: 'Score:\\s*(\\d+)' }
    - scale: { min: 0, max: 10 }
    - clamp
datasets:
  arith-basic:
    metric: numeric_match
    options:
      absoluteTolerance: 0.01
limits:
  maxJudgingConcurrency: 4
  maxJudgingRetryPerQ: 1
`;

describe('scoring configuration', () => {
  it('takes YAML and JSON alike, masks the key, and stores it only sealed', async () => {
    const id = await newEvaluation();
    const secret = JUDGE_KEY();
    const put = await stack.api.request('PUT', `/v1/evaluations/${id}/scoring`, {
      key,
      body: yamlConfig(stack.judge.url, secret),
      headers: { 'content-type': 'application/yaml' },
    });
    expect(put.status, put.text).toBe(200);
    expect(put.text).not.toContain(secret);
    expect(put.body.default.judge.apiKey).toBe(JUDGE_KEY_MASK);
    expect(put.body.datasets['arith-basic']).toEqual({ metric: 'numeric_match', options: { absoluteTolerance: 0.01 } });

    // The same document as JSON gives the same configuration.
    const other = await newEvaluation();
    const asJson = parseYaml(yamlConfig(stack.judge.url, JUDGE_KEY())) as Record<string, unknown>;
    const putJson = await stack.api.request('PUT', `/v1/evaluations/${other}/scoring`, { key, body: asJson });
    expect(putJson.status, putJson.text).toBe(200);
    expect(putJson.body).toEqual(put.body);

    const get = await stack.api.request('GET', `/v1/evaluations/${id}/scoring`, { key });
    expect(get.body).toEqual(put.body);
    const getYaml = await stack.api.request('GET', `/v1/evaluations/${id}/scoring`, {
      key,
      headers: { accept: 'application/yaml' },
    });
    expect(getYaml.headers.get('content-type')).toMatch(/^application\/yaml/);
    expect(parseYaml(getYaml.text)).toEqual(put.body);

    const [row] = await stack.api.deps.db.select().from(scoringConfigs).where(eq(scoringConfigs.evaluationId, id));
    expect(JSON.stringify(row!.config)).not.toContain(secret);
    const keys = await stack.api.deps.db.select().from(judgeKeys).where(eq(judgeKeys.evaluationId, id));
    expect(keys).toHaveLength(1);
    expect(keys[0]!.cipher).not.toContain(secret);
    expect(keys[0]!.cipher).toMatch(/^v1\./);

    // Sending the masked view back keeps the key; moving the judge to another origin needs it again.
    const again = await stack.api.request('PUT', `/v1/evaluations/${id}/scoring`, { key, body: get.body });
    expect(again.status, again.text).toBe(200);
    expect(await stack.api.deps.db.select().from(judgeKeys).where(eq(judgeKeys.evaluationId, id))).toHaveLength(1);
    const moved = structuredClone(get.body);
    moved.default.judge.baseUrl = 'http://127.0.0.2:1/v1';
    const refused = await stack.api.request('PUT', `/v1/evaluations/${id}/scoring`, { key, body: moved });
    expect(refused.status).toBe(400);
    expect(refused.body.errors).toEqual([
      { field: 'default.judge.apiKey', message: expect.stringContaining('another origin') },
    ]);
  });

  it('refuses invalid documents naming the field path, in YAML as in JSON', async () => {
    const id = await newEvaluation();
    const bad = `default:\n  metric: judge\n  prompt: "Grade {answr}"\n  postprocess:\n    - regexExtract: { pattern: "(" }\nlimits:\n  maxJudgingConcurrency: 0\n`;
    const yamlRes = await stack.api.request('PUT', `/v1/evaluations/${id}/scoring`, {
      key,
      body: bad,
      headers: { 'content-type': 'text/yaml' },
    });
    expect(yamlRes.status).toBe(400);
    expect(yamlRes.headers.get('content-type')).toMatch(/problem\+json/);
    expect(yamlRes.body.errors.map((e: { field: string }) => e.field)).toEqual(['limits.maxJudgingConcurrency']);

    const semantic = `default:\n  metric: judge\n  prompt: "Grade {answr}"\n  postprocess:\n    - regexExtract: { pattern: "(" }\n`;
    const semanticYaml = await stack.api.request('PUT', `/v1/evaluations/${id}/scoring`, {
      key,
      body: semantic,
      headers: { 'content-type': 'application/yaml' },
    });
    const semanticJson = await stack.api.request('PUT', `/v1/evaluations/${id}/scoring`, {
      key,
      body: parseYaml(semantic),
    });
    expect(semanticYaml.status).toBe(400);
    expect(semanticYaml.body).toEqual(semanticJson.body);
    expect(semanticYaml.body.errors).toEqual([
      { field: 'default.prompt', message: expect.stringContaining('{answr}') },
      {
        field: 'default.postprocess[0].regexExtract.pattern',
        message: expect.stringContaining('valid regular expression'),
      },
    ]);

    const unknownField = await stack.api.request('PUT', `/v1/evaluations/${id}/scoring`, {
      key,
      body: { default: { metric: 'judge', judge: { baseUrl: stack.judge.url, model: 'j', apikey: 'x' } } },
    });
    expect(unknownField.body.errors).toEqual([{ field: 'default.judge.apikey', message: 'is not a known field' }]);

    // A judge at an address the workers refuse (the default list refuses link-local, where cloud metadata lives).
    const metadata = await stack.api.request('PUT', `/v1/evaluations/${id}/scoring`, {
      key,
      body: { default: { metric: 'judge', judge: { baseUrl: 'http://169.254.169.254/v1', model: 'j' } } },
    });
    expect(metadata.status).toBe(400);
    expect(metadata.body.errors).toEqual([
      {
        field: 'default.judge.baseUrl',
        message: 'must not point at 169.254.169.254, which is in a network this platform does not call (link-local)',
      },
    ]);

    const notYaml = await stack.api.request('PUT', `/v1/evaluations/${id}/scoring`, {
      key,
      body: 'default: [unclosed',
      headers: { 'content-type': 'application/yaml' },
    });
    expect(notYaml.status).toBe(400);
    expect(notYaml.body.errors[0].field).toBe('body');
    const duplicate = await stack.api.request('PUT', `/v1/evaluations/${id}/scoring`, {
      key,
      body: 'limits: {}\nlimits: {}\n',
      headers: { 'content-type': 'application/yaml' },
    });
    expect(duplicate.status).toBe(400);

    // Nothing was stored by any of these.
    expect(
      await stack.api.deps.db.select().from(scoringConfigs).where(eq(scoringConfigs.evaluationId, id)),
    ).toHaveLength(0);
  });
});

describe('POST /v1/evaluations/{id}/scoring/debug', () => {
  it('scores given samples with every step, against the stored key', async () => {
    const id = await newEvaluation();
    const secret = JUDGE_KEY();
    await stack.api.request('PUT', `/v1/evaluations/${id}/scoring`, {
      key,
      body: yamlConfig(stack.judge.url, secret),
      headers: { 'content-type': 'application/yaml' },
    });
    stack.judge.requests.length = 0;
    const res = await stack.api.request('POST', `/v1/evaluations/${id}/scoring/debug`, {
      key,
      body: {
        samples: [
          { question: 'Capital of France?', prediction: '<think>hmm</think> Paris ', reference: 'Paris' },
          { question: 'Capital of Italy?', prediction: 'Milan', reference: 'Rome' },
        ],
      },
    });
    expect(res.status, res.text).toBe(200);
    expect(res.text).not.toContain(secret);
    const [right, wrong] = res.body.samples;
    expect(right.trace.score).toBeCloseTo(0.9);
    expect(wrong.trace.score).toBeCloseTo(0.2);
    expect(right.trace.steps.map((s: { step: string }) => s.step)).toEqual([
      'preprocess',
      'preprocess',
      'prompt',
      'judge',
      'postprocess',
      'postprocess',
      'postprocess',
      'score',
    ]);
    expect(right.trace.steps[1]).toEqual({ step: 'preprocess', op: 'trim', output: 'Paris' });
    expect(right.trace.steps[2].messages[1].content).toBe(
      'Question:\nCapital of France?\nReference answer:\nParis\nAnswer to grade:\nParis\n',
    );
    expect(right.trace.steps[3].reply).toMatch(/^Score: 9\/10/);
    // The judge was asked with the sealed key, opened for the call.
    expect(stack.judge.requests.map((r) => r.authorization)).toEqual([`Bearer ${secret}`, `Bearer ${secret}`]);
  });

  it("pairs predictions with a dataset's items, takes an override config, and reports garbage and a judge that is down", async () => {
    const id = await newEvaluation();
    const override = {
      default: {
        metric: 'judge',
        judge: { baseUrl: stack.judge.url, model: 'j', apiKey: null },
        postprocess: [{ mapLabels: { correct: 1, incorrect: 0 } }],
      },
      limits: { maxJudgingRetryPerQ: 0 },
    };
    stack.judge.setKnobs({ labels: true });
    const labelled = await stack.api.request('POST', `/v1/evaluations/${id}/scoring/debug`, {
      key,
      body: { config: override, dataset: 'arith-basic', predictions: ['0', '1'], offset: 0 },
    });
    expect(labelled.status, labelled.text).toBe(200);
    expect(labelled.body.samples).toHaveLength(2);
    expect(labelled.body.samples[0].id).toEqual(expect.any(String));
    expect(
      labelled.body.samples.every((s: { trace: { score: number } }) => s.trace.score === 0 || s.trace.score === 1),
    ).toBe(true);

    stack.judge.setKnobs({ labels: false, garbage: true });
    const garbage = await stack.api.request('POST', `/v1/evaluations/${id}/scoring/debug`, {
      key,
      body: { config: override, samples: [{ question: 'q', prediction: 'a', reference: 'a' }] },
    });
    expect(garbage.body.samples[0].trace).toMatchObject({
      score: null,
      error: expect.stringMatching(/^postprocessing step 1 \(mapLabels\) failed/),
    });
    stack.judge.resetKnobs();

    const gone = await startJudgeStandIn();
    await gone.down();
    const down = await stack.api.request('POST', `/v1/evaluations/${id}/scoring/debug`, {
      key,
      body: {
        config: {
          default: { ...override.default, judge: { baseUrl: gone.url, model: 'j', apiKey: null } },
          limits: { maxJudgingRetryPerQ: 1 },
        },
        samples: [{ question: 'q', prediction: 'a', reference: 'a' }],
      },
    });
    expect(down.body.samples[0].trace.error).toMatch(/^judge unreachable after 2 attempts: connection refused/);
  });

  it('falls back to exact match with no judge configured, and refuses what it cannot do', async () => {
    const id = await newEvaluation();
    const fallback = await stack.api.request('POST', `/v1/evaluations/${id}/scoring/debug`, {
      key,
      body: {
        config: { default: { metric: 'judge' } },
        samples: [{ question: 'q', prediction: 'yes', reference: 'yes' }],
      },
    });
    expect(fallback.body.samples[0].trace).toMatchObject({ method: 'exact_match_fallback', score: 1 });
    expect(fallback.body.samples[0].trace.steps[0]).toMatchObject({ step: 'fallback', metric: 'exact_match' });

    const both = await stack.api.request('POST', `/v1/evaluations/${id}/scoring/debug`, {
      key,
      body: { config: { default: { metric: 'f1' } } },
    });
    expect(both.status).toBe(400);
    const noDataset = await stack.api.request('POST', `/v1/evaluations/${id}/scoring/debug`, {
      key,
      body: { config: { default: { metric: 'f1' } }, predictions: ['1'] },
    });
    expect(noDataset.body.errors).toEqual([{ field: 'dataset', message: expect.any(String) }]);
    const badOverride = await stack.api.request('POST', `/v1/evaluations/${id}/scoring/debug`, {
      key,
      body: {
        config: { default: { metric: 'judge', prompt: '{oops}' } },
        samples: [{ question: 'q', prediction: 'a', reference: 'a' }],
      },
    });
    expect(badOverride.body.errors[0].field).toBe('config.default.prompt');
    const refusedJudge = await stack.api.request('POST', `/v1/evaluations/${id}/scoring/debug`, {
      key,
      body: {
        config: { default: { metric: 'judge', judge: { baseUrl: 'http://[fe80::1]:8000/v1', model: 'j' } } },
        samples: [{ question: 'q', prediction: 'a', reference: 'a' }],
      },
    });
    expect(refusedJudge.status).toBe(400);
    expect(refusedJudge.body.errors).toEqual([
      {
        field: 'config.default.judge.baseUrl',
        message: expect.stringMatching(/^must not point at fe80::1, .*\(link-local\)$/),
      },
    ]);
    const tooMany = await stack.api.request('POST', `/v1/evaluations/${id}/scoring/debug`, {
      key,
      body: {
        config: { default: { metric: 'f1' } },
        samples: Array.from({ length: 11 }, () => ({ question: 'q', prediction: 'a', reference: 'a' })),
      },
    });
    expect(tooMany.body.errors).toEqual([{ field: 'samples', message: 'must list 1–10 samples' }]);
  });

  it("asks the judge from a judge worker, and no judge key enters the debug workflow's history", async () => {
    const id = await newEvaluation();
    const stored = JUDGE_KEY();
    await stack.api.request('PUT', `/v1/evaluations/${id}/scoring`, {
      key,
      body: yamlConfig(stack.judge.url, stored),
      headers: { 'content-type': 'application/yaml' },
    });
    const [storedRow] = await stack.api.deps.db.select().from(judgeKeys).where(eq(judgeKeys.evaluationId, id));
    const known = await debugWorkflowIds();
    stack.judge.requests.length = 0;

    // The stored key (by reference), then a key sent with the call (sealed for the call only).
    const withStored = await stack.api.request('POST', `/v1/evaluations/${id}/scoring/debug`, {
      key,
      body: { samples: [{ question: 'Capital of Spain?', prediction: 'Madrid', reference: 'Madrid' }] },
    });
    expect(withStored.status, withStored.text).toBe(200);
    const sent = JUDGE_KEY();
    const withSent = await stack.api.request('POST', `/v1/evaluations/${id}/scoring/debug`, {
      key,
      body: {
        config: {
          default: { metric: 'judge', judge: { baseUrl: stack.judge.url, model: 'stand-in-judge', apiKey: sent } },
        },
        samples: [{ question: 'Capital of Peru?', prediction: 'Lima', reference: 'Lima' }],
      },
    });
    expect(withSent.status, withSent.text).toBe(200);
    expect(withSent.body.samples[0].trace.score).toBeCloseTo(0.9);
    expect(stack.judge.requests.map((r) => r.authorization)).toEqual([`Bearer ${stored}`, `Bearer ${sent}`]);
    // The sent key's row lived only as long as the call; the stored key's row is untouched.
    expect(
      (await stack.api.deps.db.select().from(judgeKeys).where(eq(judgeKeys.evaluationId, id))).map((k) => k.id),
    ).toEqual([storedRow!.id]);

    const workflows = await newDebugWorkflows(known, 2);
    expect(workflows).toHaveLength(2);
    const histories = await Promise.all(workflows.map(historyText));
    const all = histories.join('\n');
    // Decoded for real: the samples and the key references are there, the keys are not.
    expect(all).toContain('Capital of Spain?');
    expect(all).toContain('Capital of Peru?');
    expect(all).toContain(storedRow!.id);
    expect(all).toContain('scoreDebugSamples');
    expect(all).toContain('proctor-judge');
    expect(all).not.toContain(stored);
    expect(all).not.toContain(sent);
    expect(all).not.toContain(storedRow!.cipher);

    if (RECORD_HISTORIES) {
      const recorded = workflows[histories.findIndex((h) => h.includes('Capital of Spain?'))]!;
      await recordHistoryFixture(stack.api.deps.temporal, 'scoring-debug', recorded, WORKFLOW_TYPES.scoringDebug);
    }
  });
});
