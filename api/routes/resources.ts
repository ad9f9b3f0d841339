/** The GPU types container hosts offer, with what is free and queued right now. */
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../apiDeps';

export async function resourcesRoutes(_app: FastifyInstance, _deps: ApiDeps): Promise<void> {}
