/**
 * GPU types the container hosts offer, and the container slots of queued private runs. The
 * catalog comes from configuration (PROCTOR_GPU_TYPES); a type with no driver is CPU-only.
 */
import { Type, type Static } from '@sinclair/typebox';
import { nullable } from './common';

export const GpuType = Type.Object({
  id: Type.String({ description: 'what deployment.gpuType names' }),
  label: Type.String(),
  driver: nullable(Type.String(), {
    description: 'the Docker device driver, e.g. nvidia; null for CPU-only slots',
  }),
  total: Type.Integer({
    description:
      'units (GPUs, or CPU-only slots) the container hosts have of this type in all; the most one run may ask for',
  }),
});
export type GpuType = Static<typeof GpuType>;

export const GpuTypeView = Type.Composite([
  GpuType,
  Type.Object({
    free: Type.Integer({ description: 'units not held by a running private run' }),
    queued: Type.Integer({ description: 'private runs waiting for units of this type' }),
  }),
]);
export type GpuTypeView = Static<typeof GpuTypeView>;

export const GpuTypeList = Type.Object({ items: Type.Array(GpuTypeView) });

export const PRIORITY_RANK = { high: 0, medium: 1, low: 2 } as const;
export type Priority = keyof typeof PRIORITY_RANK;
