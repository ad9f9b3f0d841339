/**
 * Errors thrown as classes reach Temporal with their class name as the failure's type, so those
 * names must be the ones temporal.config.ts lists: the retry policies stop retrying by them.
 */
import { expect, it } from 'vitest';
import { ERROR_TYPES, NON_RETRYABLE_ERRORS } from '../temporal.config';
import { RunNotFound } from '../db/queries/runRecords';
import { SecretUnavailable } from '../db/secretBox';
import { JudgeKeyMissing } from '../activities/judging/resolveJudge';

it('names the error classes activities throw by their types in ERROR_TYPES', () => {
  expect(new RunNotFound('').name).toBe(ERROR_TYPES.runNotFound);
  expect(new SecretUnavailable('').name).toBe(ERROR_TYPES.secretUnavailable);
  expect(new JudgeKeyMissing('').name).toBe(ERROR_TYPES.invalidConfiguration);
  expect(NON_RETRYABLE_ERRORS).toEqual(
    expect.arrayContaining([ERROR_TYPES.runNotFound, ERROR_TYPES.secretUnavailable, ERROR_TYPES.invalidConfiguration]),
  );
});
