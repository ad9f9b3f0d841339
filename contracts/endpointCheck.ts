/**
 * The connectivity test of an API deployment (POST /v1/evaluations/{id}/endpoint-check), before a
 * run spends a quota slot: is the endpoint reachable, does it list the model, does one tiny
 * completion come back, and how long each took. A worker of the inference queue makes the calls
 * (the API never calls a user's URL), with the evaluation's key opened there.
 */
import { Type, type Static } from '@sinclair/typebox';
import { literalUnion } from './literalUnion';
import { nullable, Timestamp } from './common';

/** How long the API waits for the worker's answer; the check's own calls are bounded below it. */
export const ENDPOINT_CHECK_WAIT_MS = 30_000;
/** Each call of the check (list, completion) gives up after this. */
export const ENDPOINT_CHECK_CALL_TIMEOUT_MS = 10_000;
/** What the completion asks, and how much it may answer. */
export const ENDPOINT_CHECK_PROMPT = 'Reply with the single word OK.';
export const ENDPOINT_CHECK_MAX_TOKENS = 8;

export const ENDPOINT_CHECK_STEPS = ['reachable', 'model', 'completion'] as const;
export type EndpointCheckStepName = (typeof ENDPOINT_CHECK_STEPS)[number];

export const EndpointCheckStep = Type.Object({
  step: literalUnion(ENDPOINT_CHECK_STEPS, {
    description:
      'reachable: GET {endpoint}/models answered at all; model: the model to ask is listed (or, with no online model name, the first listed); completion: one tiny completion came back',
  }),
  status: literalUnion(['passed', 'failed', 'warning', 'skipped'], {
    description: 'warning: not fatal (e.g. the endpoint lists no models but answers completions)',
  }),
  latencyMs: nullable(Type.Integer()),
  detail: Type.String({ description: 'what was found, or what failed and why' }),
});
export type EndpointCheckStep = Static<typeof EndpointCheckStep>;

export const EndpointCheckView = Type.Object({
  ok: Type.Boolean({ description: 'true when the endpoint answered a completion: a run can be launched against it' }),
  endpoint: Type.String(),
  model: nullable(Type.String({ description: 'the model the check asked (and a run would ask)' })),
  apiMode: literalUnion(['chat', 'completion']),
  steps: Type.Array(EndpointCheckStep),
  checkedAt: Timestamp,
});
export type EndpointCheckView = Static<typeof EndpointCheckView>;

export interface EndpointCheckInput {
  evaluationId: string;
}
