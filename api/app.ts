/**
 * The API server: fastify with TypeBox-validated routes under /v1, bearer-key auth, problem+json
 * errors, the OpenAPI document and a health check. Building it does no I/O; the caller listens.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { ApiDeps } from './apiDeps';
import { pingDatabase } from '../db/queries/health';
import { registerAuth } from './http/auth';
import { registerErrorHandling } from './http/errorHandler';
import { registerOpenApi } from './http/openapi';
import { Health } from '../contracts/health';
import { validatorCompiler } from './http/schemaValidation';
import { usersRoutes } from './routes/users';
import { datasetsRoutes } from './routes/datasets';
import { evaluationsRoutes } from './routes/evaluations';
import { runLaunchRoutes } from './routes/runLaunch';
import { runComparisonRoutes } from './routes/runComparison';
import { runPredictionsRoutes } from './routes/runPredictions';
import { runsRoutes } from './routes/runs';
import { uploadsRoutes } from './routes/uploads';
import { imagesRoutes } from './routes/images';
import { resourcesRoutes } from './routes/resources';
import { domainsRoutes } from './routes/domains';
import { endpointBudgetsRoutes } from './routes/endpointBudgets';
import { scoringRoutes } from './routes/scoring';
import { manualEvaluationRoutes } from './routes/manualEvaluation';
import { reviewsRoutes } from './routes/reviews';
import { leaderboardRoutes } from './routes/leaderboard';
import { leaderboardPageRoutes } from './pages/leaderboardPage';
import { consoleRoutes } from './console/consoleRoutes';
import { estimateRoutes } from './routes/estimate';
import { comparisonsRoutes } from './routes/comparisons';
import { predictionsRoutes } from './routes/predictions';
import { flagevalUploadsRoutes } from './routes/flagevalUploads';

/** Every JSON body but a dataset upload (which sets its own) is small. */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;
const HEALTH_TIMEOUT_MS = 3_000;

/**
 * Paths a log line may carry a credential under. Fastify logs no bodies or headers by itself; this
 * is the second line of defence should one ever be logged.
 */
const REDACT_PATHS = [
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'request.headers.authorization',
  'apiKey',
  '*.apiKey',
  'deployment.apiKey',
  '*.deployment.apiKey',
  'body.deployment.apiKey',
  'req.body.deployment.apiKey',
  'request.body.deployment.apiKey',
  'jsonl',
  'body.jsonl',
  'req.body.jsonl',
  'judge.apiKey',
  '*.judge.apiKey',
  'body.default.judge.apiKey',
  'body.datasets.*.judge.apiKey',
  'body.config.default.judge.apiKey',
];

export async function buildApp(deps: ApiDeps, options: { logger?: boolean } = {}): Promise<FastifyInstance> {
  const app = Fastify({
    ...(options.logger === false ? { logger: false } : { loggerInstance: apiLogger(deps.logger) }),
    bodyLimit: DEFAULT_BODY_LIMIT,
    // Clients see the id in 500 answers and can quote it; logs carry it as reqId.
    requestIdHeader: false,
    return503OnClosing: true,
  }) as unknown as FastifyInstance;

  // Requests are checked by the contracts' schemas; responses are written by fastify's schema
  // serializer, so what a route's response schema does not name (an internal column, a field
  // added by mistake) never leaves.
  app.setValidatorCompiler(validatorCompiler);
  // JSON only: a text/plain body is refused with 415 rather than failing validation as a string.
  app.removeContentTypeParser('text/plain');
  // JSON is UTF-8 (RFC 8259): another charset is refused (415), and bytes that are not UTF-8 are
  // malformed JSON (400), rather than read as U+FFFD and stored as such.
  const parseJsonText = app.getDefaultJsonParser('error', 'error');
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const charset = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(request.headers['content-type'] ?? '')?.[1];
    if (charset !== undefined && !/^utf-?8$/i.test(charset)) {
      return done(
        Object.assign(new Error(`charset ${charset} is not supported`), {
          statusCode: 415,
          code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE',
        }),
        undefined,
      );
    }
    let text: string;
    try {
      text = utf8.decode(body as Buffer);
    } catch {
      return done(
        Object.assign(new Error('its bytes are not UTF-8'), { statusCode: 400, code: 'FST_ERR_CTP_INVALID_JSON_BODY' }),
        undefined,
      );
    }
    return parseJsonText(request, text, done);
  });
  registerErrorHandling(app);
  registerAuth(app, deps);
  await registerOpenApi(app);

  app.get('/openapi.json', { schema: { hide: true }, config: { public: true } }, async () => app.swagger());

  app.get(
    '/healthz',
    {
      schema: {
        summary: 'Whether the API can reach its database and Temporal',
        tags: ['operations'],
        response: { 200: Health, 503: { ...Health, description: 'The database or Temporal cannot be reached' } },
      },
      config: { public: true },
    },
    async (_request, reply) => {
      const [db, temporal] = await Promise.all([
        probe(deps.logger, 'database', () => pingDatabase(deps.db)),
        probe(deps.logger, 'temporal', () =>
          deps.temporal.connection.withDeadline(Date.now() + HEALTH_TIMEOUT_MS, () =>
            deps.temporal.workflowService.getSystemInfo({}),
          ),
        ),
      ]);
      const ok = db === 'ok' && temporal === 'ok';
      return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'degraded', db, temporal });
    },
  );

  await app.register(
    async (v1) => {
      await usersRoutes(v1, deps);
      await datasetsRoutes(v1, deps);
      await evaluationsRoutes(v1, deps);
      await runLaunchRoutes(v1, deps);
      await predictionsRoutes(v1, deps);
      await runsRoutes(v1, deps);
      await runComparisonRoutes(v1, deps);
      await runPredictionsRoutes(v1, deps);
      await uploadsRoutes(v1, deps);
      await imagesRoutes(v1, deps);
      await resourcesRoutes(v1, deps);
      await domainsRoutes(v1);
      await endpointBudgetsRoutes(v1, deps);
      await scoringRoutes(v1, deps);
      await manualEvaluationRoutes(v1, deps);
      await reviewsRoutes(v1, deps);
      await leaderboardRoutes(v1, deps);
      await comparisonsRoutes(v1, deps);
      await estimateRoutes(v1, deps);
    },
    { prefix: '/v1' },
  );
  await leaderboardPageRoutes(app, deps);
  // The web console: static files whose scripts call /v1 like any client (docs/console.md).
  await consoleRoutes(app);
  // Where the flageval-serving CLI looks for them, outside /v1.
  await flagevalUploadsRoutes(app, deps);
  return app;
}

function apiLogger(logger: Logger): Logger {
  return logger.child(
    {},
    {
      redact: {
        paths: [...REDACT_PATHS, 'req.url'],
        // The flageval-serving CLI sends its upload token in the query: the URL is logged without it.
        censor: (value, path) =>
          path.at(-1) === 'url' && typeof value === 'string' ? censorTokenInUrl(value) : '[redacted]',
      },
    },
  );
}

/** A URL with the value of its `token` query parameter replaced. */
export function censorTokenInUrl(url: string): string {
  return url.replace(/([?&]token=)[^&#]*/gi, '$1[redacted]');
}

/** 'ok', or a word for what is wrong; the cause goes to the log, not to anonymous callers. */
async function probe(logger: Logger, what: string, check: () => Promise<unknown>): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${HEALTH_TIMEOUT_MS} ms`)), HEALTH_TIMEOUT_MS);
      }),
    ]);
    return 'ok';
  } catch (error) {
    logger.warn({ err: error }, `health check: ${what} unreachable`);
    return 'unreachable';
  } finally {
    clearTimeout(timer);
  }
}
