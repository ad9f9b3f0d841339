/**
 * Who can reach what, for every route the API serves. The routes are read from the built app, and
 * each must be classified in ROUTES below, so a new route cannot go unchecked:
 *
 * - public: no key needed;
 * - authenticated: any valid API key, whatever the role (lists show the caller's own and shared things);
 * - userOrAdmin: users and admins act on their own (reviewers 403);
 * - owner: a path parameter names an evaluation, run, token, upload version or image; its owner and
 *   admins reach it, another user gets the 404 a missing one gets (existence is not revealed), a
 *   reviewer gets what a missing one would get too;
 * - adminOnly: 403 for everyone else;
 * - reviewer: none yet;
 * - uploadToken: an upload token (pup_…), never an API key, acting on its own evaluation only.
 *
 * Every refused request is followed by a look at everything the owner has (rows and upload files)
 * and at platform-wide counts: a refusal changes nothing. No workers run: launched runs stay queued
 * and are terminated when the file ends; their results, logs and report are empty or not written,
 * and a stranger must be refused them the same way as runs that do not exist.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { ARITH_BASIC_ID } from '../../datasets/builtin/arithBasic';
import { MM_SHAPES_VQA_ID } from '../../datasets/builtin/multimodal/mmShapesVqa';
import { hashApiKey } from '../../db/queries/apiKeyHash';
import { openSecret } from '../../db/secretBox';
import { startApi, type TestApi } from '../support/apiServer';
import {
  nlpEvaluationBody,
  platformImageId,
  privateDeploymentBody,
  registerDataset,
} from '../support/evaluationBodies';
import { ownedState, type OwnedState } from '../support/ownedState';
import { documentedRoutes, fillPath, routeKey, servedRoutes } from '../support/servedRoutes';
import { SAFETY_BUILTIN_DATASETS } from '../../datasets/builtinCatalog';
import { demoEntries, issueToken, tarOf, useFreshUploadDir } from '../uploads/uploadFixtures';
import { manualReviews } from '../../db/schema';
import { insertArithmeticDataset, insertRun } from '../support/runFixtures';
import { workflowIds } from '../../temporal.config';

type Role = 'user' | 'reviewer' | 'admin';
interface Actor {
  id: string;
  apiKey: string;
  role: Role;
}

/** What the tests set up; A owns one of everything a path parameter can name. */
interface Fixture {
  a: Actor;
  b: Actor;
  reviewer: Actor;
  admin: Actor;
  /** A user whose key was revoked. */
  revoked: Actor;
  modelApiKey: string;
  datasetA: string;
  evalApi: string;
  evalPrivate: string;
  /** B's own private evaluation, holding B's upload token. */
  evalPrivateB: string;
  verificationRun: string;
  formalRun: string;
  /** A's imported image, pending review. */
  imageA: string;
  platformImage: string;
  /** A's token that made upload version 1 of evalPrivate. */
  tokenA: string;
  /** A's token that stays unused (the target of revocation attempts). */
  spareTokenA: { id: string; token: string };
  /** A's token that A revoked. */
  revokedTokenA: string;
  tokenB: string;
  /** A's comparison of evalApi and a second API evaluation of A's. */
  comparison: string;
}

interface Req {
  path: string;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as is, with this content type. */
  raw?: { contentType: string; data: Buffer | string };
}

interface Response {
  status: number;
  headers: Headers;
  text: string;
  body: any;
}

interface OwnerTarget {
  label: string;
  params: Record<string, string | number>;
  /** The same request with A's things replaced by ones that do not exist (or by B's own, with A's token). */
  ghosts: Record<string, string | number>[];
  /** What A and an admin get for a request that only reads. */
  read?: { owner: number; admin: number };
}

type RouteSpec =
  | { audience: 'public'; request: (f: Fixture) => Req }
  | {
      audience: 'authenticated' | 'userOrAdmin' | 'adminOnly';
      request: (f: Fixture) => Promise<Req> | Req;
      success: number;
    }
  | {
      audience: 'owner';
      targets: (f: Fixture) => OwnerTarget[];
      /** What a reviewer gets: 403 where the route admits only users and admins, else the 404 of a stranger. */
      reviewer: 403 | 404;
      query?: string;
      body?: unknown;
      mutates: boolean;
    }
  | { audience: 'reviewer'; request: (f: Fixture) => Promise<Req> | Req; success: number }
  | { audience: 'uploadToken'; request: (f: Fixture) => Promise<Req> | Req }
  /** The flageval-serving CLI's routes: the upload token in the query or the body, never a header. */
  | { audience: 'flagevalToken'; request: (token: string | undefined) => Req };

const uuid = () => randomUUID();
const evaluationGhosts = () => [{ id: uuid() }, { id: 'not-an-evaluation' }];
const runGhosts = () => [{ runId: uuid() }, { runId: 'not-a-run' }];
const comparisonTargets = (f: Fixture, read: OwnerTarget['read']): OwnerTarget[] => [
  { label: "A's comparison", params: { id: f.comparison }, ghosts: [{ id: uuid() }, { id: 'not-a-comparison' }], read },
];

const evaluationTargets = (f: Fixture, read: OwnerTarget['read']): OwnerTarget[] => [
  { label: "A's API evaluation", params: { id: f.evalApi }, ghosts: evaluationGhosts(), read },
  { label: "A's private evaluation", params: { id: f.evalPrivate }, ghosts: evaluationGhosts(), read },
];
const runTargets = (f: Fixture, read: OwnerTarget['read']): OwnerTarget[] => [
  { label: "A's formal run", params: { runId: f.formalRun }, ghosts: runGhosts(), read },
  { label: "A's verification run", params: { runId: f.verificationRun }, ghosts: runGhosts(), read },
];
const versionTargets = (f: Fixture): OwnerTarget[] => [
  {
    label: "version 1 of A's private evaluation",
    params: { id: f.evalPrivate, version: 1 },
    ghosts: [{ id: uuid(), version: 1 }],
    read: { owner: 200, admin: 200 },
  },
];

/** A review of a run of A's waiting for its launch, written to the database: no worker runs in this file. */
async function reviewOfA(f: Fixture): Promise<string> {
  const dataset = await insertArithmeticDataset(api.deps.db, 1);
  const runId = await insertRun(api.deps.db, {
    ownerId: f.a.id,
    endpoint: 'http://127.0.0.1:9/v1',
    datasets: [dataset],
  });
  const [row] = await api.deps.db
    .insert(manualReviews)
    .values({ runId, ownerId: f.a.id, status: 'awaiting-launch', datasetIds: [dataset.id] })
    .returning({ id: manualReviews.id });
  return row!.id;
}

function tarRequest(path: string, entries: Parameters<typeof tarOf>[0]): () => Promise<Req> {
  return async () => ({ path, raw: { contentType: 'application/x-tar', data: await tarOf(entries) } });
}

/** Every route the API serves, by who may call it. HEAD routes fastify adds for GET ones take the GET route's class. */
const ROUTES: Record<string, RouteSpec> = {
  'GET /openapi.json': { audience: 'public', request: () => ({ path: '/openapi.json' }) },
  'GET /healthz': { audience: 'public', request: () => ({ path: '/healthz' }) },
  'GET /v1/leaderboards/{domain}': { audience: 'public', request: () => ({ path: '/v1/leaderboards/nlp' }) },
  'GET /leaderboard/{domain}': { audience: 'public', request: () => ({ path: '/leaderboard/nlp' }) },
  'GET /console/': { audience: 'public', request: () => ({ path: '/console/' }) },
  'GET /console/{asset}': { audience: 'public', request: () => ({ path: '/console/app.js' }) },
  'GET /v1/leaderboards/{domain}/suites': {
    audience: 'public',
    request: () => ({ path: '/v1/leaderboards/safety/suites' }),
  },

  'GET /v1/me': { audience: 'authenticated', request: () => ({ path: '/v1/me' }), success: 200 },
  'GET /v1/datasets': { audience: 'authenticated', request: () => ({ path: '/v1/datasets' }), success: 200 },
  'GET /v1/datasets/{id}/pictures/{name}': {
    audience: 'authenticated',
    request: () => ({ path: `/v1/datasets/${MM_SHAPES_VQA_ID}/pictures/img-0000.png` }),
    success: 200,
  },
  'GET /v1/datasets/{id}/items': {
    audience: 'authenticated',
    request: () => ({ path: `/v1/datasets/${ARITH_BASIC_ID}/items` }),
    success: 200,
  },
  'POST /v1/datasets': {
    audience: 'authenticated',
    request: () => ({
      path: '/v1/datasets',
      body: {
        id: `ds-acl-${uuid().slice(0, 8)}`,
        name: 'access matrix',
        domain: 'nlp',
        task: 'custom',
        metric: 'exact_match',
        jsonl: `${JSON.stringify({ id: 'q1', prompt: 'Say yes.', ground_truth: 'yes' })}\n`,
      },
    }),
    success: 201,
  },
  'GET /v1/resources': { audience: 'authenticated', request: () => ({ path: '/v1/resources' }), success: 200 },
  'GET /v1/domains': { audience: 'authenticated', request: () => ({ path: '/v1/domains' }), success: 200 },
  'GET /v1/images': { audience: 'authenticated', request: () => ({ path: '/v1/images' }), success: 200 },

  'POST /v1/evaluations': {
    audience: 'userOrAdmin',
    request: () => ({ path: '/v1/evaluations', body: nlpEvaluationBody() }),
    success: 201,
  },
  'GET /v1/evaluations': { audience: 'userOrAdmin', request: () => ({ path: '/v1/evaluations' }), success: 200 },
  'GET /v1/runs': { audience: 'userOrAdmin', request: () => ({ path: '/v1/runs' }), success: 200 },
  // Whose dataset it is decides the rest (test/api/managing.test.ts); here, one that does not exist.
  'DELETE /v1/datasets/{id}': {
    audience: 'userOrAdmin',
    request: () => ({ path: `/v1/datasets/ds-missing-${uuid().slice(0, 8)}` }),
    success: 404,
  },
  'POST /v1/images': {
    audience: 'userOrAdmin',
    request: () => ({ path: '/v1/images', body: importImageBody() }),
    success: 201,
  },
  'GET /v1/comparisons': { audience: 'userOrAdmin', request: () => ({ path: '/v1/comparisons' }), success: 200 },
  // Evaluations that do not exist: users and admins are answered (422 naming them), nothing is launched.
  'POST /v1/comparisons': {
    audience: 'userOrAdmin',
    request: () => ({
      path: '/v1/comparisons',
      body: { name: 'matrix', evaluationIds: [uuid(), uuid()], datasets: [ARITH_BASIC_ID] },
    }),
    success: 422,
  },

  'POST /v1/users': {
    audience: 'adminOnly',
    request: () => ({
      path: '/v1/users',
      body: {
        name: 'Matrix',
        organization: 'Proctor tests',
        email: `acl-${uuid().slice(0, 8)}@example.test`,
        role: 'user',
      },
    }),
    success: 201,
  },
  'GET /v1/admin/endpoint-budgets': {
    audience: 'adminOnly',
    request: () => ({ path: '/v1/admin/endpoint-budgets' }),
    success: 200,
  },
  'PUT /v1/admin/endpoint-budgets': {
    audience: 'adminOnly',
    request: () => ({
      path: '/v1/admin/endpoint-budgets',
      body: { baseUrl: `http://acl-${uuid().slice(0, 8)}.example.test/v1`, apiKey: 'sk-acl', requestsPerMinute: 600 },
    }),
    success: 200,
  },
  // A budget that does not exist: the admin is answered 404.
  'DELETE /v1/admin/endpoint-budgets/{id}': {
    audience: 'adminOnly',
    request: () => ({ path: `/v1/admin/endpoint-budgets/${uuid()}` }),
    success: 404,
  },
  // The Safety board's default suite, set again: the admin is answered 200 and nothing changes.
  'PUT /v1/leaderboards/{domain}/suite': {
    audience: 'adminOnly',
    request: () => ({
      path: '/v1/leaderboards/safety/suite',
      body: { name: 'safety default', datasets: SAFETY_BUILTIN_DATASETS.map((d) => d.id) },
    }),
    success: 200,
  },
  'POST /v1/images/{id}/approve': {
    audience: 'adminOnly',
    request: async (f) => ({ path: `/v1/images/${await importImage(f.a)}/approve` }),
    success: 200,
  },
  'POST /v1/images/{id}/reject': {
    audience: 'adminOnly',
    request: async (f) => ({
      path: `/v1/images/${await importImage(f.a)}/reject`,
      body: { reason: 'the Dockerfile pins nothing' },
    }),
    success: 200,
  },
  'POST /v1/images/{id}/takedown': {
    audience: 'adminOnly',
    request: async (f) => ({
      path: `/v1/images/${await approvedImage(f.a, f.admin)}/takedown`,
      body: { reason: 'the image sends prompts to a third party' },
    }),
    success: 200,
  },

  'GET /v1/evaluations/{id}': {
    audience: 'owner',
    targets: (f) => evaluationTargets(f, { owner: 200, admin: 200 }),
    reviewer: 403,
    mutates: false,
  },
  // A stranger's or a reviewer's delete is refused like a missing evaluation's; the owner's is tested in evaluationDelete.test.ts.
  'DELETE /v1/evaluations/{id}': {
    audience: 'owner',
    targets: (f) => evaluationTargets(f, undefined),
    reviewer: 403,
    mutates: true,
  },
  'POST /v1/evaluations/{id}/copy': {
    audience: 'owner',
    targets: (f) => evaluationTargets(f, undefined),
    reviewer: 403,
    mutates: true,
    body: { modelName: 'copied-by-someone-else' },
  },
  'PATCH /v1/evaluations/{id}': {
    audience: 'owner',
    targets: (f) => evaluationTargets(f, undefined),
    reviewer: 403,
    mutates: true,
    body: { description: 'changed by someone else' },
  },
  'POST /v1/evaluations/{id}/verifications': {
    audience: 'owner',
    targets: (f) => evaluationTargets(f, undefined),
    reviewer: 403,
    mutates: true,
    body: { samplesPerDataset: 1 },
  },
  'POST /v1/evaluations/{id}/runs': {
    audience: 'owner',
    targets: (f) => evaluationTargets(f, undefined),
    reviewer: 403,
    mutates: true,
  },
  'PUT /v1/evaluations/{id}/predictions/{datasetId}': {
    audience: 'owner',
    targets: (f) =>
      evaluationTargets(f, undefined).map((t) => ({
        ...t,
        params: { ...t.params, datasetId: ARITH_BASIC_ID },
        ghosts: t.ghosts.map((g) => ({ ...g, datasetId: ARITH_BASIC_ID })),
      })),
    reviewer: 403,
    mutates: true,
    body: { jsonl: JSON.stringify({ id: 'q1', prediction: 'yes' }) },
  },
  'GET /v1/evaluations/{id}/predictions': {
    audience: 'owner',
    targets: (f) => evaluationTargets(f, { owner: 200, admin: 200 }),
    reviewer: 403,
    mutates: false,
  },
  'GET /v1/evaluations/{id}/estimate': {
    audience: 'owner',
    targets: (f) => evaluationTargets(f, { owner: 200, admin: 200 }),
    reviewer: 403,
    mutates: false,
  },
  'GET /v1/evaluations/{id}/runs': {
    audience: 'owner',
    targets: (f) => evaluationTargets(f, { owner: 200, admin: 200 }),
    reviewer: 403,
    mutates: false,
  },
  'POST /v1/evaluations/{id}/upload-token': {
    audience: 'owner',
    targets: (f) => evaluationTargets(f, undefined),
    reviewer: 403,
    mutates: true,
  },
  'GET /v1/evaluations/{id}/upload-tokens': {
    audience: 'owner',
    targets: (f) => evaluationTargets(f, { owner: 200, admin: 200 }),
    reviewer: 403,
    mutates: false,
  },
  'DELETE /v1/evaluations/{id}/upload-tokens/{tokenId}': {
    audience: 'owner',
    targets: (f) => [
      {
        label: "A's token of A's private evaluation",
        params: { id: f.evalPrivate, tokenId: f.spareTokenA.id },
        ghosts: [
          { id: uuid(), tokenId: f.spareTokenA.id },
          { id: uuid(), tokenId: uuid() },
        ],
      },
      // B names its own evaluation and A's token: the token is looked up within B's evaluation only.
      {
        label: "A's token through B's own evaluation",
        params: { id: f.evalPrivateB, tokenId: f.spareTokenA.id },
        ghosts: [{ id: f.evalPrivateB, tokenId: uuid() }],
      },
    ],
    reviewer: 403,
    mutates: true,
  },
  'GET /v1/evaluations/{id}/scoring': {
    audience: 'owner',
    targets: (f) => evaluationTargets(f, { owner: 200, admin: 200 }),
    reviewer: 403,
    mutates: false,
  },
  'PUT /v1/evaluations/{id}/scoring': {
    audience: 'owner',
    targets: (f) => evaluationTargets(f, undefined),
    reviewer: 403,
    mutates: true,
    body: { default: { metric: 'f1' } },
  },
  // Scores the samples it is given and stores nothing: A and an admin get the steps.
  'POST /v1/evaluations/{id}/scoring/debug': {
    audience: 'owner',
    targets: (f) => evaluationTargets(f, { owner: 200, admin: 200 }),
    reviewer: 403,
    mutates: false,
    body: {
      config: { default: { metric: 'exact_match' } },
      samples: [{ question: 'Say yes.', prediction: 'yes', reference: 'yes' }],
    },
  },
  // Calls the endpoint from an inference worker and stores nothing. No worker runs here, but the test
  // run's other files share the Temporal server, so whether A gets a report or a 503 is not fixed:
  // only strangers and reviewers are checked (test/api/endpointCheck.test.ts has the rest).
  'POST /v1/evaluations/{id}/endpoint-check': {
    audience: 'owner',
    targets: (f) => evaluationTargets(f, undefined),
    reviewer: 403,
    mutates: false,
  },
  'GET /v1/evaluations/{id}/uploads': {
    audience: 'owner',
    targets: (f) => evaluationTargets(f, { owner: 200, admin: 200 }),
    reviewer: 403,
    mutates: false,
  },
  'GET /v1/evaluations/{id}/uploads/{version}': {
    audience: 'owner',
    targets: versionTargets,
    reviewer: 403,
    mutates: false,
  },
  'GET /v1/evaluations/{id}/uploads/{version}/files': {
    audience: 'owner',
    targets: versionTargets,
    reviewer: 403,
    mutates: false,
    query: '?path=/',
  },

  'GET /v1/runs/{runId}': {
    audience: 'owner',
    targets: (f) => runTargets(f, { owner: 200, admin: 200 }),
    reviewer: 403,
    mutates: false,
  },
  'GET /v1/runs/{runId}/config': {
    audience: 'owner',
    targets: (f) => runTargets(f, { owner: 200, admin: 200 }),
    reviewer: 403,
    mutates: false,
  },
  'POST /v1/runs/{runId}/stop': {
    audience: 'owner',
    targets: (f) => runTargets(f, undefined),
    reviewer: 403,
    mutates: true,
  },
  'GET /v1/runs/{runId}/results': {
    audience: 'owner',
    targets: (f) => runTargets(f, { owner: 200, admin: 200 }),
    reviewer: 403,
    mutates: false,
  },
  'GET /v1/runs/{runId}/results.jsonl': {
    audience: 'owner',
    targets: (f) => runTargets(f, { owner: 200, admin: 200 }),
    reviewer: 403,
    mutates: false,
  },
  'GET /v1/runs/{runId}/logs': {
    audience: 'owner',
    targets: (f) => runTargets(f, { owner: 200, admin: 200 }),
    reviewer: 403,
    mutates: false,
  },
  // The run has not ended, so its owner is told 409 (no report yet); a stranger must not learn even that.
  // The owner's answer (409: the run has not succeeded) is not a stranger's to learn; an admin is 403 (owners only).
  'POST /v1/runs/{runId}/leaderboard': {
    audience: 'owner',
    targets: (f) => runTargets(f, undefined),
    reviewer: 403,
    mutates: true,
    body: { mode: 'named' },
  },
  // Fixture runs have no subjective dataset under review: their owner and an admin are told so (404).
  'GET /v1/runs/{runId}/manual-evaluation': {
    audience: 'owner',
    targets: (f) => runTargets(f, { owner: 404, admin: 404 }),
    reviewer: 403,
    mutates: false,
  },
  'POST /v1/runs/{runId}/manual-evaluation': {
    audience: 'owner',
    targets: (f) => runTargets(f, undefined),
    reviewer: 403,
    mutates: true,
  },
  // Against a reference run that does not exist: A and an admin get a 400 naming it (test/api/runComparison.test.ts has the rest).
  'GET /v1/runs/{runId}/comparison': {
    audience: 'owner',
    targets: (f) => runTargets(f, { owner: 400, admin: 400 }),
    reviewer: 403,
    query: `?against=${randomUUID()}&dataset=${ARITH_BASIC_ID}`,
    mutates: false,
  },
  'GET /v1/runs/{runId}/comparison.xlsx': {
    audience: 'owner',
    targets: (f) => runTargets(f, { owner: 400, admin: 400 }),
    reviewer: 403,
    query: `?against=${randomUUID()}&dataset=${ARITH_BASIC_ID}`,
    mutates: false,
  },
  // A's runs are not inference-only: 409 (field mode) for A and an admin alike.
  'GET /v1/runs/{runId}/predictions': {
    audience: 'owner',
    targets: (f) => runTargets(f, { owner: 409, admin: 409 }),
    reviewer: 403,
    mutates: false,
  },
  'GET /v1/runs/{runId}/predictions/{datasetId}': {
    audience: 'owner',
    targets: (f) =>
      runTargets(f, { owner: 409, admin: 409 }).map((t) => ({
        ...t,
        params: { ...t.params, datasetId: ARITH_BASIC_ID },
        ghosts: t.ghosts.map((g) => ({ ...g, datasetId: ARITH_BASIC_ID })),
      })),
    reviewer: 403,
    mutates: false,
  },
  'GET /v1/runs/{runId}/report.xlsx': {
    audience: 'owner',
    targets: (f) => runTargets(f, { owner: 409, admin: 409 }),
    reviewer: 403,
    mutates: false,
  },

  'GET /v1/comparisons/{id}': {
    audience: 'owner',
    targets: (f) => comparisonTargets(f, { owner: 200, admin: 200 }),
    reviewer: 403,
    mutates: false,
  },
  'GET /v1/comparisons/{id}/ranking': {
    audience: 'owner',
    targets: (f) => comparisonTargets(f, { owner: 200, admin: 200 }),
    reviewer: 403,
    mutates: false,
  },
  'PUT /v1/comparisons/{id}/weights': {
    audience: 'owner',
    targets: (f) => comparisonTargets(f, undefined),
    reviewer: 403,
    mutates: true,
    body: { datasets: { [ARITH_BASIC_ID]: 2 } },
  },
  'POST /v1/comparisons/{id}/stop': {
    audience: 'owner',
    targets: (f) => comparisonTargets(f, undefined),
    reviewer: 403,
    mutates: true,
  },

  // No role gate: everyone sees preloaded images; a user's import is its owner's (and admins').
  'GET /v1/images/{id}': {
    audience: 'owner',
    targets: (f) => [
      {
        label: "A's imported image",
        params: { id: f.imageA },
        ghosts: [{ id: uuid() }, { id: 'not-an-image' }],
        read: { owner: 200, admin: 200 },
      },
    ],
    reviewer: 404,
    mutates: false,
  },

  // Reviews of A's runs, made in the database (no worker runs here); not launched, so scores and completion are refused (409) once admitted.
  'GET /v1/reviews': { audience: 'reviewer', request: () => ({ path: '/v1/reviews' }), success: 200 },
  'GET /v1/reviews/{reviewId}': {
    audience: 'reviewer',
    request: async (f) => ({ path: `/v1/reviews/${await reviewOfA(f)}` }),
    success: 200,
  },
  'POST /v1/reviews/{reviewId}/scores': {
    audience: 'reviewer',
    request: async (f) => ({
      path: `/v1/reviews/${await reviewOfA(f)}/scores`,
      body: { scores: [{ dataset: 'd', itemId: 'i', score: 1 }] },
    }),
    success: 409,
  },
  'POST /v1/reviews/{reviewId}/complete': {
    audience: 'reviewer',
    request: async (f) => ({ path: `/v1/reviews/${await reviewOfA(f)}/complete` }),
    success: 409,
  },
  'POST /v1/reviews/{reviewId}/abandon': {
    audience: 'adminOnly',
    request: async (f) => ({ path: `/v1/reviews/${await reviewOfA(f)}/abandon`, body: {} }),
    success: 200,
  },

  'PUT /v1/upload': {
    audience: 'uploadToken',
    request: tarRequest('/v1/upload', [...demoEntries(), { name: 'someone-else.txt', content: 'x\n' }]),
  },
  'POST /v1/upload/cp': {
    audience: 'uploadToken',
    request: tarRequest('/v1/upload/cp?to=extra', [{ name: 'someone-else.txt', content: 'x\n' }]),
  },
  'PUT /v1/upload/files': {
    audience: 'uploadToken',
    request: () => ({
      path: '/v1/upload/files?path=someone-else.txt',
      raw: { contentType: 'application/octet-stream', data: 'x\n' },
    }),
  },
  'GET /v1/upload/ls': { audience: 'uploadToken', request: () => ({ path: '/v1/upload/ls' }) },

  'GET /api/evaluations/models/files': {
    audience: 'flagevalToken',
    request: (token) => ({ path: `/api/evaluations/models/files${tokenQuery(token, '?')}` }),
  },
  'POST /api/evaluations/models/files': {
    audience: 'flagevalToken',
    request: (token) => ({
      path: '/api/evaluations/models/files',
      body: { ...(token === undefined ? {} : { token }), files: [{ filename: 'someone-else.txt', sizeKb: 1 }] },
    }),
  },
  'POST /api/evaluations/models/files/{fileId}/chunks': {
    audience: 'flagevalToken',
    request: (token) => ({
      path: `/api/evaluations/models/files/1/chunks?chunk_num=1&is_update=0${tokenQuery(token, '&')}`,
      raw: multipartChunk('x\n'),
    }),
  },
  'POST /api/evaluations/manage/op_file': {
    audience: 'flagevalToken',
    request: (token) => ({
      path: '/api/evaluations/manage/op_file',
      raw: {
        contentType: 'application/x-www-form-urlencoded',
        data: `command=ls&src_path=%2F${tokenQuery(token, '&')}`,
      },
    }),
  },
};

function tokenQuery(token: string | undefined, separator: '?' | '&'): string {
  return token === undefined ? '' : `${separator}token=${encodeURIComponent(token)}`;
}

/** A chunk as the flageval-serving CLI sends one: the multipart field `file`. */
function multipartChunk(content: string): { contentType: string; data: Buffer } {
  const boundary = 'proctor-access-matrix';
  return {
    contentType: `multipart/form-data; boundary=${boundary}`,
    data: Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="someone-else.txt"\r\n` +
        `Content-Type: application/octet-stream\r\n\r\n${content}\r\n--${boundary}--\r\n`,
    ),
  };
}

const entriesOf = <A extends RouteSpec['audience']>(audience: A) =>
  Object.entries(ROUTES).filter(
    (entry): entry is [string, RouteSpec & { audience: A }] => entry[1].audience === audience,
  );
const methodOf = (key: string) => key.split(' ')[0]!;
const templateOf = (key: string) => key.slice(key.indexOf(' ') + 1);
/** The route's method, and HEAD for a GET route (fastify answers HEAD with the GET handler). */
const methodsOf = (key: string) => (methodOf(key) === 'GET' ? ['GET', 'HEAD'] : [methodOf(key)]);

const INVALID_TOKEN = 'Bearer error="invalid_token"';

let api: TestApi;
let uploadDir: string;
let f: Fixture;
/** The API's clock runs this far ahead of the real one (to expire upload tokens). */
let clockOffsetMs = 0;
const launchedWorkflows: string[] = [];
/** Every response body the tests saw, scanned for secrets at the end. */
const seen: string[] = [];

async function send(method: string, req: Req, authorization?: string): Promise<Response> {
  const headers: Record<string, string> = {};
  if (authorization !== undefined) headers.authorization = authorization;
  let payload: Buffer | string | undefined;
  if (req.raw) {
    headers['content-type'] = req.raw.contentType;
    payload = req.raw.data;
  } else if (req.body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(req.body);
  }
  const res = await fetch(`${api.url}${req.path}`, { method, headers, body: payload });
  const text = await res.text();
  seen.push(text);
  const json = /\bjson\b/.test(res.headers.get('content-type') ?? '');
  return { status: res.status, headers: res.headers, text, body: json && text ? JSON.parse(text) : text };
}

const as = (actor: Actor) => `Bearer ${actor.apiKey}`;

/** What tells two answers apart, to a caller who should learn nothing from the difference. */
function observable(method: string, res: Response) {
  return { status: res.status, contentType: res.headers.get('content-type'), text: method === 'HEAD' ? '' : res.text };
}

function importImageBody(): Record<string, unknown> {
  return {
    name: `acl-${uuid().slice(0, 8)}`,
    tag: 'v1',
    url: 'nvcr.io/nvidia/pytorch:23.03-py3',
    dockerfile: 'FROM nvcr.io/nvidia/pytorch:23.03-py3\nRUN pip install --no-cache-dir transformers==4.31.0\n',
    domains: ['nlp'],
  };
}

async function importImage(owner: Actor): Promise<string> {
  const res = await send('POST', { path: '/v1/images', body: importImageBody() }, as(owner));
  if (res.status !== 201) throw new Error(`could not import an image: ${res.status} ${res.text}`);
  return res.body.id as string;
}

/** An image the owner imports and the admin approves, ready to be taken down. */
async function approvedImage(owner: Actor, admin: Actor): Promise<string> {
  const id = await importImage(owner);
  const res = await send('POST', { path: `/v1/images/${id}/approve` }, as(admin));
  if (res.status !== 200) throw new Error(`could not approve an image: ${res.status} ${res.text}`);
  return id;
}

async function launch(owner: Actor, evaluationId: string, kind: 'verifications' | 'runs'): Promise<string> {
  const res = await send(
    'POST',
    {
      path: `/v1/evaluations/${evaluationId}/${kind}`,
      body: kind === 'verifications' ? { samplesPerDataset: 1 } : undefined,
    },
    as(owner),
  );
  if (res.status !== 202) throw new Error(`could not launch: ${res.status} ${res.text}`);
  launchedWorkflows.push(res.body.workflowId);
  return res.body.runId as string;
}

async function compare(owner: Actor, evaluationIds: string[]): Promise<string> {
  const res = await send(
    'POST',
    { path: '/v1/comparisons', body: { name: 'A compares', evaluationIds, datasets: [ARITH_BASIC_ID] } },
    as(owner),
  );
  if (res.status !== 201) throw new Error(`could not create a comparison: ${res.status} ${res.text}`);
  for (const model of res.body.models as { runId: string }[]) launchedWorkflows.push(workflowIds.run(model.runId));
  return res.body.comparisonId as string;
}

async function createEvaluation(owner: Actor, body: Record<string, unknown>): Promise<string> {
  const res = await send('POST', { path: '/v1/evaluations', body }, as(owner));
  if (res.status !== 201) throw new Error(`could not create an evaluation: ${res.status} ${res.text}`);
  return res.body.id as string;
}

async function upload(token: string, entries: Parameters<typeof tarOf>[0]): Promise<Response> {
  return send(
    'PUT',
    { path: '/v1/upload', raw: { contentType: 'application/x-tar', data: await tarOf(entries) } },
    `Bearer ${token}`,
  );
}

/** A's things, the other users' things, and the platform's counts: what no refused request may change. */
interface World {
  a: OwnedState;
  others: OwnedState[];
  totals: Record<string, number>;
}

async function world(): Promise<World> {
  const db = api.deps.db;
  const [totals] = await db.execute<Record<string, number>>(sql`
    select (select count(*) from users)::int as users, (select count(*) from api_keys)::int as api_keys,
           (select count(*) from evaluations)::int as evaluations, (select count(*) from runs)::int as runs,
           (select count(*) from images)::int as images, (select count(*) from datasets)::int as datasets,
           (select count(*) from upload_tokens)::int as upload_tokens, (select count(*) from upload_versions)::int as upload_versions,
           (select count(*) from resumable_uploads)::int as resumable_uploads,
           (select count(*) from quota_usage)::int as quota_rows, (select coalesce(sum(used), 0) from quota_usage)::int as quota_used,
           (select count(*) from comparisons)::int as comparisons, (select count(*) from comparisons where stop_requested_at is not null)::int as comparisons_stopped,
           (select md5(coalesce(string_agg(weights::text, ',' order by id), '')) from comparisons) as comparison_weights`);
  return {
    a: await ownedState(db, f.a.id, uploadDir, [f.b.id, f.reviewer.id, f.admin.id]),
    others: await Promise.all([f.b, f.reviewer].map((actor) => ownedState(db, actor.id, uploadDir))),
    totals: { ...totals! },
  };
}

beforeAll(async () => {
  uploadDir = useFreshUploadDir();
  api = await startApi({ now: () => new Date(Date.now() + clockOffsetMs) });
  const [a, b, reviewer, revoked] = await Promise.all([
    api.createUser('user'),
    api.createUser('user'),
    api.createUser('reviewer'),
    api.createUser('user'),
  ]);
  const [{ userId: adminId }] = await api.deps.db.execute<{ userId: string }>(
    sql`select user_id as "userId" from api_keys where key_hash = ${hashApiKey(api.adminKey)}`,
  );
  await api.deps.db.execute(sql`update api_keys set revoked_at = now() where user_id = ${revoked.id}`);
  const actors = {
    a: { ...a, role: 'user' as const },
    b: { ...b, role: 'user' as const },
    reviewer: { ...reviewer, role: 'reviewer' as const },
    admin: { id: adminId!, apiKey: api.adminKey, role: 'admin' as const },
    revoked: { ...revoked, role: 'user' as const },
  };

  const modelApiKey = `sk-matrix-${uuid()}`;
  const datasetA = await registerDataset(api, a.apiKey, 'nlp');
  const platformImage = await platformImageId(api, a.apiKey);
  const evalApi = await createEvaluation(
    actors.a,
    nlpEvaluationBody({
      datasets: [datasetA, ARITH_BASIC_ID],
      deployment: {
        method: 'api',
        endpoint: 'http://127.0.0.1:9/v1',
        onlineModelName: 'm',
        apiKey: modelApiKey,
        apiMode: 'chat',
      },
    }),
  );
  const evalPrivate = await createEvaluation(
    actors.a,
    nlpEvaluationBody({ deployment: privateDeploymentBody(api, platformImage) }),
  );
  const evalPrivateB = await createEvaluation(
    actors.b,
    nlpEvaluationBody({ deployment: privateDeploymentBody(api, platformImage) }),
  );
  const imageA = await importImage(actors.a);

  const tokenA = await issueToken(api, a.apiKey, evalPrivate);
  const uploaded = await upload(tokenA, [...demoEntries(), { name: 'a-only.txt', content: "A's file\n" }]);
  if (uploaded.status !== 201) throw new Error(`could not upload: ${uploaded.status} ${uploaded.text}`);
  const spare = await send('POST', { path: `/v1/evaluations/${evalPrivate}/upload-token` }, as(actors.a));
  if (spare.status !== 201) throw new Error(`could not issue an upload token: ${spare.status} ${spare.text}`);
  const revokedTokenA = await issueToken(api, a.apiKey, evalPrivate);
  const tokens = (await send('GET', { path: `/v1/evaluations/${evalPrivate}/upload-tokens` }, as(actors.a))).body as {
    tokenId: string;
    prefix: string;
  }[];
  const revokedRow = tokens.find((t) => revokedTokenA.startsWith(t.prefix));
  const revocation = await send(
    'DELETE',
    { path: `/v1/evaluations/${evalPrivate}/upload-tokens/${revokedRow!.tokenId}` },
    as(actors.a),
  );
  if (revocation.status !== 204) throw new Error(`could not revoke: ${revocation.status} ${revocation.text}`);
  const tokenB = await issueToken(api, b.apiKey, evalPrivateB);

  f = {
    ...actors,
    modelApiKey,
    datasetA,
    evalApi,
    evalPrivate,
    evalPrivateB,
    verificationRun: await launch(actors.a, evalApi, 'verifications'),
    formalRun: await launch(actors.a, evalApi, 'runs'),
    comparison: await compare(actors.a, [evalApi, await createEvaluation(actors.a, nlpEvaluationBody())]),
    imageA,
    platformImage,
    tokenA,
    spareTokenA: { id: spare.body.tokenId, token: spare.body.token },
    revokedTokenA,
    tokenB,
  };
});

afterAll(async () => {
  for (const id of launchedWorkflows) {
    await api.deps.temporal.workflow
      .getHandle(id)
      .terminate('test finished')
      .catch(() => {});
  }
  await api?.close();
});

describe('the route table', () => {
  it('classifies every route the app serves and the OpenAPI document lists, and no route that is gone', async () => {
    const served = servedRoutes(api.app);
    expect(served.length).toBeGreaterThan(30);
    const keys = new Set(served.map(routeKey));
    const unclassified = [...keys].filter((key) => {
      if (ROUTES[key]) return false;
      // fastify adds HEAD for each GET; it runs the GET route's hooks and handler.
      return !(key.startsWith('HEAD ') && ROUTES[`GET ${templateOf(key)}`] && keys.has(`GET ${templateOf(key)}`));
    });
    expect(unclassified, 'routes the app serves that ROUTES does not classify').toEqual([]);
    expect(
      Object.keys(ROUTES).filter((key) => !keys.has(key)),
      'ROUTES entries the app no longer serves',
    ).toEqual([]);

    const doc = (await send('GET', { path: '/openapi.json' })).body;
    expect(
      documentedRoutes(doc)
        .map(routeKey)
        .filter((key) => !ROUTES[key]),
      'documented routes that ROUTES does not classify',
    ).toEqual([]);
  });

  for (const [key, spec] of entriesOf('reviewer')) {
    it(`${key}: 403 for users, whatever they name, and nothing changes; reviewers and admins are answered`, async () => {
      const req = await spec.request(f);
      const before = await world();
      for (const actor of [f.a, f.b]) {
        const res = await send(methodOf(key), req, as(actor));
        expect(res.status, `as ${actor.role}: ${res.text}`).toBe(403);
        expect(res.body.detail).toBe(`this needs the role reviewer or admin; your role is ${actor.role}`);
      }
      expect(await world()).toEqual(before);
      for (const actor of [f.reviewer, f.admin]) {
        const admitted = await send(methodOf(key), req, as(actor));
        expect(admitted.status, `as ${actor.role}: ${admitted.text}`).toBe(spec.success);
      }
    });
  }
});

describe('without a valid API key', () => {
  const credentials = (): { label: string; authorization?: string; challenge: string }[] => [
    { label: 'no Authorization header', challenge: 'Bearer' },
    { label: 'an empty bearer', authorization: 'Bearer', challenge: INVALID_TOKEN },
    {
      label: 'Basic credentials',
      authorization: `Basic ${Buffer.from(`${f.a.id}:${f.a.apiKey}`).toString('base64')}`,
      challenge: INVALID_TOKEN,
    },
    { label: 'the key without its scheme', authorization: f.a.apiKey, challenge: INVALID_TOKEN },
    { label: 'two words after Bearer', authorization: `Bearer ${f.a.apiKey} ${f.a.apiKey}`, challenge: INVALID_TOKEN },
    {
      label: "A's key with its last character changed",
      authorization: `Bearer ${f.a.apiKey.slice(0, -1)}${f.a.apiKey.endsWith('A') ? 'B' : 'A'}`,
      challenge: INVALID_TOKEN,
    },
    { label: 'a revoked key', authorization: as(f.revoked), challenge: INVALID_TOKEN },
    { label: "A's upload token", authorization: `Bearer ${f.tokenA}`, challenge: INVALID_TOKEN },
  ];

  const keyed = Object.entries(ROUTES).filter(
    ([, spec]) => spec.audience !== 'public' && spec.audience !== 'uploadToken' && spec.audience !== 'flagevalToken',
  );
  for (const [key, spec] of keyed) {
    it(`${key}: 401 with a challenge, and nothing changes`, async () => {
      const req: Req =
        spec.audience === 'owner'
          ? (() => {
              const target = spec.targets(f)[0]!;
              return { path: fillPath(templateOf(key), target.params) + (spec.query ?? ''), body: spec.body };
            })()
          : await (spec as Extract<RouteSpec, { request: (f: Fixture) => unknown }>).request(f);
      const before = await world();
      for (const method of methodsOf(key)) {
        for (const credential of credentials()) {
          const res = await send(method, req, credential.authorization);
          expect(res.status, `${method} with ${credential.label}`).toBe(401);
          expect(res.headers.get('www-authenticate'), `${method} with ${credential.label}`).toBe(credential.challenge);
          expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        }
      }
      expect(await world()).toEqual(before);
    });
  }

  for (const [key, spec] of entriesOf('public')) {
    it(`${key} is public: answered whatever credentials are sent`, async () => {
      for (const method of methodsOf(key)) {
        for (const credential of credentials()) {
          const res = await send(method, spec.request(f), credential.authorization);
          expect(res.status, `${method} with ${credential.label}`).toBe(200);
        }
      }
    });
  }
});

describe('routes by role', () => {
  for (const [key, spec] of entriesOf('authenticated')) {
    it(`${key}: every role is answered`, async () => {
      for (const actor of [f.a, f.b, f.reviewer, f.admin]) {
        for (const method of methodsOf(key)) {
          const res = await send(method, await spec.request(f), as(actor));
          expect(res.status, `${method} as ${actor.role}: ${res.text}`).toBe(method === 'HEAD' ? 200 : spec.success);
        }
      }
    });
  }

  for (const [key, spec] of entriesOf('userOrAdmin')) {
    it(`${key}: users and admins are answered, a reviewer gets 403 and nothing changes`, async () => {
      for (const method of methodsOf(key)) {
        const req = await spec.request(f);
        const before = await world();
        const refused = await send(method, req, as(f.reviewer));
        expect(refused.status, refused.text).toBe(403);
        expect(await world()).toEqual(before);
        for (const actor of [f.a, f.b, f.admin]) {
          const res = await send(method, await spec.request(f), as(actor));
          expect(res.status, `${method} as ${actor.role}: ${res.text}`).toBe(method === 'HEAD' ? 200 : spec.success);
        }
      }
    });
  }

  for (const [key, spec] of entriesOf('adminOnly')) {
    it(`${key}: 403 for users and reviewers, whatever they name, and nothing changes; an admin is answered`, async () => {
      const req = await spec.request(f);
      const before = await world();
      for (const actor of [f.a, f.b, f.reviewer]) {
        const res = await send(methodOf(key), req, as(actor));
        expect(res.status, `as ${actor.role}: ${res.text}`).toBe(403);
        expect(res.body.detail).toBe(`this needs the role admin; your role is ${actor.role}`);
      }
      expect(await world()).toEqual(before);
      const admitted = await send(methodOf(key), req, as(f.admin));
      expect(admitted.status, admitted.text).toBe(spec.success);
    });
  }
});

describe("A's things, asked for by others", () => {
  for (const [key, spec] of entriesOf('owner')) {
    it(`${key}: another user gets the 404 of a missing one, a reviewer ${spec.reviewer}, and nothing changes${spec.mutates ? '' : '; A and an admin read it'}`, async () => {
      for (const target of spec.targets(f)) {
        const request = (params: Record<string, string | number>): Req => ({
          path: fillPath(templateOf(key), params) + (spec.query ?? ''),
          body: spec.body,
        });
        for (const method of methodsOf(key)) {
          const where = `${method} on ${target.label}`;
          const before = await world();
          for (const [actor, expected] of [
            [f.b, 404],
            [f.reviewer, spec.reviewer],
          ] as const) {
            const res = await send(method, request(target.params), as(actor));
            expect(res.status, `${where} as ${actor.role}: ${res.text}`).toBe(expected);
            for (const ghost of target.ghosts) {
              const missing = await send(method, request(ghost), as(actor));
              expect(observable(method, res), `${where} as ${actor.role}, against ${JSON.stringify(ghost)}`).toEqual(
                observable(method, missing),
              );
            }
          }
          expect(await world(), `${where}: a refusal changed something`).toEqual(before);

          if (target.read) {
            const owner = await send(method, request(target.params), as(f.a));
            expect(owner.status, `${where} as the owner: ${owner.text}`).toBe(target.read.owner);
            const admin = await send(method, request(target.params), as(f.admin));
            expect(admin.status, `${where} as an admin: ${admin.text}`).toBe(target.read.admin);
            if (method === 'GET') expect(admin.text).toBe(owner.text);
            for (const ghost of target.ghosts)
              expect((await send(method, request(ghost), as(f.admin))).status).toBe(404);
          }
        }
      }
    });
  }
});

describe('what the owner and admins may change', () => {
  it('A and an admin edit A’s evaluation', async () => {
    for (const actor of [f.a, f.admin]) {
      const res = await send(
        'PATCH',
        { path: `/v1/evaluations/${f.evalApi}`, body: { description: `edited by ${actor.role}` } },
        as(actor),
      );
      expect(res.status, res.text).toBe(200);
      expect(res.body.description).toBe(`edited by ${actor.role}`);
      expect(res.body.ownerId).toBe(f.a.id);
    }
  });

  it("an admin launches runs of A's evaluation: they are A's runs, and a formal one takes A's quota", async () => {
    const quotaOf = async (actor: Actor) =>
      (await send('GET', { path: '/v1/me' }, as(actor))).body.quota.formal.used as number;
    const [aBefore, adminBefore] = [await quotaOf(f.a), await quotaOf(f.admin)];
    const verification = await launch(f.admin, f.evalApi, 'verifications');
    const formal = await launch(f.admin, f.evalApi, 'runs');
    expect([await quotaOf(f.a), await quotaOf(f.admin)]).toEqual([aBefore + 1, adminBefore]);
    for (const runId of [verification, formal]) {
      const seenByA = await send('GET', { path: `/v1/runs/${runId}` }, as(f.a));
      expect(seenByA.status).toBe(200);
      expect((await send('GET', { path: `/v1/runs/${runId}` }, as(f.b))).status).toBe(404);
    }
  });

  it('only A issues upload tokens for A’s evaluation; an admin may list and revoke them', async () => {
    const byAdmin = await send('POST', { path: `/v1/evaluations/${f.evalPrivate}/upload-token` }, as(f.admin));
    expect(byAdmin.status).toBe(403);
    expect(byAdmin.body.detail).toBe('only the evaluation’s owner may issue upload tokens for it');
    const revoked = await send(
      'DELETE',
      { path: `/v1/evaluations/${f.evalPrivate}/upload-tokens/${f.spareTokenA.id}` },
      as(f.admin),
    );
    expect(revoked.status, revoked.text).toBe(204);
    const listed = await send('GET', { path: `/v1/evaluations/${f.evalPrivate}/upload-tokens` }, as(f.a));
    expect(listed.body.find((t: { tokenId: string }) => t.tokenId === f.spareTokenA.id).revokedAt).not.toBeNull();
    expect((await send('GET', { path: '/v1/upload/ls' }, `Bearer ${f.spareTokenA.token}`)).status).toBe(401);
  });

  it('A and an admin stop A’s runs', async () => {
    const byOwner = await send('POST', { path: `/v1/runs/${f.verificationRun}/stop` }, as(f.a));
    expect(byOwner.status, byOwner.text).toBe(202);
    const byAdmin = await send('POST', { path: `/v1/runs/${f.formalRun}/stop` }, as(f.admin));
    expect(byAdmin.status, byAdmin.text).toBe(202);
  });
});

describe('lists show the caller’s own (admins: everyone’s)', () => {
  async function evaluationIds(actor: Actor): Promise<string[]> {
    const ids: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 100; page++) {
      const res: Response = await send(
        'GET',
        { path: `/v1/evaluations?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}` },
        as(actor),
      );
      expect(res.status).toBe(200);
      ids.push(...res.body.items.map((e: { id: string }) => e.id));
      cursor = res.body.nextCursor;
      if (!cursor) return ids;
    }
    throw new Error('more than 100 pages of evaluations');
  }

  it('evaluations', async () => {
    const mine = [f.evalApi, f.evalPrivate];
    expect(await evaluationIds(f.a)).toEqual(expect.arrayContaining(mine));
    expect(await evaluationIds(f.admin)).toEqual(expect.arrayContaining([...mine, f.evalPrivateB]));
    const bSees = await evaluationIds(f.b);
    expect(bSees).toContain(f.evalPrivateB);
    for (const id of mine) expect(bSees).not.toContain(id);
  });

  it('custom datasets', async () => {
    const ids = async (actor: Actor) =>
      ((await send('GET', { path: '/v1/datasets' }, as(actor))).body.items as { id: string }[]).map((d) => d.id);
    for (const actor of [f.a, f.admin]) expect(await ids(actor)).toContain(f.datasetA);
    for (const actor of [f.b, f.reviewer]) {
      const visible = await ids(actor);
      expect(visible).toContain(ARITH_BASIC_ID);
      expect(visible).not.toContain(f.datasetA);
    }
  });

  it('imported images (preloaded ones are everyone’s)', async () => {
    const ids = async (actor: Actor) =>
      ((await send('GET', { path: '/v1/images' }, as(actor))).body.items as { id: string }[]).map((i) => i.id);
    for (const actor of [f.a, f.admin])
      expect(await ids(actor)).toEqual(expect.arrayContaining([f.imageA, f.platformImage]));
    for (const actor of [f.b, f.reviewer]) {
      const visible = await ids(actor);
      expect(visible).toContain(f.platformImage);
      expect(visible).not.toContain(f.imageA);
      expect((await send('GET', { path: `/v1/images/${f.platformImage}` }, as(actor))).status).toBe(200);
    }
  });
});

describe("A's things named in another user's request body", () => {
  it('a dataset of A is as unknown to B as one that does not exist', async () => {
    const ghost = `ds-nlp-${uuid().slice(0, 8)}`;
    const create = async (dataset: string) =>
      send('POST', { path: '/v1/evaluations', body: nlpEvaluationBody({ datasets: [dataset] }) }, as(f.b));
    const [named, missing] = [await create(f.datasetA), await create(ghost)];
    expect(named.status).toBe(400);
    expect(named.text.replaceAll(f.datasetA, '<id>')).toBe(missing.text.replaceAll(ghost, '<id>'));

    const before = await world();
    const edit = async (dataset: string) =>
      send('PATCH', { path: `/v1/evaluations/${f.evalPrivateB}`, body: { datasets: [dataset] } }, as(f.b));
    const [edited, editedMissing] = [await edit(f.datasetA), await edit(ghost)];
    expect(edited.status).toBe(400);
    expect(edited.text.replaceAll(f.datasetA, '<id>')).toBe(editedMissing.text.replaceAll(ghost, '<id>'));
    expect(await world()).toEqual(before);
  });

  // Another user's image must be answered like a missing one (ids must not tell the two apart).
  it('an image of A is as unknown to B as one that does not exist', async () => {
    const ghost = uuid();
    const create = async (imageId: string) =>
      send(
        'POST',
        { path: '/v1/evaluations', body: nlpEvaluationBody({ deployment: privateDeploymentBody(api, imageId) }) },
        as(f.b),
      );
    const [named, missing] = [await create(f.imageA), await create(ghost)];
    expect(named.status).toBe(400);
    expect(named.text.replaceAll(f.imageA, '<id>')).toBe(missing.text.replaceAll(ghost, '<id>'));
  });
});

describe('upload-token routes', () => {
  const tokenRoutes = () => entriesOf('uploadToken');

  it('refuse every credential but a valid upload token, with 401, and nothing changes', async () => {
    const credentials = [
      { label: 'no Authorization header', authorization: undefined },
      { label: "A's API key", authorization: as(f.a) },
      { label: "an admin's API key", authorization: as(f.admin) },
      { label: 'a token without its scheme', authorization: f.tokenA },
      { label: 'an unknown token', authorization: `Bearer pup_${'A'.repeat(43)}` },
      { label: "A's revoked token", authorization: `Bearer ${f.revokedTokenA}` },
    ];
    expect(tokenRoutes().length).toBeGreaterThanOrEqual(4);
    for (const [key, spec] of tokenRoutes()) {
      for (const method of methodsOf(key)) {
        for (const credential of credentials) {
          const before = await world();
          const res = await send(method, await spec.request(f), credential.authorization);
          expect(res.status, `${method} ${key} with ${credential.label}: ${res.text}`).toBe(401);
          // With no credentials at all RFC 6750 (3.1) wants a bare challenge, as API-key routes send;
          // upload-token routes send error="invalid_token" then too (reported), so that case is held
          // only to being a Bearer challenge.
          expect(res.headers.get('www-authenticate'), `${key} with ${credential.label}`).toEqual(
            credential.authorization === undefined ? expect.stringMatching(/^Bearer\b/) : INVALID_TOKEN,
          );
          expect(await world(), `${method} ${key} with ${credential.label}`).toEqual(before);
        }
      }
    }
  });

  it("refuse A's token once it has expired, and nothing changes", async () => {
    const ls = await send('GET', { path: '/v1/upload/ls' }, `Bearer ${f.tokenA}`);
    expect(ls.status, ls.text).toBe(200);
    const before = await world();
    clockOffsetMs = (api.deps.env.uploads.tokenTtlHours + 1) * 3_600_000;
    try {
      for (const [key, spec] of tokenRoutes()) {
        for (const method of methodsOf(key)) {
          const res = await send(method, await spec.request(f), `Bearer ${f.tokenA}`);
          expect(res.status, `${method} ${key}: ${res.text}`).toBe(401);
          expect(res.headers.get('www-authenticate')).toBe(INVALID_TOKEN);
          if (method !== 'HEAD') expect(res.body.detail).toMatch(/^the upload token expired at /);
        }
      }
    } finally {
      clockOffsetMs = 0;
    }
    expect(await world()).toEqual(before);
  });

  it("B's token acts on B's evaluation only: it never reaches A's versions", async () => {
    const before = await world();
    const bToken = `Bearer ${f.tokenB}`;
    // Unbound, B's token has no version to list, whatever A holds.
    expect((await send('GET', { path: '/v1/upload/ls' }, bToken)).status).toBe(409);
    const results = [];
    for (const [key, spec] of tokenRoutes()) {
      for (const method of methodsOf(key))
        results.push({ key: `${method} ${templateOf(key)}`, res: await send(method, await spec.request(f), bToken) });
    }
    for (const { key, res } of results) {
      expect(res.status, `${key}: ${res.text}`).toBeLessThan(300);
      if (res.body?.evaluationId !== undefined) expect(res.body.evaluationId, key).toBe(f.evalPrivateB);
    }
    const listed = await send('GET', { path: '/v1/upload/ls' }, bToken);
    const names = (listed.body as { path: string }[]).map((e) => e.path);
    expect(names).toContain('someone-else.txt');
    expect(names).not.toContain('a-only.txt');
    expect((await world()).a).toEqual(before.a);

    const aListed = await send('GET', { path: '/v1/upload/ls' }, `Bearer ${f.tokenA}`);
    expect((aListed.body as { path: string }[]).map((e) => e.path)).toContain('a-only.txt');
    expect((aListed.body as { path: string }[]).map((e) => e.path)).not.toContain('someone-else.txt');
  });
});

describe('flageval-serving CLI routes', () => {
  const cliRoutes = () => entriesOf('flagevalToken');

  it('refuse a missing, unknown, revoked or expired token, or an API key, with 401, and nothing changes', async () => {
    expect(cliRoutes().length).toBe(4);
    const before = await world();
    const credentials = [
      { label: 'no token', token: undefined, detail: /^send the upload token as token=pup_/ },
      { label: "A's API key", token: f.a.apiKey, detail: /^the upload token is unknown/ },
      { label: 'an unknown token', token: `pup_${'A'.repeat(43)}`, detail: /^the upload token is unknown/ },
      { label: "A's revoked token", token: f.revokedTokenA, detail: /^the upload token was revoked at / },
    ];
    for (const [key, spec] of cliRoutes()) {
      for (const method of methodsOf(key)) {
        for (const credential of credentials) {
          const res = await send(method, spec.request(credential.token), as(f.a));
          expect(res.status, `${method} ${key} with ${credential.label}: ${res.text}`).toBe(401);
          if (method !== 'HEAD') expect(res.body.detail, `${key} with ${credential.label}`).toMatch(credential.detail);
        }
      }
    }
    clockOffsetMs = (api.deps.env.uploads.tokenTtlHours + 1) * 3_600_000;
    try {
      for (const [key, spec] of cliRoutes()) {
        const res = await send(methodOf(key), spec.request(f.tokenA));
        expect(res.status, `${key}: ${res.text}`).toBe(401);
        expect(res.body.detail).toMatch(/^the upload token expired at /);
      }
    } finally {
      clockOffsetMs = 0;
    }
    expect(await world()).toEqual(before);
  });

  it("B's token never reaches A's uploads", async () => {
    const declared = await send('POST', {
      path: '/api/evaluations/models/files',
      body: { token: f.tokenA, files: [{ filename: 'a-pending.txt', sizeKb: 1 }] },
    });
    expect(declared.status, declared.text).toBe(201);
    const fileId = declared.body.results[0].id as number;
    const before = await world();
    const chunk = await send('POST', {
      path: `/api/evaluations/models/files/${fileId}/chunks?chunk_num=1&token=${encodeURIComponent(f.tokenB)}`,
      raw: multipartChunk('from B\n'),
    });
    expect(chunk.status, chunk.text).toBe(404);
    const pending = await send('GET', { path: `/api/evaluations/models/files?token=${encodeURIComponent(f.tokenB)}` });
    expect(pending.text).not.toContain('a-pending.txt');
    const listed = await send('POST', {
      path: '/api/evaluations/manage/op_file',
      raw: {
        contentType: 'application/x-www-form-urlencoded',
        data: `command=ls&src_path=%2F&token=${encodeURIComponent(f.tokenB)}`,
      },
    });
    expect(listed.status, listed.text).toBe(200);
    expect(listed.text).not.toContain('a-only.txt');
    expect(await world()).toEqual(before);
  });
});

describe('secrets at rest', () => {
  async function tablesContaining(secret: string): Promise<string[]> {
    const tables = await api.deps.db.execute<{ name: string }>(
      sql`select table_name as name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE' order by 1`,
    );
    const found: string[] = [];
    for (const { name } of tables) {
      const [row] = await api.deps.db.execute<{ n: number }>(
        sql`select count(*)::int as n from ${sql.identifier(name)} t where position(${secret} in t::text) > 0`,
      );
      if (row!.n > 0) found.push(name);
    }
    return found;
  }

  it('API keys are stored only as hashes', async () => {
    for (const actor of [f.a, f.b, f.reviewer, f.admin, f.revoked]) {
      expect(await tablesContaining(actor.apiKey), `${actor.role}'s key`).toEqual([]);
      const [row] = await api.deps.db.execute<{ n: number }>(
        sql`select count(*)::int as n from api_keys where key_hash = ${hashApiKey(actor.apiKey)}`,
      );
      expect(row!.n).toBe(1);
    }
  });

  it('upload tokens are stored only as hashes', async () => {
    for (const token of [f.tokenA, f.spareTokenA.token, f.revokedTokenA, f.tokenB]) {
      expect(await tablesContaining(token)).toEqual([]);
      const [row] = await api.deps.db.execute<{ n: number }>(
        sql`select count(*)::int as n from upload_tokens where token_hash = ${hashApiKey(token)}`,
      );
      expect(row!.n).toBe(1);
    }
  });

  it("the model's API key is stored only as ciphertext, in the evaluation and its runs", async () => {
    expect(await tablesContaining(f.modelApiKey)).toEqual([]);
    const ciphers = await api.deps.db.execute<{ cipher: string | null }>(sql`
      select api_key_cipher as cipher from evaluations where id = ${f.evalApi}
      union all select api_key_cipher from runs where evaluation_id = ${f.evalApi}`);
    expect(ciphers.length).toBeGreaterThanOrEqual(3);
    for (const { cipher } of ciphers) {
      expect(cipher).toMatch(/^v1\./);
      expect(openSecret(api.deps.env.secretKey, cipher!)).toBe(f.modelApiKey);
    }
  });

  it('no answer of this file carried a key or token', async () => {
    // The answers most likely to carry one, read here so the scan never runs on nothing; every
    // answer the tests above saw is scanned with them.
    for (const actor of [f.a, f.admin]) {
      for (const path of [
        `/v1/evaluations/${f.evalApi}`,
        '/v1/evaluations',
        `/v1/evaluations/${f.evalPrivate}/upload-tokens`,
        `/v1/runs/${f.formalRun}`,
        `/v1/runs/${f.formalRun}/logs`,
        `/v1/runs/${f.formalRun}/results.jsonl`,
        '/v1/me',
      ]) {
        expect((await send('GET', { path }, as(actor))).status, path).toBe(200);
      }
    }
    for (const secret of [
      f.modelApiKey,
      f.a.apiKey,
      f.b.apiKey,
      f.reviewer.apiKey,
      f.revoked.apiKey,
      f.tokenA,
      f.revokedTokenA,
      f.tokenB,
    ]) {
      expect(seen.filter((text) => text.includes(secret))).toEqual([]);
    }
  });
});
