/** Upload tokens, upload versions, and the token-authenticated upload, cp and ls of model and code. */
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../apiDeps';

export async function uploadsRoutes(_app: FastifyInstance, _deps: ApiDeps): Promise<void> {}
