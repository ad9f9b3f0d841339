import { upsertSearchAttributes } from '@temporalio/workflow';
import { SEARCH_ATTRIBUTE_KEYS } from '../temporal.config';
import type { RunStatus } from '../contracts/run';

/** Keeps the ProctorStatus search attribute in step, so operators can filter runs by status. */
export function publishRunStatus(status: RunStatus): void {
  upsertSearchAttributes([{ key: SEARCH_ATTRIBUTE_KEYS.status, value: status }]);
}
