/**
 * Endpoint budgets (admins): limits on requests a minute, tokens a minute and requests in flight
 * for one endpoint identity, kept by every worker process together (docs/rate-limits.md). The
 * identity is a base URL and an API key given here or taken from an evaluation; only the key's
 * fingerprint is stored.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../apiDeps';
import {
  EndpointBudgetList,
  EndpointBudgetParams,
  EndpointBudgetView,
  PutEndpointBudgetBody,
} from '../../contracts/endpointBudget';
import { endpointIdentity } from '../../db/endpointIdentity';
import {
  deleteEndpointBudget,
  listEndpointBudgets,
  putEndpointBudget,
  type EndpointBudget,
} from '../../db/queries/endpointBudgets';
import { getEvaluationFor } from '../../db/queries/evaluations';
import { RecordNotFound } from '../../db/errors';
import { openSecret } from '../../db/secretBox';
import { badRequest, notFound } from '../http/problems';
import { problems } from '../http/openapi';

const admin = { roles: ['admin'] };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function endpointBudgetsRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  app.get(
    '/admin/endpoint-budgets',
    {
      schema: {
        summary: 'Endpoint budgets, with the concurrent slots in use now',
        tags: ['admin'],
        response: { 200: EndpointBudgetList },
      },
      config: admin,
    },
    async () => {
      const items = await listEndpointBudgets(deps.db);
      return { items: items.map((b) => view(b, b.concurrentInUse)) };
    },
  );

  app.put<{ Body: PutEndpointBudgetBody }>(
    '/admin/endpoint-budgets',
    {
      schema: {
        summary: 'Set the budget of an endpoint identity (base URL + API key)',
        description:
          'Every run, user and judge call whose requests go to this base URL with this key draws on the budget, from any ' +
          'worker process. Name the key with apiKey (only an HMAC fingerprint is kept) or with evaluationId (the ' +
          'evaluation’s stored key, and its endpoint unless baseUrl is given); neither means requests without a key. ' +
          'Limits left out or null are not limited; setting the same identity again replaces its limits.',
        tags: ['admin'],
        body: PutEndpointBudgetBody,
        response: { 200: EndpointBudgetView, ...problems(400) },
      },
      config: admin,
    },
    async (request) => {
      const body = request.body;
      if (body.apiKey != null && body.evaluationId)
        throw badRequest('apiKey', 'give either apiKey or evaluationId, not both');
      let baseUrl = body.baseUrl;
      let apiKey = body.apiKey ?? null;
      if (body.evaluationId) {
        const evaluation = await getEvaluationFor(deps.db, request.caller, body.evaluationId).catch(
          (error: unknown) => {
            if (error instanceof RecordNotFound) throw badRequest('evaluationId', 'names no evaluation');
            throw error;
          },
        );
        if (evaluation.deployment.method !== 'api')
          throw badRequest('evaluationId', 'must name an evaluation deployed through an API endpoint');
        baseUrl ??= evaluation.deployment.endpoint;
        apiKey = evaluation.apiKeyCipher ? openSecret(deps.env.secretKey, evaluation.apiKeyCipher) : null;
      }
      if (!baseUrl) throw badRequest('baseUrl', 'is required unless evaluationId names the endpoint');
      let identity;
      try {
        identity = endpointIdentity(deps.env.secretKey, baseUrl, apiKey);
      } catch {
        throw badRequest('baseUrl', 'must be an http(s) URL');
      }
      const limits = {
        requestsPerMinute: body.requestsPerMinute ?? null,
        tokensPerMinute: body.tokensPerMinute ?? null,
        maxConcurrent: body.maxConcurrent ?? null,
      };
      if (limits.requestsPerMinute === null && limits.tokensPerMinute === null && limits.maxConcurrent === null)
        throw badRequest(
          'requestsPerMinute',
          'set at least one of requestsPerMinute, tokensPerMinute, maxConcurrent (DELETE removes a budget)',
        );
      const budget = await putEndpointBudget(deps.db, identity, limits, request.caller.userId);
      request.log.info({ budgetId: budget.id, baseUrl: budget.baseUrl, ...limits }, 'endpoint budget set');
      return view(budget, 0);
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/admin/endpoint-budgets/:id',
    {
      schema: {
        summary: 'Remove an endpoint budget',
        description: 'Requests to its identity are no longer limited by it (worker processes notice within seconds).',
        tags: ['admin'],
        params: EndpointBudgetParams,
        response: { 204: Type.Null(), ...problems(404) },
      },
      config: admin,
    },
    async (request, reply) => {
      const { id } = request.params;
      if (!UUID.test(id) || !(await deleteEndpointBudget(deps.db, id))) throw notFound('endpoint budget');
      return reply.code(204).send();
    },
  );
}

function view(b: EndpointBudget, concurrentInUse: number) {
  return {
    id: b.id,
    baseUrl: b.baseUrl,
    keyFingerprint: b.keyFingerprint,
    requestsPerMinute: b.requestsPerMinute,
    tokensPerMinute: b.tokensPerMinute,
    maxConcurrent: b.maxConcurrent,
    concurrentInUse,
    updatedAt: b.updatedAt.toISOString(),
  };
}
