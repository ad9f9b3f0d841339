/** Image management: preloaded and imported images, and their review by admins. */
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../apiDeps';

export async function imagesRoutes(_app: FastifyInstance, _deps: ApiDeps): Promise<void> {}
