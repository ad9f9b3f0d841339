/** The GPU types container hosts offer, with what is free and queued right now. */
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { ApiDeps } from '../apiDeps';
import type { GpuTypeView } from '../../contracts/resources';
import { leaseUsage } from '../../db/queries/containerLeases';

export const GpuTypeViewSchema = Type.Object({
  id: Type.String({ description: 'what deployment.gpuType names' }),
  label: Type.String(),
  driver: Type.Union([Type.String(), Type.Null()], {
    description: 'the Docker device driver, e.g. nvidia; null for CPU-only slots',
  }),
  total: Type.Integer({
    description: 'units the container hosts have of this type in all; the most one run may ask for',
  }),
  free: Type.Integer({ description: 'units not held by a running private run' }),
  queued: Type.Integer({ description: 'private runs waiting for units of this type' }),
});
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const viewInStep: Same<Static<typeof GpuTypeViewSchema>, GpuTypeView> = true;
void viewInStep;

const GpuTypeList = Type.Object({ items: Type.Array(GpuTypeViewSchema) });

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
