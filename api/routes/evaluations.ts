/**
 * Evaluation instances: create, list, read, edit. A user sees only their own (admins see all;
 * anyone else's is a 404). The model endpoint's API key is sealed on the way in and never shown.
 *
 * Editing replaces what it names: `deployment` as a whole, `inference` and `limits` field by field.
 * modelName and domain cannot change. In an API deployment, `apiKey` set replaces the stored key,
 * `null` removes it, and leaving it out keeps it, but only while the endpoint stays on the same
 * origin: the stored key is never sent to a new host unless the user gives it again.
 */
import { isRunScript, RUN_SCRIPT_CUSTOM_IMAGE } from '../rules/multimodalRules';
import { domainRuleErrors, type RuledField } from '../rules/domainRules';
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { ApiDeps } from '../apiDeps';
import type { FieldError } from '../../contracts/problem';
import {
  CreateEvaluationBody,
  DEFAULT_INFERENCE,
  DEFAULT_LIMITS,
  EvaluationPage,
  EvaluationView,
  PatchEvaluationBody,
  type CreateEvaluationBody as CreateFields,
  type Deployment,
  type PatchEvaluationBody as PatchFields,
  type ModelInfo,
  type PublicDeployment,
} from '../../contracts/evaluation';
import { sealSecret } from '../../db/secretBox';
import {
  deleteEvaluationRow,
  getEvaluationFor,
  insertEvaluation,
  listEvaluationsFor,
  ModelNameTaken,
  softDeleteEvaluation,
  toEvaluationView,
  updateEvaluation,
  type EvaluationChanges,
  type EvaluationRow,
} from '../../db/queries/evaluations';
import { resolveBackboneTasks } from '../rules/backboneRules';
import {
  checkAcknowledgement,
  checkBackboneDatasets,
  checkDatasets,
  checkDatasetsFit,
  checkDeploymentOf,
  checkModelInfo,
  checkModelName,
  endpointOrigin,
  inFormOrder,
  NAME_TAKEN,
} from '../rules/evaluationRules';
import { inferenceErrors, mergeInference } from '../rules/inferenceRules';
import { badRequest, HttpProblem, statusTitle, validationProblem } from '../http/problems';
import { runEndpointCheck } from '../gateways/endpointCheckGateway';
import { ENDPOINT_CHECK_MAX_TOKENS, EndpointCheckView } from '../../contracts/endpointCheck';
import { problems } from '../http/openapi';
import { copyScoringConfig, customImageOf } from '../../db/queries/scoringConfig';

const EvaluationParams = Type.Object({ id: Type.String({ description: 'the evaluation id' }) });
const ListQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20, description: 'must be an integer from 1 to 100' }),
    cursor: Type.Optional(
      Type.String({ minLength: 1, maxLength: 256, description: 'must be the nextCursor of an earlier page' }),
    ),
  },
  { additionalProperties: false },
);

const access = { roles: ['user', 'admin'] } as const;
const CopyEvaluationBody = Type.Object(
  {
    modelName: Type.String({ minLength: 1, maxLength: 128, description: 'is required: the copy’s model name' }),
    description: Type.Optional(Type.String({ maxLength: 256, description: 'must be at most 256 characters' })),
  },
  { additionalProperties: false },
);
const IMMUTABLE = 'cannot be changed after creation';

export async function evaluationsRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  app.post<{ Body: CreateFields }>(
    '/evaluations',
    {
      schema: {
        summary: 'Create an evaluation instance',
        description:
          'Rules beyond the schema: the domain’s rules (docs/domains.md: deployment methods, the API fields it requires, its model types, ' +
          'whether it offers robustness, and whether it can be evaluated here at all); ' +
          'the model name follows its domain’s rule and is unique platform-wide regardless of case; ' +
          'every dataset exists, is visible to the caller and belongs to the domain; the deployment method is one the domain takes; ' +
          'a private deployment names an approved image that is preloaded or the caller’s own and serves the domain, a GPU type of ' +
          'GET /v1/resources and at most as many units as that type has; ' +
          'acknowledgeNoTestAnnotations must be true. Omitted inference and limits fields take their defaults; a prompt template is for ' +
          'completion mode only, doSample true needs a temperature above 0, a system prompt with a custom template needs its {system} ' +
          '(docs/generation-settings.md). ' +
          'The API key is stored encrypted and never returned (see deployment.apiKeySet).',
        tags: ['evaluations'],
        body: CreateEvaluationBody,
        response: { 201: EvaluationView, ...problems(400, 403, 413, 415) },
      },
      config: access,
    },
    async (request, reply) => {
      const body = request.body;
      const caller = request.caller;
      const [nameErrors, datasetErrors, deploymentErrors] = await Promise.all([
        checkModelName(deps.db, body.domain, body.modelName),
        checkDatasets(deps.db, caller.userId, body.domain, body.datasets),
        checkDeploymentOf(
          deps.db,
          { ownerId: caller.userId, domain: body.domain },
          body.deployment,
          deps.env.containers.gpuTypes,
          deps.env.endpoints.networks,
        ),
      ]);
      const ruleErrors = domainRuleErrors({
        domain: body.domain,
        deployment: body.deployment,
        apiKeySet: body.deployment.method === 'api' && typeof body.deployment.apiKey === 'string',
        robustness: body.robustness,
        modelInfo: body.modelInfo,
        backbone: body.backbone ?? null,
      });
      const errors = [
        ...ruleErrors,
        ...nameErrors,
        ...datasetErrors,
        ...deploymentErrors,
        ...checkModelInfo(body.modelInfo),
        ...checkAcknowledgement(body.acknowledgeNoTestAnnotations),
        ...inferenceErrors(mergeInference(DEFAULT_INFERENCE, body.inference), body.deployment),
      ];
      // Whether the deployment can answer the datasets, once both are known to be valid for the domain.
      const methodTaken = !ruleErrors.some((e) => e.field === 'domain' || e.field === 'deployment.method');
      if (methodTaken && datasetErrors.length === 0 && deploymentErrors.length === 0)
        errors.push(...(await checkDatasetsFit(deps.db, caller.userId, body, body.datasets)));
      if (body.backbone && datasetErrors.length === 0 && !ruleErrors.some((e) => e.field.startsWith('backbone')))
        errors.push(...(await checkBackboneDatasets(deps.db, caller.userId, body.backbone.tasks, body.datasets)));
      if (errors.length > 0) throw validationProblem(inFormOrder(errors));

      const apiKey = body.deployment.method === 'api' ? (body.deployment.apiKey ?? null) : null;
      let row: EvaluationRow;
      try {
        row = await insertEvaluation(deps.db, {
          ownerId: caller.userId,
          domain: body.domain,
          modelName: body.modelName,
          description: body.description ?? '',
          datasetIds: body.datasets,
          deployment: storedDeployment(body.deployment, apiKey !== null),
          apiKeyCipher: apiKey === null ? null : sealSecret(deps.env.secretKey, apiKey),
          robustness: body.robustness,
          modelInfo: storedModelInfo(body.modelInfo),
          inference: mergeInference(DEFAULT_INFERENCE, body.inference),
          limits: { ...DEFAULT_LIMITS, ...body.limits },
          backboneTasks: body.backbone ? resolveBackboneTasks(body.backbone) : null,
        });
      } catch (error) {
        // Lost the race for the name to a concurrent creation: the same answer as the early check.
        if (error instanceof ModelNameTaken) throw badRequest('modelName', NAME_TAKEN);
        throw error;
      }
      request.log.info(
        { evaluationId: row.id, domain: row.domain, modelName: row.modelName, ownerId: row.ownerId },
        'evaluation created',
      );
      return reply.code(201).header('location', `/v1/evaluations/${row.id}`).send(toEvaluationView(row));
    },
  );

  app.get<{ Querystring: Static<typeof ListQuery> }>(
    '/evaluations',
    {
      schema: {
        summary: 'The caller’s evaluations, newest first (admins: everyone’s)',
        tags: ['evaluations'],
        querystring: ListQuery,
        response: { 200: EvaluationPage, ...problems(400, 403) },
      },
      config: access,
    },
    async (request) => {
      const page = await listEvaluationsFor(deps.db, request.caller, {
        limit: request.query.limit,
        cursor: request.query.cursor,
      });
      return { items: page.rows.map(toEvaluationView), nextCursor: page.nextCursor };
    },
  );

  app.get<{ Params: Static<typeof EvaluationParams> }>(
    '/evaluations/:id',
    {
      schema: {
        summary: 'One evaluation',
        tags: ['evaluations'],
        params: EvaluationParams,
        response: { 200: EvaluationView, ...problems(403, 404) },
      },
      config: access,
    },
    async (request) =>
      toEvaluationView(await getEvaluationFor(deps.db, request.caller, request.params.id, { deleted: 'readable' })),
  );

  app.delete<{ Params: Static<typeof EvaluationParams> }>(
    '/evaluations/:id',
    {
      schema: {
        summary: 'Delete an evaluation (soft: its runs, reports and leaderboard entries are kept)',
        description:
          'The evaluation disappears for its owner (404 on every route that names it, absent from the list) and takes no new ' +
          'runs, uploads, predictions or edits; its runs stay readable through /v1/runs, their reports stay downloadable and ' +
          'their leaderboard entries stay. Admins still read it (deletedAt set). Refused with 409 while one of its runs is queued ' +
          'or running: stop the run first. The quota its runs took is not given back. Its model name stays taken.',
        tags: ['evaluations'],
        params: EvaluationParams,
        response: { 204: Type.Null(), ...problems(403, 404, 409) },
      },
      config: access,
    },
    async (request, reply) => {
      const evaluation = await getEvaluationFor(deps.db, request.caller, request.params.id);
      const outcome = await softDeleteEvaluation(deps.db, evaluation.id);
      if ('inFlight' in outcome) {
        const { runId, version, status } = outcome.inFlight;
        throw new HttpProblem(
          409,
          statusTitle(409),
          `run v${version} (${runId}) of this evaluation is ${status}; stop it (POST /v1/runs/${runId}/stop) or let it end before deleting the evaluation`,
        );
      }
      request.log.info({ evaluationId: evaluation.id, by: request.caller.userId }, 'evaluation deleted');
      return reply.code(204).send();
    },
  );

  app.post<{ Params: Static<typeof EvaluationParams>; Body: Static<typeof CopyEvaluationBody> }>(
    '/evaluations/:id/copy',
    {
      schema: {
        summary: 'Copy an evaluation under a new model name',
        description:
          'The copy has everything of the original but its name and id: domain, datasets, deployment (the API key too, sealed ' +
          'again), robustness, model information, inference parameters, limits and the scoring configuration (judge keys too). ' +
          'Not copied: runs, uploads (a private copy needs its own upload) and uploaded predictions. The copy belongs to the ' +
          'original’s owner. The new name follows the domain’s rule and must be free; an original that breaks its domain’s ' +
          'rules as stored is not copied (409: edit it first).',
        tags: ['evaluations'],
        params: EvaluationParams,
        body: CopyEvaluationBody,
        response: { 201: EvaluationView, ...problems(400, 403, 404, 409, 413, 415) },
      },
      config: access,
    },
    async (request, reply) => {
      const original = await getEvaluationFor(deps.db, request.caller, request.params.id);
      const nameErrors = await checkModelName(deps.db, original.domain, request.body.modelName);
      if (nameErrors.length > 0) throw validationProblem(nameErrors);
      const broken = domainRuleErrors({
        ...original,
        apiKeySet: original.apiKeyCipher !== null,
        backbone: original.backboneTasks ? { tasks: original.backboneTasks } : null,
      });
      if (broken.length > 0)
        throw new HttpProblem(
          409,
          statusTitle(409),
          `the evaluation breaks its domain's rules as stored (${broken.map((e) => `${e.field} ${e.message}`).join('; ')}); edit it before copying`,
          broken,
        );
      let row: EvaluationRow;
      try {
        row = await insertEvaluation(deps.db, {
          ownerId: original.ownerId,
          domain: original.domain,
          modelName: request.body.modelName,
          description: request.body.description ?? original.description,
          datasetIds: original.datasetIds,
          deployment: original.deployment,
          apiKeyCipher: original.apiKeyCipher,
          robustness: original.robustness,
          modelInfo: original.modelInfo,
          inference: original.inference,
          limits: original.limits,
          backboneTasks: original.backboneTasks,
        });
      } catch (error) {
        if (error instanceof ModelNameTaken) throw badRequest('modelName', NAME_TAKEN);
        throw error;
      }
      try {
        await copyScoringConfig(deps.db, original.id, row.id);
      } catch (error) {
        // Not half a copy: the evaluation goes again if its scoring could not follow.
        await deleteEvaluationRow(deps.db, row.id);
        throw error;
      }
      request.log.info({ evaluationId: row.id, copiedFrom: original.id }, 'evaluation copied');
      return reply.code(201).header('location', `/v1/evaluations/${row.id}`).send(toEvaluationView(row));
    },
  );

  app.post<{ Params: Static<typeof EvaluationParams> }>(
    '/evaluations/:id/endpoint-check',
    {
      schema: {
        summary: 'Test an API deployment’s endpoint before launching: reachable, model listed, one tiny completion',
        description:
          'An inference worker lists the endpoint’s models, checks the model a run would ask is among them (or picks the first, ' +
          'as a run does with no online model name), and asks for one completion of at most ' +
          `${ENDPOINT_CHECK_MAX_TOKENS} tokens, with the stored key; each step says passed, failed, warning or skipped, how long it ` +
          'took and why. ok is true when the completion came back. Nothing is stored and no quota is used. 409 for a deployment that ' +
          'is not an API; 503 when no inference worker runs or none answered in time.',
        tags: ['evaluations'],
        params: EvaluationParams,
        response: { 200: EndpointCheckView, ...problems(403, 404, 409, 502, 503) },
      },
      config: access,
    },
    async (request) => {
      const evaluation = await getEvaluationFor(deps.db, request.caller, request.params.id);
      if (evaluation.deployment.method !== 'api')
        throw new HttpProblem(
          409,
          statusTitle(409),
          `the evaluation's deployment is ${evaluation.deployment.method}, not an API: ` +
            (evaluation.deployment.method === 'private'
              ? 'a private deployment is checked by its inference verification (POST /v1/evaluations/{id}/verifications)'
              : 'uploaded predictions call no endpoint'),
        );
      const outcome = await runEndpointCheck(deps.temporal, evaluation.id);
      if (outcome.ok) return outcome.view;
      request.log.warn(
        { evaluationId: evaluation.id, reason: outcome.reason },
        `endpoint check not answered: ${outcome.message}`,
      );
      throw new HttpProblem(
        outcome.reason === 'failed' ? 502 : 503,
        statusTitle(outcome.reason === 'failed' ? 502 : 503),
        outcome.message,
      );
    },
  );

  app.patch<{ Params: Static<typeof EvaluationParams>; Body: PatchFields }>(
    '/evaluations/:id',
    {
      schema: {
        summary: 'Edit an evaluation (anything but modelName and domain)',
        description:
          'Fields sent replace the stored ones (inference and limits are merged field by field, null removes an optional inference ' +
          'setting); the same rules as creation apply, ' +
          'datasets checked against the evaluation’s domain. In an API deployment, apiKey replaces the stored key, null removes it, ' +
          'and leaving it out keeps it as long as the endpoint stays on the same origin (scheme, host, port). ' +
          'A refused edit changes nothing.',
        tags: ['evaluations'],
        params: EvaluationParams,
        body: PatchEvaluationBody,
        response: { 200: EvaluationView, ...problems(400, 403, 404, 413, 415) },
      },
      config: access,
    },
    async (request) => {
      const body = request.body;
      const current = await getEvaluationFor(deps.db, request.caller, request.params.id);
      const errors: FieldError[] = [];
      if (body.modelName !== undefined) errors.push({ field: 'modelName', message: IMMUTABLE });
      if (body.domain !== undefined) errors.push({ field: 'domain', message: IMMUTABLE });
      if (body.datasets) errors.push(...(await checkDatasets(deps.db, current.ownerId, current.domain, body.datasets)));
      if (body.deployment) {
        const deploymentErrors = await checkDeploymentOf(
          deps.db,
          current,
          body.deployment,
          deps.env.containers.gpuTypes,
          deps.env.endpoints.networks,
        );
        errors.push(...(deploymentErrors.length > 0 ? deploymentErrors : keyErrors(current, body.deployment)));
      }
      if (body.deployment?.method === 'predictions' && (await customImageOf(deps.db, current.id)))
        errors.push({
          field: 'deployment.method',
          message:
            'cannot be predictions while the scoring configuration names a custom image: the image evaluates a model it calls; remove customImage first',
        });
      if (body.modelInfo) errors.push(...checkModelInfo(body.modelInfo));
      errors.push(...checkAcknowledgement(body.acknowledgeNoTestAnnotations));
      errors.push(...domainRuleErrors(editedEvaluation(current, body), editedFields(body)));
      if (body.inference || body.deployment)
        errors.push(
          ...inferenceErrors(mergeInference(current.inference, body.inference), body.deployment ?? current.deployment),
        );
      if (errors.length === 0 && (body.datasets || body.deployment)) {
        const next = { domain: current.domain, deployment: body.deployment ?? current.deployment };
        errors.push(...(await checkDatasetsFit(deps.db, current.ownerId, next, body.datasets ?? current.datasetIds)));
        if (body.deployment && isRunScript(next) && (await customImageOf(deps.db, current.id)))
          errors.push({ field: 'deployment.method', message: RUN_SCRIPT_CUSTOM_IMAGE });
      }
      const tasks = body.backbone?.tasks ?? current.backboneTasks;
      if (errors.length === 0 && tasks && (body.datasets || body.backbone))
        errors.push(
          ...(await checkBackboneDatasets(deps.db, current.ownerId, tasks, body.datasets ?? current.datasetIds)),
        );
      if (errors.length > 0) throw validationProblem(inFormOrder(errors));

      const updated = await updateEvaluation(deps.db, current.id, (locked) => {
        const changes: EvaluationChanges = {};
        if (body.description !== undefined) changes.description = body.description;
        if (body.datasets) changes.datasetIds = body.datasets;
        if (body.deployment) {
          // Re-decided on the locked row: a concurrent edit may have moved the endpoint meanwhile.
          const keyError = keyErrors(locked, body.deployment)[0];
          if (keyError) throw badRequest(keyError.field, keyError.message);
          const cipher = nextKeyCipher(locked, body.deployment, deps.env.secretKey);
          changes.deployment = storedDeployment(body.deployment, cipher !== null);
          changes.apiKeyCipher = cipher;
        }
        if (body.robustness !== undefined) changes.robustness = body.robustness;
        if (body.modelInfo) changes.modelInfo = storedModelInfo(body.modelInfo);
        if (body.inference) changes.inference = mergeInference(locked.inference, body.inference);
        if (body.limits) changes.limits = { ...locked.limits, ...body.limits };
        if (body.backbone) changes.backboneTasks = resolveBackboneTasks(body.backbone);
        return changes;
      });
      request.log.info({ evaluationId: current.id, fields: Object.keys(body) }, 'evaluation edited');
      return toEvaluationView(updated);
    },
  );
}

/** What is stored of a deployment: never the key, only whether one is set. */
function storedDeployment(deployment: Deployment, apiKeySet: boolean): PublicDeployment {
  if (deployment.method === 'private') {
    const { method, imageId, priority, gpuType, gpuCount } = deployment;
    return { method, imageId, priority, gpuType, gpuCount };
  }
  if (deployment.method === 'predictions') return { method: 'predictions' };
  const { method, endpoint, onlineModelName, apiMode, prices } = deployment;
  return {
    method,
    endpoint,
    ...(onlineModelName !== undefined ? { onlineModelName } : {}),
    ...(prices !== undefined ? { prices } : {}),
    apiMode: apiMode ?? 'chat',
    apiKeySet,
  };
}

function storedModelInfo(modelInfo: ModelInfo): ModelInfo {
  return {
    ...(modelInfo.type !== undefined ? { type: modelInfo.type } : {}),
    paperUrl: modelInfo.paperUrl ?? null,
    modelUrl: modelInfo.modelUrl ?? null,
  };
}

/** The evaluation an edit would make, as the domain rules read it. */
function editedEvaluation(current: EvaluationRow, body: PatchFields) {
  const deployment = body.deployment ?? current.deployment;
  let apiKeySet = current.apiKeyCipher !== null;
  if (body.deployment?.method === 'api' && body.deployment.apiKey !== undefined)
    apiKeySet = body.deployment.apiKey !== null;
  return {
    domain: current.domain,
    deployment,
    apiKeySet,
    robustness: body.robustness ?? current.robustness,
    modelInfo: body.modelInfo ?? current.modelInfo,
    backbone: body.backbone ?? (current.backboneTasks ? { tasks: current.backboneTasks } : null),
  };
}

/** An edit answers for the rules of the fields it sends; what is stored is checked again at launch. */
function editedFields(body: PatchFields): ReadonlySet<RuledField> {
  return new Set(
    (['deployment', 'robustness', 'modelInfo', 'backbone'] as const).filter((field) => body[field] !== undefined),
  );
}

/** A kept key must stay with the origin it was given for. */
function keyErrors(current: EvaluationRow, next: Deployment): FieldError[] {
  if (next.method !== 'api' || next.apiKey !== undefined || current.apiKeyCipher === null) return [];
  if (
    current.deployment.method === 'api' &&
    endpointOrigin(current.deployment.endpoint) === endpointOrigin(next.endpoint)
  )
    return [];
  return [
    {
      field: 'deployment.apiKey',
      message:
        'must be given again (or null to remove the stored key) when the endpoint moves to another origin; the stored key is never sent to a new host',
    },
  ];
}

function nextKeyCipher(current: EvaluationRow, next: Deployment, secretKey: Buffer): string | null {
  if (next.method !== 'api' || next.apiKey === null) return null;
  if (next.apiKey !== undefined) return sealSecret(secretKey, next.apiKey);
  return current.apiKeyCipher;
}
