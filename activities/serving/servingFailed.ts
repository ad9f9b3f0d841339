import { ApplicationFailure } from '@temporalio/common';
import { ERROR_TYPES } from '../../temporal.config';

/**
 * A model container that cannot serve: the upload is unusable, the service never became healthy,
 * or it keeps crashing. Retrying the activity would not help, so the failure carries the reason
 * the user reads on the run.
 */
export function servingFailed(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, ERROR_TYPES.servingFailed);
}

export function requireServing<T>(value: T | null | undefined, what: string): T {
  if (value === null || value === undefined) {
    throw ApplicationFailure.nonRetryable(
      `this worker is not configured for private deployment (${what} missing)`,
      ERROR_TYPES.invalidConfiguration,
    );
  }
  return value;
}
