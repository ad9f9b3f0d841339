/**
 * Generation settings through HTTP on real workers: each one stored and shown when an evaluation is
 * created or edited (null removes one), refused with the field and rule when wrong, frozen into the
 * run's configuration, and sent to the OpenAI-compatible stand-in the way vLLM-style servers take
 * them: top_k and repetition_penalty as extra body fields, seed and stop as they are, doSample
 * false as greedy, a completion-mode template around the prompt with its stop words, max_tokens
 * lowered to what maxModelLen leaves and a prompt that leaves nothing failed with the reason.
 */
import { describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { ARITH_BASIC_ID } from '../../datasets/builtin/arithBasic';
import { estimatePromptTokens } from '../../activities/inference/samplingRequest';
import { nlpEvaluationBody, uniqueModelName } from '../support/evaluationBodies';
import { waitForRunEnd } from '../support/runThroughApi';
import { useTestStack } from '../support/testStack';
import { eq } from 'drizzle-orm';
import { evaluations } from '../../db/schema';

const stack = useTestStack({ api: true, workers: ['runs', 'inference'], model: { skill: 1 } });

const SETTINGS = {
  maxTokens: 256,
  temperature: 0.6,
  topP: 0.95,
  topK: 40,
  repetitionPenalty: 1.1,
  doSample: true,
  stop: ['###'],
  seed: 1234,
  maxModelLen: 4096,
  template: { name: 'qwen' },
};

function body(inference: Record<string, unknown>, apiMode = 'completion', limits: Record<string, unknown> = {}) {
  return nlpEvaluationBody({
    modelName: uniqueModelName('gen'),
    datasets: [ARITH_BASIC_ID],
    deployment: {
      method: 'api',
      endpoint: stack.model.url,
      onlineModelName: 'proctor-reference',
      apiKey: 'sk-unused',
      apiMode,
    },
    inference,
    limits,
  });
}

async function created(key: string, b: Record<string, unknown>): Promise<Record<string, any>> {
  const res = await stack.api.request('POST', '/v1/evaluations', { key, body: b });
  expect(res.status, res.text).toBe(201);
  return res.body;
}

async function verify(key: string, evaluationId: string, samplesPerDataset = 2): Promise<string> {
  const res = await stack.api.request('POST', `/v1/evaluations/${evaluationId}/verifications`, {
    key,
    body: { samplesPerDataset },
  });
  expect(res.status, res.text).toBe(202);
  const runId = res.body.runId as string;
  await waitForRunEnd(stack.api, key, runId);
  return runId;
}

describe('creating and editing', () => {
  it('stores and shows every setting, edits them field by field, and removes one sent as null', async () => {
    const { apiKey: key } = await stack.api.createUser();
    const evaluation = await created(key, body(SETTINGS, 'completion', { maxRetryDelayMs: 5000 }));
    expect(evaluation.inference).toEqual(SETTINGS);
    expect(evaluation.limits).toMatchObject({ maxRetryDelayMs: 5000 });

    const custom = { name: 'custom', text: '<s>[SYS]{system}[/SYS] Q: {input}\nA:', stopWords: ['\nQ:', '</s>'] };
    const edited = await stack.api.request('PATCH', `/v1/evaluations/${evaluation.id}`, {
      key,
      body: { inference: { template: custom, topK: null, seed: 7, systemPrompt: 'Be brief.' } },
    });
    expect(edited.status, edited.text).toBe(200);
    const { topK: _removed, ...kept } = SETTINGS;
    expect(edited.body.inference).toEqual({ ...kept, template: custom, seed: 7, systemPrompt: 'Be brief.' });

    for (const name of ['chatml', 'qwen', 'r1', 'internthinker']) {
      const res = await stack.api.request('PATCH', `/v1/evaluations/${evaluation.id}`, {
        key,
        body: { inference: { template: { name } } },
      });
      expect(res.status, res.text).toBe(200);
      expect(res.body.inference.template).toEqual({ name });
    }
    const cleared = await stack.api.request('PATCH', `/v1/evaluations/${evaluation.id}`, {
      key,
      body: { inference: { template: null, stop: null, doSample: null, maxModelLen: null } },
    });
    expect(cleared.status, cleared.text).toBe(200);
    expect(cleared.body.inference).toEqual({
      maxTokens: 256,
      temperature: 0.6,
      topP: 0.95,
      repetitionPenalty: 1.1,
      seed: 7,
      systemPrompt: 'Be brief.',
    });
    const read = await stack.api.request('GET', `/v1/evaluations/${evaluation.id}`, { key });
    expect(read.body.inference).toEqual(cleared.body.inference);
  });

  it('shows the default retry delay cap, and none of the new settings, when none is given', async () => {
    const { apiKey: key } = await stack.api.createUser();
    const evaluation = await created(key, body({}, 'chat'));
    expect(evaluation.inference).toEqual({ maxTokens: 512, temperature: 0, topP: 1 });
    expect(evaluation.limits).toEqual({
      maxConcurrency: 24,
      maxRetryPerQuery: 3,
      requestTimeoutMs: 60_000,
      maxRetryDelayMs: 60_000,
    });
  });
});

describe('bad settings', () => {
  const cases: [string, Record<string, unknown>, string, RegExp, string?, Record<string, unknown>?][] = [
    ['topK 0', { topK: 0 }, 'inference.topK', /^must be an integer from 1 to 1,000$/],
    ['topK a string', { topK: '5' }, 'inference.topK', /integer from 1 to 1,000, or null to remove it/],
    ['repetitionPenalty 0', { repetitionPenalty: 0 }, 'inference.repetitionPenalty', /0\.01 to 10/],
    ['repetitionPenalty 11', { repetitionPenalty: 11 }, 'inference.repetitionPenalty', /0\.01 to 10/],
    ['doSample a string', { doSample: 'yes' }, 'inference.doSample', /true or false/],
    ['stop a string', { stop: '###' }, 'inference.stop', /at most 16 distinct stop sequences/],
    [
      'stop with 17 items',
      { stop: Array.from({ length: 17 }, (_, i) => `s${i}`) },
      'inference.stop',
      /at most 16 distinct/,
    ],
    ['stop repeated', { stop: ['a', 'a'] }, 'inference.stop', /distinct/],
    ['an empty stop', { stop: ['ok', ''] }, 'inference.stop[1]', /1–256 characters/],
    ['a long stop', { stop: ['x'.repeat(257)] }, 'inference.stop[0]', /1–256 characters/],
    ['seed negative', { seed: -1 }, 'inference.seed', /0 to 2,147,483,647/],
    ['seed fractional', { seed: 1.5 }, 'inference.seed', /integer/],
    ['maxModelLen 64', { maxModelLen: 64 }, 'inference.maxModelLen', /128 to 1,048,576/],
    [
      'an unknown template',
      { template: { name: 'llama' } },
      'inference.template.name',
      /^must be one of chatml, qwen, r1, internthinker, custom$/,
    ],
    ['a template as a string', { template: 'qwen' }, 'inference.template', /name must be one of/],
    [
      'a named template with text',
      { template: { name: 'qwen', text: '{input}' } },
      'inference.template.text',
      /not a known field/,
    ],
    [
      'a custom template without {input}',
      { template: { name: 'custom', text: 'Q: {prompt}' } },
      'inference.template.text',
      /contain \{input\}/,
    ],
    [
      'a custom template with 9 stop words',
      { template: { name: 'custom', text: '{input}', stopWords: Array.from({ length: 9 }, (_, i) => `w${i}`) } },
      'inference.template.stopWords',
      /at most 8 distinct stop words/,
    ],
    ['a template in chat mode', { template: { name: 'chatml' } }, 'inference.template', /completion mode only/, 'chat'],
    [
      'doSample with temperature 0',
      { doSample: true, temperature: 0 },
      'inference.temperature',
      /above 0 when doSample/,
    ],
    [
      'a system prompt a custom template has no place for',
      { systemPrompt: 'Be brief.', template: { name: 'custom', text: 'Q: {input}' } },
      'inference.systemPrompt',
      /add \{system\}/,
    ],
    ['maxRetryDelayMs 50', {}, 'limits.maxRetryDelayMs', /100 to 600,000/, 'completion', { maxRetryDelayMs: 50 }],
    [
      'maxRetryDelayMs a string',
      {},
      'limits.maxRetryDelayMs',
      /100 to 600,000/,
      'completion',
      { maxRetryDelayMs: '1' },
    ],
  ];

  it.each(cases)(
    'refuses %s at create and edit: 400 naming the field',
    async (_n, inference, field, rule, mode, limits) => {
      const { apiKey: key } = await stack.api.createUser();
      const res = await stack.api.request('POST', '/v1/evaluations', {
        key,
        body: body(inference, mode ?? 'completion', limits ?? {}),
      });
      expect(res.status, res.text).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(res.body.errors, res.text).toContainEqual({ field, message: expect.stringMatching(rule) });

      const evaluation = await created(key, body({}, mode ?? 'completion'));
      const edit = await stack.api.request('PATCH', `/v1/evaluations/${evaluation.id}`, {
        key,
        body: { inference, ...(limits ? { limits } : {}) },
      });
      expect(edit.status, edit.text).toBe(400);
      expect(edit.body.errors, edit.text).toContainEqual({ field, message: expect.stringMatching(rule) });
      const after = await stack.api.request('GET', `/v1/evaluations/${evaluation.id}`, { key });
      expect(after.body.inference).toEqual(evaluation.inference);
      expect(after.body.limits).toEqual(evaluation.limits);
    },
  );

  it('refuses to switch to chat mode while a template is set, and changes nothing', async () => {
    const { apiKey: key } = await stack.api.createUser();
    const evaluation = await created(key, body({ template: { name: 'r1' } }));
    const res = await stack.api.request('PATCH', `/v1/evaluations/${evaluation.id}`, {
      key,
      body: { deployment: { ...body({}).deployment, apiMode: 'chat' } },
    });
    expect(res.status, res.text).toBe(400);
    expect(res.body.errors).toContainEqual({ field: 'inference.template', message: expect.stringMatching(/null/) });
    const after = await stack.api.request('GET', `/v1/evaluations/${evaluation.id}`, { key });
    expect(after.body.deployment.apiMode).toBe('completion');
    // Removing the template in the same edit is allowed.
    const both = await stack.api.request('PATCH', `/v1/evaluations/${evaluation.id}`, {
      key,
      body: { deployment: { ...body({}).deployment, apiMode: 'chat' }, inference: { template: null } },
    });
    expect(both.status, both.text).toBe(200);
  });
});

describe('a run', () => {
  it('sends top_k, repetition_penalty, seed, the merged stop list and the templated prompt, as frozen in its config', async () => {
    const { apiKey: key } = await stack.api.createUser();
    const evaluation = await created(key, body(SETTINGS, 'completion', { maxRetryDelayMs: 5000 }));
    stack.model.clearRequestLog();
    const runId = await verify(key, evaluation.id as string);

    const log = stack.model.requestLog();
    expect(log).toHaveLength(2);
    for (const entry of log) {
      expect(entry.prompt).toMatch(
        /^<\|im_start\|>system\nYou are a helpful assistant\.<\|im_end\|>\n<\|im_start\|>user\n[^]+<\|im_end\|>\n<\|im_start\|>assistant\n$/,
      );
      expect(entry.params).toMatchObject({
        model: 'proctor-reference',
        max_tokens: 256,
        temperature: 0.6,
        top_p: 0.95,
        top_k: 40,
        repetition_penalty: 1.1,
        seed: 1234,
        stop: ['###', '<|im_end|>', '<|endoftext|>'],
      });
    }

    const config = await stack.api.request('GET', `/v1/runs/${runId}/config`, { key });
    expect(config.status, config.text).toBe(200);
    expect(config.body.config.inference).toEqual(SETTINGS);
    expect(config.body.config.limits).toMatchObject({ maxRetryDelayMs: 5000 });
  }, 120_000);

  it('decodes greedily when doSample is false and lowers max_tokens to what maxModelLen leaves', async () => {
    const { apiKey: key } = await stack.api.createUser();
    const evaluation = await created(
      key,
      body(
        { maxTokens: 512, temperature: 0.8, topK: 40, repetitionPenalty: 1.2, doSample: false, maxModelLen: 128 },
        'chat',
      ),
    );
    stack.model.clearRequestLog();
    await verify(key, evaluation.id as string);
    const log = stack.model.requestLog();
    expect(log).toHaveLength(2);
    for (const entry of log) {
      expect(entry.params).toMatchObject({
        temperature: 0,
        top_p: 1,
        max_tokens: 128 - estimatePromptTokens(entry.prompt),
      });
      expect(entry.params).not.toHaveProperty('top_k');
      expect(entry.params).not.toHaveProperty('repetition_penalty');
      expect(entry.params).not.toHaveProperty('seed');
      expect(entry.params).not.toHaveProperty('stop');
    }
  }, 120_000);

  it('keeps an evaluation stored before these settings existed working: defaults shown and frozen, nothing new sent', async () => {
    const { apiKey: key } = await stack.api.createUser();
    const evaluation = await created(key, body({}, 'chat'));
    // As a row written before the settings existed: no retry delay cap among its limits.
    await stack.db
      .update(evaluations)
      .set({
        inference: { maxTokens: 64, temperature: 0, topP: 1 },
        limits: { maxConcurrency: 4, maxRetryPerQuery: 1, requestTimeoutMs: 30_000 },
      })
      .where(eq(evaluations.id, evaluation.id as string));
    const read = await stack.api.request('GET', `/v1/evaluations/${evaluation.id}`, { key });
    expect(read.body.limits).toEqual({
      maxConcurrency: 4,
      maxRetryPerQuery: 1,
      requestTimeoutMs: 30_000,
      maxRetryDelayMs: 60_000,
    });
    stack.model.clearRequestLog();
    const runId = await verify(key, evaluation.id as string, 1);
    const config = await stack.api.request('GET', `/v1/runs/${runId}/config`, { key });
    expect(config.body.config.inference).toEqual({ maxTokens: 64, temperature: 0, topP: 1 });
    expect(config.body.config.limits).toEqual(read.body.limits);
    const [entry] = stack.model.requestLog();
    const { model: _model, messages: _messages, ...sampling } = { ...entry!.params };
    expect(sampling).toEqual({ max_tokens: 64, temperature: 0, top_p: 1, stream: false });
  }, 120_000);

  it('fails a sample whose prompt leaves no room within maxModelLen, saying so, without asking the model', async () => {
    const { apiKey: key } = await stack.api.createUser();
    const datasetId = `ds-long-${randomUUID().slice(0, 8)}`;
    const long = `Say yes. ${'Ignore this padding. '.repeat(40)}`;
    const registered = await stack.api.request('POST', '/v1/datasets', {
      key,
      body: {
        id: datasetId,
        name: 'long prompts',
        domain: 'nlp',
        task: 'custom',
        metric: 'exact_match',
        jsonl: `${JSON.stringify({ id: 'q1', prompt: long, ground_truth: 'yes' })}\n`,
      },
    });
    expect(registered.status, registered.text).toBe(201);
    const evaluation = await created(key, { ...body({ maxModelLen: 128 }, 'chat'), datasets: [datasetId] });
    stack.model.clearRequestLog();
    const runId = await verify(key, evaluation.id as string, 1);

    const results = await stack.api.request('GET', `/v1/runs/${runId}/results`, { key });
    expect(results.status, results.text).toBe(200);
    expect(results.body.items).toHaveLength(1);
    expect(results.body.items[0]).toMatchObject({
      status: 'failed',
      error: `the prompt is about ${estimatePromptTokens(long)} tokens (estimated), which leaves no room for an answer within maxModelLen 128`,
    });
    expect(stack.model.requestLog()).toEqual([]);
  }, 120_000);
});
