/**
 * Inference parameters beyond their schema: how a body's fields merge into the stored ones (null
 * removes an optional field) and the rules that tie fields to each other or to the deployment,
 * checked on the result of the merge, so an edit of either side is held to them.
 */
import type { FieldError } from '../../contracts/problem';
import type { InferenceInput, InferenceParams } from '../../contracts/evaluation';
import { TEMPLATE_SYSTEM } from '../../contracts/generation';

/** The stored parameters with the body's applied: fields sent replace, null removes. */
export function mergeInference(base: InferenceParams, input: InferenceInput | undefined): InferenceParams {
  const merged: Record<string, unknown> = { ...base };
  for (const [field, value] of Object.entries(input ?? {})) {
    if (value === undefined) continue;
    if (value === null) delete merged[field];
    else merged[field] = value;
  }
  return merged as InferenceParams;
}

/** Where the model is asked: an API deployment in chat mode sends messages, anything else a prompt text. */
export interface AskedThrough {
  method: string;
  apiMode?: string;
}

export function inferenceErrors(inference: InferenceParams, deployment: AskedThrough): FieldError[] {
  const errors: FieldError[] = [];
  const chat = deployment.method === 'api' && (deployment.apiMode ?? 'chat') === 'chat';
  if (inference.template && chat)
    errors.push({
      field: 'inference.template',
      message:
        'applies to completion mode only: a chat endpoint applies the model’s own chat template; set deployment.apiMode to completion or remove the template (null)',
    });
  if (inference.doSample === true && inference.temperature === 0)
    errors.push({
      field: 'inference.temperature',
      message: 'must be above 0 when doSample is true (temperature 0 is greedy decoding); or set doSample to false',
    });
  if (
    inference.template?.name === 'custom' &&
    inference.systemPrompt &&
    !inference.template.text.includes(TEMPLATE_SYSTEM)
  )
    errors.push({
      field: 'inference.systemPrompt',
      message: `has no place in the custom template: add ${TEMPLATE_SYSTEM} to inference.template.text, or remove the system prompt (null)`,
    });
  return errors;
}
