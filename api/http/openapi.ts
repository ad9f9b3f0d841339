/**
 * The OpenAPI 3.1 document served at /openapi.json, generated from the route schemas (so it cannot
 * drift from what is validated), with the shared contract schemas as named components, and the
 * response schemas routes declare. Those schemas also write the responses (fastify's serializer),
 * so a response carries exactly the fields its schema names: the document is what is sent.
 */
import { STATUS_CODES } from 'node:http';
import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import type { TSchema } from '@sinclair/typebox';
import { FieldError, Problem } from '../../contracts/problem';
import { CreateUserBody, CreatedUser, MeView, Role, UserView } from '../../contracts/user';
import { DatasetItem, DatasetList, DatasetView, RegisterDatasetBody } from '../../contracts/dataset';
import { Health } from '../../contracts/health';
import {
  ApiDeployment,
  CreateEvaluationBody,
  Deployment,
  InferenceParams,
  ModelInfo,
  PatchEvaluationBody,
  PredictionsDeployment,
  PrivateDeployment,
  RunLimits,
  EvaluationView,
  EvaluationPage,
  PublicApiDeployment,
} from '../../contracts/evaluation';
import { Domain } from '../../contracts/domain';
import { LaunchVerificationBody } from '../../contracts/run';
import { ImageView } from '../../contracts/image';
import { GpuTypeView } from '../../contracts/resources';

/** Named in the document's components; wherever a route uses one of these it is referenced by name. */
const COMPONENTS: Record<string, TSchema> = {
  Problem,
  FieldError,
  Role,
  Domain,
  CreateUserBody,
  UserView,
  MeView,
  CreatedUser,
  DatasetItem,
  DatasetView,
  RegisterDatasetBody,
  DatasetList,
  CreateEvaluationBody,
  PatchEvaluationBody,
  EvaluationView,
  EvaluationPage,
  Deployment,
  ApiDeployment,
  PrivateDeployment,
  PredictionsDeployment,
  PublicApiDeployment,
  ModelInfo,
  InferenceParams,
  RunLimits,
  LaunchVerificationBody,
  Health,
  ImageView,
  GpuTypeView,
};

const STATUS_TEXT: Record<number, string> = {
  400: 'Invalid request: `errors` names each offending field',
  401: 'Missing or invalid API key',
  403: 'The caller’s role may not do this',
  404: 'Not found (or not visible to the caller)',
  409: 'Conflict with the current state',
  413: 'Request body too large',
  415: 'Unsupported content type',
  429: 'Quota used up',
  503: 'A backing service is unavailable',
  504: 'A backing worker did not answer in time',
};

/** Problem responses for a route's schema: `{ ...problems(400, 404) }`. 401 is added to every secured route. */
export function problems(...statuses: number[]): Record<number, TSchema> {
  return Object.fromEntries(statuses.map((s) => [s, { ...Problem, description: STATUS_TEXT[s] ?? 'Error' }]));
}

export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    // OpenAPI 3.1 is JSON Schema: `const` stays as TypeBox writes it.
    convertConstToEnum: false,
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Proctor API',
        version: '1',
        description:
          'Durable evaluation of AI models. Errors are application/problem+json (RFC 9457) with `errors: [{field, message}]` ' +
          'for invalid fields. Authenticate with `Authorization: Bearer <api key>`.',
      },
      components: {
        schemas: Object.fromEntries(Object.entries(COMPONENTS).map(([name, schema]) => [name, plain(schema)])),
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'an API key issued by POST /v1/users' },
        },
      },
      security: [{ bearer: [] }],
    },
    transform: ({ schema, url, route }) => {
      if (!schema || schema.hide) return { schema, url };
      const config = (route.config ?? {}) as { public?: boolean; roles?: readonly string[] };
      const responses: Record<string, unknown> = { ...(schema.response as Record<string, unknown> | undefined) };
      // The refusals every route of its kind can give, whether or not the route lists them.
      const implied = [
        ...(config.public ? [] : [401]),
        ...(config.roles ? [403] : []),
        ...(schema.body || schema.querystring || schema.params ? [400] : []),
        ...(schema.body ? [413, 415] : []),
      ];
      for (const [status, problem] of Object.entries(problems(...implied))) responses[status] ??= problem;
      return { schema: { ...schema, response: responses, ...(config.public ? { security: [] } : {}) }, url };
    },
    transformObject: (document) =>
      ('openapiObject' in document
        ? nameSharedSchemas(document.openapiObject as unknown as OpenApiDocument)
        : document.swaggerObject) as never,
  });
}

interface OpenApiDocument {
  components: { schemas: Record<string, unknown> };
  [key: string]: unknown;
}

/** The JSON a schema is written as: TypeBox's symbols and undefined members dropped. */
function plain(schema: TSchema): Record<string, unknown> {
  return JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;
}

/**
 * Replaces every inline copy of a component with a reference to it, and writes TypeBox's
 * discriminator hint as OpenAPI's discriminator object.
 */
function nameSharedSchemas(document: OpenApiDocument): OpenApiDocument {
  const byShape = new Map(
    Object.entries(COMPONENTS).map(([name, schema]) => [canonical(withoutDocs(plain(schema))), name]),
  );
  const visit = (node: unknown, selfName?: string): unknown => {
    if (Array.isArray(node)) return node.map((n) => visit(n));
    if (typeof node !== 'object' || node === null) return node;
    const record = node as Record<string, unknown>;
    const name = byShape.get(canonical(withoutDocs(record)));
    if (name && name !== selfName) return { $ref: `#/components/schemas/${name}` };
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(record)) {
      out[key] = key === 'discriminator' && typeof value === 'string' ? { propertyName: value } : visit(value);
    }
    return out;
  };
  const schemas = Object.fromEntries(
    Object.entries(document.components.schemas).map(([name, s]) => [name, visit(s, name)]),
  );
  const rest = Object.fromEntries(
    Object.entries(document)
      .filter(([k]) => k !== 'components')
      .map(([k, v]) => [k, visit(v)]),
  );
  const named = { ...rest, components: { ...document.components, schemas } } as OpenApiDocument;
  describeResponses(named);
  return named;
}

interface ResponseObject {
  description?: string;
  content?: Record<string, unknown>;
}

/** Errors are sent as application/problem+json; a response swagger left undescribed gets its status text. */
function describeResponses(document: OpenApiDocument): void {
  const paths = (document.paths ?? {}) as Record<
    string,
    Record<string, { responses?: Record<string, ResponseObject> }>
  >;
  for (const operations of Object.values(paths)) {
    for (const operation of Object.values(operations)) {
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        if (response.description === 'Default Response')
          response.description = STATUS_CODES[Number(status)] ?? 'Response';
        const json = response.content?.['application/json'];
        if (Number(status) >= 400 && json && response.content) {
          response.content = { 'application/problem+json': json };
        }
      }
    }
  }
}

/** What a schema is, apart from the words around it (a response's description, swagger's title). */
function withoutDocs(record: Record<string, unknown>): Record<string, unknown> {
  const { $id: _id, title: _title, description: _description, ...rest } = record;
  return rest;
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
