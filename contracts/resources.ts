/**
 * GPU types the container hosts offer, and the container slots of queued private runs. The
 * catalog comes from configuration (PROCTOR_GPU_TYPES); a type with no driver is CPU-only.
 */
export interface GpuType {
  id: string;
  label: string;
  /** Docker device-request driver, e.g. `nvidia`; null for a CPU-only slot type. */
  driver: string | null;
  /** Units (GPUs, or CPU-only slots) the hosts have of this type in all. */
  total: number;
}

export interface GpuTypeView extends GpuType {
  /** Units not held by a running private run right now. */
  free: number;
  /** Private runs waiting for units of this type. */
  queued: number;
}

export const PRIORITY_RANK = { high: 0, medium: 1, low: 2 } as const;
export type Priority = keyof typeof PRIORITY_RANK;
