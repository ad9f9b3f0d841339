/**
 * The customImage block of a scoring configuration through HTTP, without Docker: stored and shown
 * as sent (JSON and YAML), each schema or rule error a 400 naming its field with the stored
 * configuration left as it was, and what launch and the debug call make of it: no verification,
 * the image and the deployment checked again at a formal launch (409 before any quota is taken),
 * one unit of progress per dataset, and no debug call. No workers run: launched workflows wait on their queue and are
 * terminated when the file ends.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { evaluations, images } from '../../db/schema';
import { ARITH_BASIC_ID } from '../../datasets/builtin/arithBasic';
import { WORD_REVERSE_ID } from '../../datasets/builtin/wordReverse';
import type { RunView } from '../../contracts/run';
import { approvedImageId, nlpEvaluationBody, registerDataset } from '../support/evaluationBodies';
import { useTestStack } from '../support/testStack';

type User = { id: string; apiKey: string };
type Body = Record<string, any>;

const stack = useTestStack({ api: true });
const launchedWorkflows: string[] = [];
let owner: User;
let other: User;
let exampleImageId: string;

beforeAll(async () => {
  [owner, other] = await Promise.all([stack.api.createUser(), stack.api.createUser()]);
  const listed = await stack.api.request('GET', '/v1/images?source=platform', { key: owner.apiKey });
  expect(listed.status, listed.text).toBe(200);
  const example = (listed.body.items as { id: string; name: string }[]).find((i) => i.name === 'proctor-eval-example');
  expect(example, listed.text).toBeDefined();
  exampleImageId = example!.id;
});

afterAll(async () => {
  for (const id of launchedWorkflows) {
    await stack.api.deps.temporal.workflow
      .getHandle(id)
      .terminate('test finished')
      .catch(() => {});
  }
});

/** A block that uses every field, each within its bounds. */
function fullBlock(imageId = exampleImageId): Body {
  return {
    imageId,
    command: ['python', '-m', 'proctor_eval_example', '--verbose'],
    parameters: { limit: 5, concurrency: 2, nested: { labels: ['a', 'b'], strict: true } },
    env: { LOG_LEVEL: 'debug', RUN_LABEL: 'nightly' },
    primaryMetric: 'accuracy',
    mountDatasets: false,
    limits: { timeoutSeconds: 600, memoryMb: 1024, cpus: 1.5 },
  };
}

async function createEvaluation(user: User = owner, overrides: Body = {}): Promise<string> {
  const res = await stack.api.request('POST', '/v1/evaluations', {
    key: user.apiKey,
    body: nlpEvaluationBody({ datasets: [ARITH_BASIC_ID, WORD_REVERSE_ID], ...overrides }),
  });
  expect(res.status, res.text).toBe(201);
  return res.body.id as string;
}

async function putScoring(evaluationId: string, body: unknown, user: User = owner, headers?: Record<string, string>) {
  return stack.api.request('PUT', `/v1/evaluations/${evaluationId}/scoring`, {
    key: user.apiKey,
    body,
    ...(headers ? { headers } : {}),
  });
}

async function getScoring(evaluationId: string, user: User = owner) {
  const res = await stack.api.request('GET', `/v1/evaluations/${evaluationId}/scoring`, { key: user.apiKey });
  expect(res.status, res.text).toBe(200);
  return res.body as Body;
}

/** An evaluation scored by the example image, as stored. */
async function customEvaluation(user: User = owner, block: Body = { imageId: exampleImageId }): Promise<string> {
  const evaluationId = await createEvaluation(user);
  const res = await putScoring(evaluationId, { customImage: block }, user);
  expect(res.status, res.text).toBe(200);
  return evaluationId;
}

/** An image the user imported, left pending review. */
async function pendingImage(key: string): Promise<string> {
  const res = await stack.api.request('POST', '/v1/images', {
    key,
    body: {
      name: `eval-${randomUUID().slice(0, 8)}`,
      tag: 'v1',
      url: 'python:3.12-slim',
      dockerfile: 'FROM python:3.12-slim\nCOPY evaluate.py /app/evaluate.py\n',
      domains: ['nlp'],
    },
  });
  expect(res.status, res.text).toBe(201);
  return res.body.id as string;
}

/** 400 problem+json whose errors name exactly these fields, each message matching. */
function expectFieldErrors(
  res: { status: number; headers: Headers; body: any; text: string },
  expected: [string, RegExp][],
) {
  expect(res.status, res.text).toBe(400);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const errors = (res.body.errors ?? []) as { field: string; message: string }[];
  expect(
    errors.map((e) => e.field),
    res.text,
  ).toEqual(expected.map(([field]) => field));
  expected.forEach(([, message], i) => expect(errors[i]!.message).toMatch(message));
}

async function launch(evaluationId: string, kind: 'runs' | 'verifications', user: User = owner) {
  const res = await stack.api.request('POST', `/v1/evaluations/${evaluationId}/${kind}`, { key: user.apiKey });
  if (res.status === 202) launchedWorkflows.push(res.body.workflowId);
  return res;
}

async function formalUsed(user: User): Promise<number> {
  const res = await stack.api.request('GET', '/v1/me', { key: user.apiKey });
  expect(res.status, res.text).toBe(200);
  return res.body.quota.formal.used as number;
}

async function runsOf(evaluationId: string, user: User = owner): Promise<unknown[]> {
  const res = await stack.api.request('GET', `/v1/evaluations/${evaluationId}/runs`, { key: user.apiKey });
  expect(res.status, res.text).toBe(200);
  return res.body.items as unknown[];
}

describe('storing a customImage block', () => {
  it('accepts a full block with the example image and shows it unchanged, as JSON and as YAML', async () => {
    const evaluationId = await createEvaluation();
    const config = { customImage: fullBlock() };
    const put = await putScoring(evaluationId, config);
    expect(put.status, put.text).toBe(200);
    expect(put.body).toEqual(config);
    expect(await getScoring(evaluationId)).toEqual(config);

    const yaml = await stack.api.request('GET', `/v1/evaluations/${evaluationId}/scoring`, {
      key: owner.apiKey,
      headers: { accept: 'application/yaml' },
    });
    expect(yaml.status, yaml.text).toBe(200);
    expect(yaml.headers.get('content-type')).toMatch(/^application\/yaml/);
    expect(parseYaml(yaml.text)).toEqual(config);
  });

  it('accepts the same block sent as YAML', async () => {
    const evaluationId = await createEvaluation();
    const config = { customImage: fullBlock() };
    const put = await putScoring(evaluationId, stringifyYaml(config), owner, { 'content-type': 'application/yaml' });
    expect(put.status, put.text).toBe(200);
    expect(put.body).toEqual(config);
    expect(await getScoring(evaluationId)).toEqual(config);
  });

  it('accepts the least block: an image id alone', async () => {
    const evaluationId = await customEvaluation();
    expect(await getScoring(evaluationId)).toEqual({ customImage: { imageId: exampleImageId } });
  });
});

describe('refusing a customImage block, the stored configuration left as it was', () => {
  let evaluationId: string;
  let stored: Body;

  beforeAll(async () => {
    evaluationId = await customEvaluation(owner, fullBlock());
    stored = await getScoring(evaluationId);
    expect(stored).toEqual({ customImage: fullBlock() });
  });

  const refuse = async (customImage: Body, expected: [string, RegExp][], extra: Body = {}) => {
    expectFieldErrors(await putScoring(evaluationId, { customImage, ...extra }), expected);
    expect(await getScoring(evaluationId)).toEqual(stored);
  };

  it.each<[string, () => Body, string, RegExp]>([
    ['an unknown key', () => ({ ...fullBlock(), image: 'x' }), 'customImage.image', /^is not a known field$/],
    ['an empty command', () => ({ ...fullBlock(), command: [] }), 'customImage.command', /must list 1–64 arguments/],
    [
      'a timeout of 1 s',
      () => ({ ...fullBlock(), limits: { timeoutSeconds: 1 } }),
      'customImage.limits.timeoutSeconds',
      /must be an integer from 5 to 86,400/,
    ],
    [
      'a memory limit of 10 MB',
      () => ({ ...fullBlock(), limits: { memoryMb: 10 } }),
      'customImage.limits.memoryMb',
      /must be an integer from 64 to 262,144/,
    ],
    [
      'an empty primaryMetric',
      () => ({ ...fullBlock(), primaryMetric: '' }),
      'customImage.primaryMetric',
      /must be 1–64 characters/,
    ],
  ])('refuses %s by the schema, naming the field', async (_what, block, field, message) => {
    await refuse(block(), [[field, message]]);
  });

  it('refuses default beside it', async () => {
    await refuse(fullBlock(), [['default', /^cannot be set with customImage/]], { default: { metric: 'exact_match' } });
  });

  it('refuses an env name the platform reserves', async () => {
    await refuse({ ...fullBlock(), env: { EVAL_TOKEN: 'x' } }, [
      ['customImage.env.EVAL_TOKEN', /^must not start with EVAL_ or PROCTOR_/],
    ]);
  });

  it('names odd env keys as the API names any key, and refuses parameters over 16 KiB with their size', async () => {
    await refuse({ ...fullBlock(), env: { 'LOG.LEVEL': 'x', '2FAST': 'x', PROCTOR_HOME: 'x' } }, [
      ['customImage.env["LOG.LEVEL"]', /^must be named with capital letters, digits and _, not starting with a digit$/],
      ['customImage.env.2FAST', /^must be named with capital letters, digits and _, not starting with a digit$/],
      ['customImage.env.PROCTOR_HOME', /^must not start with EVAL_ or PROCTOR_: the platform sets those variables$/],
    ]);
    await refuse({ ...fullBlock(), parameters: { text: 'x'.repeat(16 * 1024) } }, [
      ['customImage.parameters', /^must be at most 16 KiB as JSON \(is 16,395 bytes\)$/],
    ]);
  });

  it('refuses a YAML body in the same words, naming the same field', async () => {
    const yaml = stringifyYaml({ customImage: { ...fullBlock(), env: { EVAL_TOKEN: 'x' } } });
    expectFieldErrors(await putScoring(evaluationId, yaml, owner, { 'content-type': 'application/yaml' }), [
      ['customImage.env.EVAL_TOKEN', /^must not start with EVAL_ or PROCTOR_/],
    ]);
    expect(await getScoring(evaluationId)).toEqual(stored);
  });

  it('refuses an image that does not exist, and another user’s image, in the same words', async () => {
    await refuse({ imageId: 'img-1' }, [
      ['customImage.imageId', /^names no image \("img-1"\); choose one from GET \/v1\/images$/],
    ]);
    const missing = randomUUID();
    await refuse({ imageId: missing }, [
      ['customImage.imageId', new RegExp(`^names no image \\("${missing}"\\); choose one from GET /v1/images$`)],
    ]);
    const theirs = await approvedImageId(stack.api, other.apiKey, ['nlp']);
    await refuse({ imageId: theirs }, [
      ['customImage.imageId', new RegExp(`^names no image \\("${theirs}"\\); choose one from GET /v1/images$`)],
    ]);
  });

  it('refuses an image pending review', async () => {
    const pending = await pendingImage(owner.apiKey);
    await refuse({ imageId: pending }, [
      ['customImage.imageId', /which is pending review; it can be used once an admin approves it$/],
    ]);
  });

  it('refuses a rejected image, saying why it was rejected', async () => {
    const image = await pendingImage(owner.apiKey);
    const rejected = await stack.api.request('POST', `/v1/images/${image}/reject`, {
      key: stack.api.adminKey,
      body: { reason: 'writes outside its output directory' },
    });
    expect(rejected.status, rejected.text).toBe(200);
    await refuse({ imageId: image }, [
      [
        'customImage.imageId',
        /which was rejected \(writes outside its output directory\); fix it and import it again$/,
      ],
    ]);
  });

  it('refuses an evaluation-only (predictions) deployment, naming customImage', async () => {
    const predictions = await createEvaluation(owner, { deployment: { method: 'predictions' } });
    const before = await getScoring(predictions);
    expectFieldErrors(await putScoring(predictions, { customImage: fullBlock() }), [
      ['customImage', /^cannot score an evaluation-only \(predictions\) deployment/],
    ]);
    expect(await getScoring(predictions)).toEqual(before);
  });
});

describe('launching a custom-image evaluation', () => {
  it('refuses a verification: the image evaluates whole datasets', async () => {
    const user = await stack.api.createUser();
    const evaluationId = await customEvaluation(user);
    const res = await launch(evaluationId, 'verifications', user);
    expect(res.status, res.text).toBe(409);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body.detail).toMatch(/^a custom-image evaluation is not verified on samples/);
    expect(await runsOf(evaluationId, user)).toEqual([]);
  });

  it('refuses a formal run when the image was rejected after it was configured, taking no quota', async () => {
    const user = await stack.api.createUser();
    const image = await approvedImageId(stack.api, user.apiKey, ['nlp']);
    const evaluationId = await customEvaluation(user, { imageId: image });
    // Reviews only decide pending images; an approved one is withdrawn by an admin in the store.
    await stack.db
      .update(images)
      .set({ status: 'rejected', rejectReason: 'sends items to a third party' })
      .where(eq(images.id, image));
    const before = await formalUsed(user);

    const res = await launch(evaluationId, 'runs', user);
    expect(res.status, res.text).toBe(409);
    expect(res.body.detail).toMatch(/^the run cannot be launched: customImage\.imageId names image /);
    expect(res.body.errors).toEqual([
      {
        field: 'customImage.imageId',
        message: expect.stringMatching(
          /which was rejected \(sends items to a third party\); fix it and import it again$/,
        ),
      },
    ]);
    expect(await formalUsed(user)).toBe(before);
    expect(await runsOf(evaluationId, user)).toEqual([]);
  });

  it('refuses a formal run once the deployment was switched to uploaded predictions, taking no quota', async () => {
    const user = await stack.api.createUser();
    const datasetId = await registerDataset(stack.api, user.apiKey, 'nlp');
    const created = await stack.api.request('POST', '/v1/evaluations', {
      key: user.apiKey,
      body: nlpEvaluationBody({ datasets: [datasetId] }),
    });
    expect(created.status, created.text).toBe(201);
    const evaluationId = created.body.id as string;
    const put = await putScoring(evaluationId, { customImage: { imageId: exampleImageId } }, user);
    expect(put.status, put.text).toBe(200);
    // The edit is refused while the custom image is configured…
    const edited = await stack.api.request('PATCH', `/v1/evaluations/${evaluationId}`, {
      key: user.apiKey,
      body: { deployment: { method: 'predictions' } },
    });
    expect(edited.status, edited.text).toBe(400);
    expect(edited.body.errors).toEqual([
      {
        field: 'deployment.method',
        message: expect.stringMatching(/^cannot be predictions while the scoring configuration names a custom image/),
      },
    ]);
    // …and the launch checks again, for an evaluation whose deployment changed by another way (an
    // edit made before the rule, or one racing the scoring configuration).
    await stack.api.deps.db
      .update(evaluations)
      .set({ deployment: { method: 'predictions' } })
      .where(eq(evaluations.id, evaluationId));
    const uploaded = await stack.api.request('PUT', `/v1/evaluations/${evaluationId}/predictions/${datasetId}`, {
      key: user.apiKey,
      body: { jsonl: `${JSON.stringify({ id: 'q1', prediction: 'yes' })}\n` },
    });
    expect(uploaded.status, uploaded.text).toBe(201);
    const before = await formalUsed(user);

    const res = await launch(evaluationId, 'runs', user);
    expect(res.status, res.text).toBe(409);
    expect(res.body.errors).toEqual([
      {
        field: 'customImage',
        message: expect.stringMatching(/^cannot score an evaluation-only \(predictions\) deployment/),
      },
    ]);
    expect(await formalUsed(user)).toBe(before);
    expect(await runsOf(evaluationId, user)).toEqual([]);
  });

  it('accepts the owner’s own approved image whatever domains it serves, when stored and at launch', async () => {
    // Catalogue domains say which private deployments an image serves; an evaluation image serves
    // none, and none can be imported for an API-only domain such as safety.
    const user = await stack.api.createUser();
    const own = await approvedImageId(stack.api, user.apiKey, ['audio']);
    const evaluationId = await customEvaluation(user, { imageId: own });
    expect(await getScoring(evaluationId, user)).toEqual({ customImage: { imageId: own } });
    const res = await launch(evaluationId, 'runs', user);
    expect(res.status, res.text).toBe(202);
  });

  it('launches a formal run whose datasets each count one unit, taking one quota slot', async () => {
    const user = await stack.api.createUser();
    const evaluationId = await customEvaluation(user);
    const before = await formalUsed(user);

    const res = await launch(evaluationId, 'runs', user);
    expect(res.status, res.text).toBe(202);
    expect(await formalUsed(user)).toBe(before + 1);
    const view = await stack.api.request('GET', `/v1/runs/${res.body.runId}`, { key: user.apiKey });
    expect(view.status, view.text).toBe(200);
    const run = view.body as RunView;
    expect(run.status).toBe('queued');
    expect(run.datasets.map((d) => [d.dataset, d.total, d.done])).toEqual([
      [ARITH_BASIC_ID, 1, 0],
      [WORD_REVERSE_ID, 1, 0],
    ]);
    expect(run.progress).toMatchObject({ done: 0, total: 2 });
  });
});

describe('the debug call', () => {
  it('refuses the stored custom-image configuration, naming dataset', async () => {
    const evaluationId = await customEvaluation();
    const res = await stack.api.request('POST', `/v1/evaluations/${evaluationId}/scoring/debug`, {
      key: owner.apiKey,
      body: { dataset: ARITH_BASIC_ID, samples: [{ question: '1+1?', prediction: '2', reference: '2' }] },
    });
    expectFieldErrors(res, [['dataset', /^is scored by a custom image/]]);
  });

  it('refuses a custom-image configuration sent with the call, naming config.customImage', async () => {
    const evaluationId = await createEvaluation();
    const res = await stack.api.request('POST', `/v1/evaluations/${evaluationId}/scoring/debug`, {
      key: owner.apiKey,
      body: {
        config: { customImage: { imageId: exampleImageId } },
        samples: [{ question: '1+1?', prediction: '2', reference: '2' }],
      },
    });
    expectFieldErrors(res, [['config.customImage', /^is scored by a custom image/]]);
  });
});
