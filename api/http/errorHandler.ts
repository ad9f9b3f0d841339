/**
 * Every error the API answers with leaves here as application/problem+json: problems thrown by
 * routes, the query modules' domain errors (db/errors.ts: a missing record is 404, an invalid field
 * 400 naming it), schema violations, requests fastify refuses before a route runs (bad JSON,
 * unsupported content type, oversize body), unknown routes, and anything unexpected, which is
 * logged with the request id and answered with a generic 500 that echoes nothing of the request.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { FieldError } from '../../contracts/problem';
import { InvalidField, RecordDeleted, RecordNotFound } from '../../db/errors';
import { badRequest, HttpProblem, notFound, statusTitle, validationProblem } from './problems';
import { fieldName, isSchemaFieldError } from './schemaValidation';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const problem = toProblem(error, request);
    if (problem.status >= 500) {
      request.log.error({ err: error, reqId: request.id }, 'request failed');
    } else {
      request.log.info({ status: problem.status, reqId: request.id, detail: problem.detail }, 'request refused');
    }
    return sendProblem(reply, problem);
  });

  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      reply,
      new HttpProblem(404, statusTitle(404), `no route ${request.method} ${request.url.split('?')[0]}`),
    ),
  );
}

export function sendProblem(reply: FastifyReply, problem: HttpProblem): FastifyReply {
  const body: Record<string, unknown> = {
    type: problem.type,
    title: problem.title,
    status: problem.status,
    detail: problem.detail,
  };
  if (problem.errors?.length) body.errors = problem.errors;
  return reply.code(problem.status).type(PROBLEM_CONTENT_TYPE).send(body);
}

function toProblem(error: FastifyError, request: FastifyRequest): HttpProblem {
  if (error instanceof HttpProblem) return error;
  if (error instanceof RecordNotFound) return notFound(error.what);
  if (error instanceof InvalidField) return badRequest(error.field, error.reason);
  if (error instanceof RecordDeleted)
    return new HttpProblem(409, statusTitle(409), `${error.message}; it takes no new runs, uploads or edits`);
  if (error.validation) return validationProblem(error.validation.map((e) => toFieldError(e, error.validationContext)));
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new HttpProblem(
        413,
        statusTitle(413),
        `the request body is larger than this endpoint accepts (${bodyLimit(request)})`,
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new HttpProblem(
        415,
        statusTitle(415),
        `content type ${JSON.stringify(request.headers['content-type'] ?? '')} is not supported; send application/json`,
      );
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return bodyProblem('the body is empty but the content type says JSON; send a JSON object or no content type');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return bodyProblem(`the body is not valid JSON: ${error.message}`);
  }
  if (error instanceof SyntaxError && error.statusCode === 400)
    return bodyProblem(`the body is not valid JSON: ${error.message}`);
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) return new HttpProblem(status, statusTitle(status), error.message);
  return new HttpProblem(
    500,
    statusTitle(500),
    `the server failed to handle the request; quote request id ${request.id} when reporting it`,
  );
}

function bodyProblem(detail: string): HttpProblem {
  return new HttpProblem(400, statusTitle(400), detail, [{ field: 'body', message: detail.replace(/^the body /, '') }]);
}

function bodyLimit(request: FastifyRequest): string {
  const limit = request.routeOptions.bodyLimit;
  return limit ? `${(limit / 1024 / 1024).toLocaleString('en-US', { maximumFractionDigits: 1 })} MiB` : 'its limit';
}

/** Errors from this API's validator already name the field; others (plain ajv) are translated. */
function toFieldError(error: unknown, context: string | undefined): FieldError {
  if (isSchemaFieldError(error)) return { field: error.field, message: error.message };
  const e = error as {
    instancePath?: string;
    message?: string;
    params?: { missingProperty?: string; additionalProperty?: string };
  };
  const extra = e.params?.missingProperty ?? e.params?.additionalProperty;
  const pointer = `${e.instancePath ?? ''}${extra ? `/${extra}` : ''}`;
  return { field: fieldName(pointer, context ?? 'request'), message: e.message ?? 'is invalid' };
}
