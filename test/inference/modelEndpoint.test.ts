/**
 * What the endpoint client sends and how it reads answers: against a recording server for the
 * request shape, and against the reference model for the model lookup.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createModelEndpoint } from '../../activities/inference/modelEndpoint';
import { InferenceError } from '../../activities/inference/inferenceErrors';
import { startReferenceModel, type ReferenceModel } from '../../stack/referenceModel/server';
import type { InferenceParams } from '../../contracts/evaluation';

interface Recorded {
  method: string;
  path: string;
  authorization: string | undefined;
  headers: http.IncomingHttpHeaders;
  body: Record<string, unknown> | null;
}

/** Answers with whatever `reply` says and remembers every request. */
async function startRecorder() {
  const requests: Recorded[] = [];
  type Reply = { status?: number; body: unknown };
  let reply: (r: Recorded) => Reply | Promise<Reply> = () => ({ body: {} });
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString();
    const recorded: Recorded = {
      method: req.method!,
      path: req.url!,
      authorization: req.headers.authorization,
      headers: req.headers,
      body: text ? JSON.parse(text) : null,
    };
    requests.push(recorded);
    const { status = 200, body } = await reply(recorded);
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    requests,
    answer(fn: typeof reply) {
      reply = fn;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

let recorder: Awaited<ReturnType<typeof startRecorder>>;
let model: ReferenceModel;
const signal = new AbortController().signal;
const PARAMS: InferenceParams = { maxTokens: 32, temperature: 0.7, topP: 0.9 };
const ADD = 'Compute 12 + 7. Reply with the number only.';

beforeAll(async () => {
  recorder = await startRecorder();
  model = await startReferenceModel({ port: 0, knobs: { skill: 1 } });
});

afterAll(async () => {
  await recorder?.close();
  await model?.close();
});

beforeEach(() => {
  recorder.requests.length = 0;
  model.resetKnobs();
  model.setKnobs({ skill: 1 });
});

const chatReply = (
  content: unknown,
  usage: unknown = { prompt_tokens: 3, completion_tokens: 11, total_tokens: 14 },
) => ({
  body: {
    id: 'c1',
    object: 'chat.completion',
    created: 1,
    model: 'm',
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
    usage,
  },
});

describe('requests', () => {
  it('chat mode sends the model, the system prompt, the sampling parameters and the key', async () => {
    recorder.answer(() => chatReply('forty-two'));
    const endpoint = createModelEndpoint({
      endpoint: recorder.url,
      apiKey: 'sk-abc',
      onlineModelName: 'm-1',
      apiMode: 'chat',
      requestTimeoutMs: 5000,
      systemPrompt: 'Be brief.',
    });
    expect(await endpoint.complete('What is 6 * 7?', PARAMS, signal)).toEqual({
      text: 'forty-two',
      outputTokens: 11,
      promptTokens: 3,
      tokensCounted: false,
      model: 'm',
      systemFingerprint: null,
    });
    expect(recorder.requests).toHaveLength(1);
    const [r] = recorder.requests;
    expect(r).toMatchObject({ method: 'POST', path: '/v1/chat/completions', authorization: 'Bearer sk-abc' });
    expect(r!.body).toMatchObject({
      model: 'm-1',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'What is 6 * 7?' },
      ],
      max_tokens: 32,
      temperature: 0.7,
      top_p: 0.9,
    });
    expect(r!.body!.stream).not.toBe(true);
  });

  it("sends none of the operator's own OpenAI settings from the environment", async () => {
    recorder.answer(() => chatReply('ok'));
    const saved = { ...process.env };
    Object.assign(process.env, {
      OPENAI_ORG_ID: 'org-operator',
      OPENAI_PROJECT_ID: 'proj-operator',
      OPENAI_ADMIN_KEY: 'sk-admin-operator',
    });
    try {
      const endpoint = createModelEndpoint({
        endpoint: recorder.url,
        apiKey: null,
        onlineModelName: 'm-1',
        apiMode: 'chat',
        requestTimeoutMs: 5000,
      });
      await endpoint.complete('hi', PARAMS, signal);
    } finally {
      for (const name of ['OPENAI_ORG_ID', 'OPENAI_PROJECT_ID', 'OPENAI_ADMIN_KEY']) {
        if (saved[name] === undefined) delete process.env[name];
        else process.env[name] = saved[name];
      }
    }
    const sent = JSON.stringify(recorder.requests[0]!.headers);
    expect(sent).not.toMatch(/operator/);
    expect(recorder.requests[0]!.authorization).toBe('Bearer none');
  });

  it('prefers the system prompt of the inference parameters, and sends none when there is none', async () => {
    recorder.answer(() => chatReply('ok'));
    const endpoint = createModelEndpoint({
      endpoint: recorder.url,
      apiKey: null,
      onlineModelName: 'm-1',
      apiMode: 'chat',
      requestTimeoutMs: 5000,
      systemPrompt: 'fallback',
    });
    await endpoint.complete('hi', { ...PARAMS, systemPrompt: 'from params' }, signal);
    expect((recorder.requests[0]!.body!.messages as { content: string }[])[0]!.content).toBe('from params');
    const bare = createModelEndpoint({
      endpoint: recorder.url,
      apiKey: null,
      onlineModelName: 'm-1',
      apiMode: 'chat',
      requestTimeoutMs: 5000,
    });
    await bare.complete('hi', PARAMS, signal);
    expect(recorder.requests[1]!.body!.messages).toEqual([{ role: 'user', content: 'hi' }]);
  });

  it('completion mode sends the prompt, led by the system prompt', async () => {
    recorder.answer(() => ({
      body: {
        id: 'x',
        object: 'text_completion',
        created: 1,
        model: 'm',
        choices: [{ index: 0, text: ' Paris', finish_reason: 'stop' }],
      },
    }));
    const endpoint = createModelEndpoint({
      endpoint: recorder.url,
      apiKey: null,
      onlineModelName: 'm-2',
      apiMode: 'completion',
      requestTimeoutMs: 5000,
      systemPrompt: 'Answer briefly.',
    });
    // No usage in the answer: both counts are approximated (a token per four characters) and marked counted.
    expect(await endpoint.complete('The capital of France is', PARAMS, signal)).toEqual({
      text: ' Paris',
      outputTokens: 2,
      promptTokens: Math.ceil('Answer briefly.\n\nThe capital of France is'.length / 4),
      tokensCounted: true,
      model: 'm',
      systemFingerprint: null,
    });
    expect(recorder.requests[0]).toMatchObject({
      path: '/v1/completions',
      body: { model: 'm-2', prompt: 'Answer briefly.\n\nThe capital of France is', max_tokens: 32 },
    });
  });

  it('sends top_k and repetition_penalty as extra body fields, seed and stop as they are', async () => {
    recorder.answer(() => chatReply('ok'));
    const endpoint = createModelEndpoint({
      endpoint: recorder.url,
      apiKey: null,
      onlineModelName: 'm-1',
      apiMode: 'chat',
      requestTimeoutMs: 5000,
    });
    await endpoint.complete('hi', { ...PARAMS, topK: 40, repetitionPenalty: 1.1, seed: 1234, stop: ['\n\n'] }, signal);
    expect(recorder.requests[0]!.body).toMatchObject({
      max_tokens: 32,
      temperature: 0.7,
      top_p: 0.9,
      top_k: 40,
      repetition_penalty: 1.1,
      seed: 1234,
      stop: ['\n\n'],
    });
    await endpoint.complete('hi', PARAMS, signal);
    for (const field of ['top_k', 'repetition_penalty', 'seed', 'stop'])
      expect(recorder.requests[1]!.body).not.toHaveProperty(field);
  });

  it('completion mode wraps the prompt in the template, the system prompt in its place, and adds its stop words', async () => {
    recorder.answer(() => ({
      body: { id: 'x', object: 'text_completion', created: 1, model: 'm', choices: [{ index: 0, text: '42' }] },
    }));
    const endpoint = createModelEndpoint({
      endpoint: recorder.url,
      apiKey: null,
      onlineModelName: 'm-2',
      apiMode: 'completion',
      requestTimeoutMs: 5000,
      systemPrompt: 'Answer briefly.',
    });
    await endpoint.complete('Q?', { ...PARAMS, template: { name: 'qwen' }, stop: ['###'] }, signal);
    expect(recorder.requests[0]!.body).toMatchObject({
      prompt: '<|im_start|>system\nAnswer briefly.<|im_end|>\n<|im_start|>user\nQ?<|im_end|>\n<|im_start|>assistant\n',
      stop: ['###', '<|im_end|>', '<|endoftext|>'],
    });
  });

  it('lowers max_tokens to what maxModelLen leaves, and sends nothing for a prompt that leaves no room', async () => {
    recorder.answer(() => chatReply('ok'));
    const endpoint = createModelEndpoint({
      endpoint: recorder.url,
      apiKey: null,
      onlineModelName: 'm-1',
      apiMode: 'chat',
      requestTimeoutMs: 5000,
    });
    await endpoint.complete('x'.repeat(300), { ...PARAMS, maxTokens: 4096, maxModelLen: 1000 }, signal);
    expect(recorder.requests[0]!.body!.max_tokens).toBe(900);
    const refused = await endpoint.complete('x'.repeat(3000), { ...PARAMS, maxModelLen: 1000 }, signal).catch((e) => e);
    expect(refused).toBeInstanceOf(InferenceError);
    expect(refused).toMatchObject({ kind: 'bad_request' });
    expect((refused as Error).message).toMatch(/about 1000 tokens \(estimated\).*maxModelLen 1000/);
    expect(recorder.requests).toHaveLength(1);
  });

  it('reads a null message content as an empty answer, and a nonsense shape as malformed', async () => {
    const endpoint = createModelEndpoint({
      endpoint: recorder.url,
      apiKey: null,
      onlineModelName: 'm',
      apiMode: 'chat',
      requestTimeoutMs: 5000,
    });
    recorder.answer(() => chatReply(null, null));
    expect(await endpoint.complete('hi', PARAMS, signal)).toMatchObject({ text: '', outputTokens: 0 });
    recorder.answer(() => ({ body: { choices: 'all of them' } }));
    await expect(endpoint.complete('hi', PARAMS, signal)).rejects.toMatchObject({ kind: 'malformed' });
    recorder.answer(() => ({ body: { choices: [{ index: 0 }] } }));
    await expect(endpoint.complete('hi', PARAMS, signal)).rejects.toMatchObject({ kind: 'malformed' });
    recorder.answer(() => ({ body: { id: 'no choices at all' } }));
    await expect(endpoint.complete('hi', PARAMS, signal)).rejects.toMatchObject({
      kind: 'empty',
      message: 'response had no choices',
    });
  });

  it('cuts the key out of an answer that echoes it, in chat and completion mode', async () => {
    const key = 'sk-echo-0123456789abcdef';
    recorder.answer((r) => chatReply(`you sent ${r.authorization} and ${key}`));
    const chat = createModelEndpoint({
      endpoint: recorder.url,
      apiKey: key,
      onlineModelName: 'm',
      apiMode: 'chat',
      requestTimeoutMs: 5000,
    });
    expect((await chat.complete('hi', PARAMS, signal)).text).toBe('you sent Bearer [redacted] and [redacted]');
    recorder.answer(() => ({ body: { choices: [{ index: 0, text: `${key}${key}` }] } }));
    const completion = createModelEndpoint({
      endpoint: recorder.url,
      apiKey: key,
      onlineModelName: 'm',
      apiMode: 'completion',
      requestTimeoutMs: 5000,
    });
    expect((await completion.complete('hi', PARAMS, signal)).text).toBe('[redacted][redacted]');
    // Without a key there is nothing to cut, and an answer with no key in it is untouched.
    recorder.answer(() => chatReply('Bearer none is fine'));
    const open = createModelEndpoint({
      endpoint: recorder.url,
      apiKey: null,
      onlineModelName: 'm',
      apiMode: 'chat',
      requestTimeoutMs: 5000,
    });
    expect((await open.complete('hi', PARAMS, signal)).text).toBe('Bearer none is fine');
  });
});

describe('choosing the model', () => {
  it('asks the endpoint once, lazily, however many calls wait for it', async () => {
    const before = model.stats().modelListings;
    const endpoint = createModelEndpoint({
      endpoint: model.url,
      apiKey: null,
      onlineModelName: null,
      apiMode: 'chat',
      requestTimeoutMs: 5000,
    });
    expect(model.stats().modelListings).toBe(before);
    const outputs = await Promise.all(Array.from({ length: 12 }, () => endpoint.complete(ADD, PARAMS, signal)));
    expect(outputs.every((o) => o.text === '19' && o.outputTokens === 1)).toBe(true);
    await endpoint.complete(ADD, PARAMS, signal);
    expect(model.stats().modelListings).toBe(before + 1);
  });

  it('never asks when the online model name is given', async () => {
    const before = model.stats().modelListings;
    const endpoint = createModelEndpoint({
      endpoint: model.url,
      apiKey: null,
      onlineModelName: 'proctor-reference',
      apiMode: 'completion',
      requestTimeoutMs: 5000,
    });
    expect((await endpoint.complete(ADD, PARAMS, signal)).text).toBe('19');
    expect(model.stats().modelListings).toBe(before);
  });

  it('asks again after a failed lookup instead of remembering the failure', async () => {
    const before = model.stats().modelListings;
    model.setKnobs({ requiredApiKey: 'sk-later' });
    const endpoint = createModelEndpoint({
      endpoint: model.url,
      apiKey: 'sk-later-not-yet',
      onlineModelName: null,
      apiMode: 'chat',
      requestTimeoutMs: 5000,
    });
    await expect(endpoint.complete(ADD, PARAMS, signal)).rejects.toMatchObject({ kind: 'auth' });
    model.setKnobs({ requiredApiKey: null });
    expect((await endpoint.complete(ADD, PARAMS, signal)).text).toBe('19');
    expect(model.stats().modelListings).toBe(before + 2);
  });

  it('reports an endpoint that lists no models as not_found', async () => {
    recorder.answer(() => ({ body: { object: 'list', data: [] } }));
    const endpoint = createModelEndpoint({
      endpoint: recorder.url,
      apiKey: null,
      onlineModelName: null,
      apiMode: 'chat',
      requestTimeoutMs: 5000,
    });
    const error = await endpoint.complete('hi', PARAMS, signal).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InferenceError);
    expect(error).toMatchObject({ kind: 'not_found', retryable: false });
    expect((error as Error).message).toMatch(/lists no models/);
  });

  it('lets one caller abort while waiting for the lookup without failing the others', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    recorder.answer(async (r) => {
      if (r.path !== '/v1/models') return chatReply('done');
      await gate;
      return { body: { object: 'list', data: [{ id: 'm', object: 'model', created: 0, owned_by: 'x' }] } };
    });
    const endpoint = createModelEndpoint({
      endpoint: recorder.url,
      apiKey: null,
      onlineModelName: null,
      apiMode: 'chat',
      requestTimeoutMs: 5000,
    });
    const quitter = new AbortController();
    const abandoned = endpoint.complete('a', PARAMS, quitter.signal);
    const patient = endpoint.complete('b', PARAMS, signal);
    while (recorder.requests.length === 0) await new Promise((r) => setTimeout(r, 10));
    quitter.abort();
    await expect(abandoned).rejects.toMatchObject({ kind: 'aborted' });
    release();
    await expect(patient).resolves.toMatchObject({ text: 'done' });
    expect(recorder.requests.map((r) => r.path)).toEqual(['/v1/models', '/v1/chat/completions']);
  });
});
