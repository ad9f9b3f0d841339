/**
 * Where each operation with a body or query string is fuzzed, and from what: the key that may call
 * it, the records its path names, a valid body to break (fresh each time, so a body that is
 * accepted never collides with the last one), the fields whose rules refuse any look-alike, and
 * real cursors to mutate. The records are chosen so that a valid request changes nothing either
 * where that is possible: verifications go to a private evaluation whose upload failed its check
 * (409), a rejection or a takedown to a preloaded image (409), cp and single-file copies to a token
 * holding no version yet (409).
 *
 * A new operation with a body or query string has no entry here, and the fuzz test says so.
 */
import { randomUUID } from 'node:crypto';
import { ARITH_BASIC_ID } from '../../../datasets/builtin/arithBasic';
import { WORD_REVERSE_ID } from '../../../datasets/builtin/wordReverse';
import { manualReviews, runLogs, sampleResults } from '../../../db/schema';
import type { TestApi } from '../apiServer';
import { nlpEvaluationBody, platformImageId, uniqueModelName } from '../evaluationBodies';
import { insertArithmeticDataset, insertRun } from '../runFixtures';
import { createPrivateEvaluation, issueToken, tarOf } from '../../uploads/uploadFixtures';
import { insertComparison } from '../../comparisons/comparisonFixtures';
import { rawRequest } from './rawRequest';

export interface FuzzTarget {
  /** The Authorization header's credential (an API key or an upload token). */
  credential: string;
  params?: Record<string, string | number>;
  /** Headers a request needs to reach validation (the upload routes check the media type first). */
  headers?: Record<string, string>;
  /** A valid body, fresh each call. */
  seed?: () => Record<string, unknown>;
  /** Fields whose rules (schema or business) admit only plain ASCII slugs: any look-alike of a valid value must be refused. */
  slugs?: string[];
  /** Real cursors of the operation's pages. */
  cursors?: string[];
}

export interface FuzzFixtures {
  targets: Record<string, FuzzTarget>;
  /** A token that holds no version, for PUT /v1/upload with garbage archives. */
  freshUploadToken: () => Promise<string>;
}

const INFERENCE = {
  maxTokens: 256,
  temperature: 0.5,
  topP: 0.9,
  systemPrompt: 'Answer briefly.',
  topK: 40,
  repetitionPenalty: 1.1,
  doSample: true,
  stop: ['###', '\n\n'],
  seed: 1234,
  maxModelLen: 8192,
  template: { name: 'custom', text: '{system}\nQ: {input}\nA:', stopWords: ['\nQ:'] },
};
const LIMITS = { maxConcurrency: 4, maxRetryPerQuery: 1, requestTimeoutMs: 10_000, maxRetryDelayMs: 5_000 };
/** A template applies to completion mode only. */
const completionBody = (overrides: Record<string, unknown>): Record<string, any> => {
  const body = nlpEvaluationBody(overrides);
  return { ...body, deployment: { ...body.deployment, apiMode: 'completion' } };
};

export async function fuzzFixtures(api: TestApi): Promise<FuzzFixtures> {
  const user = await api.createUser('user');
  const key = user.apiKey;
  const imageId = await platformImageId(api, key);

  const created = await api.request('POST', '/v1/evaluations', { key, body: nlpEvaluationBody() });
  if (created.status !== 201) throw new Error(`could not create an evaluation: ${created.status} ${created.text}`);
  const apiEvaluation = created.body.id as string;

  // A private evaluation whose only upload fails its check: launches are refused before anything is written.
  const privateEvaluation = await createPrivateEvaluation(api, key, imageId);
  const heldToken = await issueToken(api, key, privateEvaluation);
  const upload = await rawRequest(api.url, {
    method: 'PUT',
    target: '/v1/upload',
    headers: { authorization: `Bearer ${heldToken}`, 'content-type': 'application/x-tar' },
    body: await tarOf([
      { name: 'notes/README.txt', content: 'no model here\n' },
      { name: 'notes/deep/a.txt', content: 'a\n' },
    ]),
  });
  if (upload.status !== 201 || upload.body.check.ok)
    throw new Error(`could not upload a version that fails its check: ${upload.status} ${upload.text}`);
  const emptyToken = await issueToken(api, key, privateEvaluation);

  // A run with a few stored results and log lines, so pages have cursors.
  const dataset = await insertArithmeticDataset(api.deps.db, 3);
  const runId = await insertRun(api.deps.db, {
    ownerId: user.id,
    endpoint: 'http://127.0.0.1:9/v1',
    datasets: [dataset],
  });
  await api.deps.db.insert(sampleResults).values(
    [0, 1, 2].map((i) => ({
      runId,
      datasetId: dataset.id,
      sampleIdx: i,
      position: i,
      predict: String(i),
      score: 1,
      status: 'scored' as const,
    })),
  );
  await api.deps.db
    .insert(runLogs)
    .values([0, 1, 2].map((i) => ({ runId, level: 'info' as const, message: `line ${i}` })));

  const cursorOf = async (path: string) => {
    const res = await api.request('GET', path, { key });
    if (res.status !== 200 || typeof res.body.nextCursor !== 'string')
      throw new Error(`no cursor from ${path}: ${res.status} ${res.text}`);
    return res.body.nextCursor as string;
  };
  const evaluationCursor = await cursorOf('/v1/evaluations?limit=1');
  const resultsCursor = await cursorOf(`/v1/runs/${runId}/results?limit=1`);
  // A second run of the user's, so the run list has a next page.
  await insertRun(api.deps.db, { ownerId: user.id, endpoint: 'http://127.0.0.1:9/v1', datasets: [dataset] });
  const runsCursor = await cursorOf('/v1/runs?limit=1');

  const tag = () => randomUUID().slice(0, 8);
  // Manual review: a review still waiting for its launch takes no scores (409), and an abandoned one cannot be abandoned again (409).
  const reviewer = await api.createUser('reviewer');
  const reviewOf = async (status: 'awaiting-launch' | 'abandoned') => {
    const reviewRunId = await insertRun(api.deps.db, {
      ownerId: user.id,
      endpoint: 'http://127.0.0.1:9/v1',
      datasets: [dataset],
    });
    const [row] = await api.deps.db
      .insert(manualReviews)
      .values({ runId: reviewRunId, ownerId: user.id, status, datasetIds: [dataset.id] })
      .returning({ id: manualReviews.id });
    return row!.id;
  };
  const [waitingReview, endedReview] = [await reviewOf('awaiting-launch'), await reviewOf('abandoned')];
  // A comparison of two queued runs, written to the database: no workflow runs for it.
  const comparedRun = await insertRun(api.deps.db, {
    ownerId: user.id,
    endpoint: 'http://127.0.0.1:9/v1',
    datasets: [dataset],
  });
  const comparison = await insertComparison(api.deps.db, user.id, [runId, comparedRun], [dataset.id]);
  const targets: Record<string, FuzzTarget> = {
    'POST /v1/users': {
      credential: api.adminKey,
      seed: () => ({
        name: 'Ada Lovelace',
        organization: 'Analytical Engines',
        email: `ada-${tag()}@example.test`,
        role: 'user',
      }),
    },
    'GET /v1/datasets': { credential: key },
    'GET /v1/datasets/{id}/items': { credential: key, params: { id: ARITH_BASIC_ID }, cursors: ['0', '499'] },
    'POST /v1/datasets': {
      credential: key,
      seed: () => ({
        id: `fz-${tag()}`,
        name: 'fuzz set',
        domain: 'nlp',
        task: 'custom',
        metric: 'exact_match',
        description: 'one item',
        jsonl: `${JSON.stringify({ id: 'q1', prompt: 'Say yes.', ground_truth: 'yes', metadata: { source: 'fuzz' } })}\n`,
      }),
      slugs: ['id'],
    },
    'POST /v1/evaluations': {
      credential: key,
      seed: () => completionBody({ modelName: uniqueModelName('fz'), inference: INFERENCE, limits: LIMITS }),
      slugs: ['modelName'],
    },
    'GET /v1/evaluations': { credential: key, cursors: [evaluationCursor] },
    'POST /v1/evaluations/{id}/copy': {
      credential: key,
      params: { id: apiEvaluation },
      seed: () => ({ modelName: uniqueModelName('fz-copy'), description: 'a copy' }),
      slugs: ['modelName'],
    },
    'PATCH /v1/evaluations/{id}': {
      credential: key,
      params: { id: apiEvaluation },
      seed: () => {
        const {
          modelName: _m,
          domain: _d,
          ...editable
        } = completionBody({ inference: INFERENCE, limits: LIMITS, datasets: [WORD_REVERSE_ID, ARITH_BASIC_ID] });
        return editable;
      },
    },
    'POST /v1/evaluations/{id}/verifications': {
      credential: key,
      params: { id: privateEvaluation },
      seed: () => ({ samplesPerDataset: 2, seed: 7 }),
    },
    // Launches of the private evaluation are refused (409) before anything is written.
    'POST /v1/evaluations/{id}/runs': {
      credential: key,
      params: { id: privateEvaluation },
      seed: () => ({ reuse: false }),
    },
    // The API evaluation takes no predictions: a valid upload is refused (409) and stores nothing.
    'PUT /v1/evaluations/{id}/predictions/{datasetId}': {
      credential: key,
      params: { id: apiEvaluation, datasetId: ARITH_BASIC_ID },
      seed: () => ({ jsonl: JSON.stringify({ id: 'arith-basic-0', prediction: '42' }) }),
    },
    'PUT /v1/evaluations/{id}/scoring': {
      credential: key,
      params: { id: apiEvaluation },
      seed: () => ({
        default: {
          metric: 'judge',
          judge: { baseUrl: 'http://127.0.0.1:9/v1', model: 'judge', apiKey: null },
          prompt: 'Grade {answer} against {reference}.',
          preprocess: ['trim'],
          postprocess: [{ regexExtract: { pattern: '(\\d+)' } }, { scale: { min: 0, max: 10 } }, 'clamp'],
        },
        limits: { maxJudgingConcurrency: 2, maxJudgingRetryPerQ: 0 },
      }),
    },
    'POST /v1/evaluations/{id}/scoring/debug': {
      credential: key,
      params: { id: apiEvaluation },
      seed: () => ({
        config: { default: { metric: 'exact_match' } },
        samples: [{ question: 'Say yes.', prediction: 'yes', reference: 'yes' }],
      }),
    },
    'GET /v1/runs/{runId}/results': { credential: key, params: { runId }, cursors: [resultsCursor] },
    'GET /v1/runs': { credential: key, cursors: [runsCursor] },
    'GET /v1/runs/{runId}/comparison': { credential: key, params: { runId }, cursors: ['0', '1'] },
    'GET /v1/runs/{runId}/comparison.xlsx': { credential: key, params: { runId } },
    'GET /v1/runs/{runId}/logs': { credential: key, params: { runId } },
    // The run is queued: a valid submission is refused (409) and changes nothing.
    'POST /v1/runs/{runId}/leaderboard': {
      credential: key,
      params: { runId },
      seed: () => ({ mode: 'named' }),
      slugs: ['mode'],
    },
    'GET /v1/evaluations/{id}/uploads/{version}/files': {
      credential: key,
      params: { id: privateEvaluation, version: 1 },
    },
    'POST /v1/upload/cp': { credential: emptyToken, headers: { 'content-type': 'application/x-tar' } },
    'PUT /v1/upload/files': { credential: emptyToken, headers: { 'content-type': 'application/octet-stream' } },
    'GET /v1/upload/ls': { credential: heldToken },
    'GET /v1/images': { credential: key },
    'POST /v1/images': {
      credential: key,
      seed: () => ({
        name: `fz-img-${tag()}`,
        tag: 'v1',
        url: 'nvcr.io/nvidia/pytorch:23.03-py3',
        description: 'for fuzzing',
        domains: ['nlp'],
        dockerfile: 'FROM nvcr.io/nvidia/pytorch:23.03-py3\nRUN pip install --no-cache-dir transformers==4.31.0\n',
      }),
      slugs: ['name'],
    },
    'POST /v1/images/{id}/reject': {
      credential: api.adminKey,
      params: { id: imageId },
      seed: () => ({ reason: 'the Dockerfile does not build' }),
    },
    // The preloaded image: a valid takedown is refused (409), so fuzzing leaves the catalogue as it was.
    'POST /v1/images/{id}/takedown': {
      credential: api.adminKey,
      params: { id: imageId },
      seed: () => ({ reason: 'the image sends prompts to a third party' }),
    },
    // Each valid body sets the budget of an identity of its own (an address nothing calls).
    'PUT /v1/admin/endpoint-budgets': {
      credential: api.adminKey,
      seed: () => ({
        baseUrl: `http://fuzz-${randomUUID().slice(0, 8)}.example.test/v1`,
        apiKey: 'sk-fuzz',
        requestsPerMinute: 600,
        tokensPerMinute: 100_000,
        maxConcurrent: 8,
      }),
      // Stored normalised, as the identity workers compute: only ASCII is admitted.
      slugs: ['baseUrl'],
    },
    // The audio board has no admissible dataset yet: every suite is refused, so fuzzing changes no board.
    'PUT /v1/leaderboards/{domain}/suite': {
      credential: api.adminKey,
      params: { domain: 'audio' },
      seed: () => ({ name: 'Audio suite', datasets: ['audio-clips'] }),
    },
    'GET /v1/reviews': { credential: reviewer.apiKey },
    'POST /v1/reviews/{reviewId}/scores': {
      credential: reviewer.apiKey,
      params: { reviewId: waitingReview },
      seed: () => ({
        scores: [{ dataset: dataset.id, itemId: `${dataset.id}-1`, score: 3, comment: 'a fair answer' }],
      }),
    },
    // The private evaluation's upload failed its check: a valid comparison is refused (409) before anything is launched.
    'POST /v1/comparisons': {
      credential: key,
      seed: () => ({
        name: `fz-${tag()}`,
        evaluationIds: [apiEvaluation, privateEvaluation],
        datasets: [ARITH_BASIC_ID],
        weights: { metrics: { exact_match: 2 } },
      }),
    },
    'GET /v1/comparisons/{id}/ranking': { credential: key, params: { id: comparison } },
    'PUT /v1/comparisons/{id}/weights': {
      credential: key,
      params: { id: comparison },
      seed: () => ({ datasets: { [dataset.id]: 2 }, metrics: { exact_match: 0.5 } }),
    },
    'POST /v1/reviews/{reviewId}/abandon': {
      credential: api.adminKey,
      params: { reviewId: endedReview },
      seed: () => ({ reason: 'fuzzed' }),
    },
  };
  return { targets, freshUploadToken: () => issueToken(api, key, privateEvaluation) };
}
