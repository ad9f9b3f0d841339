/**
 * The platform's example evaluation image on the test run's real Docker engine, run as a container
 * job against a chat-completions stand-in on this machine (host networking, as a custom evaluation
 * job reaches its inference proxy): the stand-in answers a known share of the questions correctly,
 * so the metrics the image writes are known exactly. The stand-in refuses any request without the
 * job's token, and the token never appears in what the job prints or writes.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type Dockerode from 'dockerode';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runContainerJob } from '../../docker/containerJob';
import { JOB_OUTPUT_MOUNT, JOB_ROLE, type ContainerJobSpec } from '../../docker/containerJobSpec';
import { LABEL_ROLE } from '../../docker/containerSpec';
import { connectDocker } from '../../docker/engine';
import { ensureImage } from '../../docker/ensureImage';
import { EVAL_EXAMPLE_IMAGE_INPUTS_LABEL, EVAL_EXAMPLE_IMAGE_REF } from '../../docker/evalExampleImage';
import { readJobOutputJson } from '../../storage/jobOutputs';
import { requireEnv } from '../support/env';

const TOKEN = `proctor-job-${randomUUID()}`;
const DATASET_ID = 'example-qa';

interface ChatRequest {
  model: string;
  messages: { role: string; content: string }[];
  max_tokens: number;
  temperature: number;
}

/** Answers one question, given how many requests came before it; null answers 500. */
type Answerer = (question: string, seen: number) => string | null;

let docker: Dockerode;
let scratch: string;
let server: http.Server;
let url: string;
let answer: Answerer;
let received: ChatRequest[] = [];
let refused = 0;
let counter = 0;

beforeAll(async () => {
  docker = connectDocker(requireEnv('DOCKER_HOST'));
  expect(await ensureImage(docker, EVAL_EXAMPLE_IMAGE_REF)).toBe(EVAL_EXAMPLE_IMAGE_REF);
  scratch = await mkdtemp(path.join(os.tmpdir(), 'proctor-eval-example-'));
  // The job runs as nobody: it must reach its directories under this one.
  await chmod(scratch, 0o755);
  server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const send = (status: number, payload: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(payload));
      };
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') return send(404, { error: 'not found' });
      if (req.headers.authorization !== `Bearer ${TOKEN}`) {
        refused++;
        return send(401, { error: 'missing or wrong token' });
      }
      const request = JSON.parse(body) as ChatRequest;
      received.push(request);
      const text = answer(request.messages[0]!.content, received.length - 1);
      // A failing upstream that echoes the credentials it was given: the job must not print them.
      if (text === null) return send(500, { error: `upstream failed for ${req.headers.authorization}` });
      send(200, {
        id: `chatcmpl-${received.length}`,
        object: 'chat.completion',
        model: request.model,
        choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 },
      });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/chat/completions`;
});

afterAll(async () => {
  server?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

afterEach(async () => {
  const left = await docker.listContainers({ all: true, filters: { label: [`${LABEL_ROLE}=${JOB_ROLE}`] } });
  expect(
    left.map((c) => c.Names[0]),
    'job containers left on the engine',
  ).toEqual([]);
  received = [];
  refused = 0;
});

/** The right answer to one of the built-in questions ("Compute 17 + 25. Reply with the number only."). */
function arithmetic(question: string): number {
  const match = /^Compute (\d+) ([-+×]) (\d+)\. Reply with the number only\.$/.exec(question);
  if (!match) throw new Error(`not a built-in question: ${question}`);
  const [a, b] = [Number(match[1]), Number(match[3])];
  return match[2] === '+' ? a + b : match[2] === '-' ? a - b : a * b;
}

/** A job of the example image with the contract's environment, pointed at the stand-in directly. */
async function exampleJob(o: { parameters?: object; dataset?: string } = {}): Promise<ContainerJobSpec> {
  const dir = path.join(scratch, `job-${++counter}`);
  const outputDirOnHost = path.join(dir, 'output');
  await mkdir(outputDirOnHost, { recursive: true });
  await chmod(dir, 0o755);
  await chmod(outputDirOnHost, 0o777);
  const env = [
    `EVAL_OUTPUT_DIR=${JOB_OUTPUT_MOUNT}`,
    `EVAL_INFERENCE_URL=${url}`,
    'EVAL_AUTHORIZATION_HEADER_KEY=Authorization',
    `EVAL_AUTHORIZATION_HEADER_VALUE=Bearer ${TOKEN}`,
    `EVAL_DATASET_ID=${DATASET_ID}`,
    'EVAL_MODEL_NAME=model-under-test',
    `EVAL_PARAMETERS=${JSON.stringify(o.parameters ?? {})}`,
    'EVAL_RUN_ID=run-eval-example-test',
  ];
  const inputs: ContainerJobSpec['inputs'] = [];
  if (o.dataset !== undefined) {
    const dataDir = path.join(dir, 'data');
    await mkdir(dataDir);
    await chmod(dataDir, 0o755);
    await writeFile(path.join(dataDir, `${DATASET_ID}.jsonl`), o.dataset, { mode: 0o644 });
    inputs.push({ hostPath: dataDir, containerPath: '/data' });
    env.push(`EVAL_DATASET_PATH=/data/${DATASET_ID}.jsonl`);
  }
  return {
    runId: 'run-eval-example-test',
    jobKey: `eval-${counter}-${process.pid}`,
    hostId: 'test-host',
    imageRef: EVAL_EXAMPLE_IMAGE_REF,
    env,
    inputs,
    outputDirOnHost,
    network: 'host',
    limits: { timeoutMs: 60_000, memoryMb: 256, tmpMb: 8 },
  };
}

async function details(spec: ContainerJobSpec): Promise<Record<string, unknown>[]> {
  const text = await readFile(path.join(spec.outputDirOnHost, 'details.jsonl'), 'utf8');
  return text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('the example evaluation image', () => {
  it('is built locally under its reference, labelled with its inputs, running as nobody', async () => {
    const info = await docker.getImage(EVAL_EXAMPLE_IMAGE_REF).inspect();
    expect(info.Config.Labels?.[EVAL_EXAMPLE_IMAGE_INPUTS_LABEL]).toMatch(/^[0-9a-f]{64}$/);
    expect(info.Config.Entrypoint).toEqual(['/usr/local/bin/python3', '-I', '-B', '-m', 'proctor_eval_example']);
    expect(info.Config.User).toBe('65534');
  });

  it('scores the built-in arithmetic set: 15 of 20 right is accuracy 0.75, every item answered', async () => {
    // Right for the first 15 questions to arrive, one more than right for the rest, in the shapes
    // models answer in: the number alone, or inside a sentence.
    answer = (question, seen) => {
      const value = arithmetic(question) + (seen < 15 ? 0 : 1);
      return seen % 2 === 0 ? `${value}` : `The answer is ${value}.`;
    };
    const spec = await exampleJob();
    const result = await runContainerJob(docker, spec);
    expect(result, result.reason).toMatchObject({ outcome: 'succeeded', exitCode: 0 });
    expect(await readJobOutputJson(spec.outputDirOnHost, 'metrics.json')).toEqual({
      metrics: [
        { name: 'accuracy', value: 0.75 },
        { name: 'answered', value: 1 },
        { name: 'items', value: 20 },
      ],
    });
    expect(refused).toBe(0);
    expect(received).toHaveLength(20);
    for (const r of received) {
      expect(r).toMatchObject({ model: 'model-under-test', max_tokens: 32, temperature: 0 });
      expect(r.messages).toEqual([{ role: 'user', content: expect.stringMatching(/^Compute /) }]);
    }
    const lines = await details(spec);
    expect(lines.map((l) => l.id)).toEqual(
      Array.from({ length: 20 }, (_, i) => `arith-${String(i + 1).padStart(2, '0')}`),
    );
    expect(lines.filter((l) => l.correct === true)).toHaveLength(15);
    expect(result.lastLines.at(-1)).toMatch(/accuracy 15\/20 = 0\.7500, answered 20\/20/);
    expect(result.lastLines.join('\n')).not.toContain(TOKEN);
  });

  it('scores the mounted dataset, the first `limit` items, with the parameters it is given', async () => {
    const items = [
      { id: 'capital', prompt: 'What is the capital of France?', ground_truth: 'Paris' },
      { id: 'sum', prompt: 'How many legs do two spiders have?', ground_truth: '16' },
      {
        id: 'planet',
        prompt:
          'Which planet is largest?\nA. Mars\nB. Venus\nC. Jupiter\nD. Earth\nAnswer with the letter of the correct option.',
        ground_truth: 'C',
        choices: ['Mars', 'Venus', 'Jupiter', 'Earth'],
        metadata: { subject: 'astronomy' },
      },
      { id: 'colour', prompt: 'What colour is the sky on a clear day?', ground_truth: 'blue' },
      { id: 'never-asked', prompt: 'Beyond the limit', ground_truth: 'x' },
    ];
    const replies: Record<string, string> = {
      'What is the capital of France?': ' paris. ',
      'How many legs do two spiders have?': 'Two spiders have 16 legs.',
      'Which planet is largest?': '(C) Jupiter',
      'What colour is the sky on a clear day?': 'green',
    };
    answer = (question) => replies[question.split('\n')[0]!] ?? 'unexpected';
    const spec = await exampleJob({
      dataset: items.map((i) => JSON.stringify(i)).join('\n') + '\n',
      parameters: { limit: 4, concurrency: 2, maxTokens: 8, temperature: 0.5, model: 'served-name' },
    });
    const result = await runContainerJob(docker, spec);
    expect(result, result.reason).toMatchObject({ outcome: 'succeeded', exitCode: 0 });
    expect(await readJobOutputJson(spec.outputDirOnHost, 'metrics.json')).toEqual({
      metrics: [
        { name: 'accuracy', value: 0.75 },
        { name: 'answered', value: 1 },
        { name: 'items', value: 4 },
      ],
    });
    expect(received).toHaveLength(4);
    for (const r of received) expect(r).toMatchObject({ model: 'served-name', max_tokens: 8, temperature: 0.5 });
    const planet = received.find((r) => r.messages[0]!.content.startsWith('Which planet'))!;
    // Sent as the dataset has it: a multiple-choice prompt lists its options itself.
    expect(planet.messages[0]!.content).toBe(items[2]!.prompt);
    expect(await details(spec)).toEqual([
      { id: 'capital', answer: ' paris. ', correct: true },
      { id: 'sum', answer: 'Two spiders have 16 legs.', correct: true },
      { id: 'planet', answer: '(C) Jupiter', correct: true },
      { id: 'colour', answer: 'green', correct: false },
    ]);
    expect(result.lastLines[0]).toMatch(/^proctor-eval-example: 4 items from dataset example-qa, model served-name/);
  });

  it('exits non-zero with a readable last line when every call fails, and never prints the token', async () => {
    answer = () => null;
    const spec = await exampleJob({ parameters: { limit: 3, retries: 1 } });
    const result = await runContainerJob(docker, spec);
    expect(result).toMatchObject({ outcome: 'failed', exitCode: 1 });
    expect(result.lastLines.at(-1)).toMatch(
      /^proctor-eval-example: error: every one of the 3 inference calls failed; the last said: HTTP 500: /,
    );
    expect(result.reason).toContain('[redacted]');
    expect(result.reason).not.toContain(TOKEN);
    // Each call retried once after a 500.
    expect(received).toHaveLength(6);
    await expect(readJobOutputJson(spec.outputDirOnHost, 'metrics.json')).rejects.toThrow();
    expect(JSON.stringify(await details(spec))).not.toContain(TOKEN);
  });

  it('exits non-zero saying what is missing when it has no inference URL', async () => {
    const spec = await exampleJob();
    spec.env = spec.env!.filter((e) => !e.startsWith('EVAL_INFERENCE_URL='));
    const result = await runContainerJob(docker, spec);
    expect(result).toMatchObject({ outcome: 'failed', exitCode: 2 });
    expect(result.lastLines.at(-1)).toBe(
      'proctor-eval-example: error: EVAL_INFERENCE_URL is not set: the job has no model to ask',
    );
  });
});
