/** The GPU types container hosts offer, with what is free and queued right now. */
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../apiDeps';
import { GpuTypeList, type GpuTypeView } from '../../contracts/resources';
import { leaseUsage } from '../../db/queries/containerLeases';

export async function resourcesRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  app.get(
    '/resources',
    {
      schema: {
        summary: 'GPU types for private deployment, with free and queued units',
        description:
          'The types deployment.gpuType may name, as configured (PROCTOR_GPU_TYPES). A type with no free units still takes ' +
          'runs: they wait in its queue, higher priority first, then oldest first.',
        tags: ['resources'],
        response: { 200: GpuTypeList },
      },
    },
    async () => {
      const usage = await leaseUsage(deps.db);
      const items: GpuTypeView[] = deps.env.containers.gpuTypes.map((type) => {
        const { held, queued } = usage.get(type.id) ?? { held: 0, queued: 0 };
        return { ...type, free: Math.max(0, type.total - held), queued };
      });
      return { items };
    },
  );
}
