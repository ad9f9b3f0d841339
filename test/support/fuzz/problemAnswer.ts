/**
 * What every refusal must look like, as a list of complaints rather than an assertion, so a
 * property can say which request broke the rule: application/problem+json with type, title, status
 * (the response's own) and detail, and for a 400 `errors` naming each offending field.
 */
import type { RawResponse } from './rawRequest';

export interface Expectation {
  /** 'invalid': the input breaks the schema (a 400 naming `field`); 'refused': any 4xx; 'any': anything but a 5xx. */
  kind: 'invalid' | 'refused' | 'any';
  /** The field the input broke, as the API names it ('' for the whole body or query); a list when any of them will do. */
  field?: string | string[];
  /** Statuses expected instead of 400 for an invalid input (415 for a content type, 413 for a size). */
  statuses?: number[];
}

export function complaints(res: RawResponse, expected: Expectation): string[] {
  const found: string[] = [];
  if (res.status >= 500 || res.status < 200) found.push(`answered ${res.status}`);
  if (expected.kind !== 'any' && (res.status < 400 || res.status >= 500))
    found.push(`answered ${res.status} where a refusal (4xx) was due`);
  if (expected.kind === 'invalid') {
    const statuses = expected.statuses ?? [400];
    if (res.status >= 400 && res.status < 500 && !statuses.includes(res.status))
      found.push(`answered ${res.status}, not ${statuses.join(' or ')}`);
  }
  if (res.status >= 400 && res.text !== '') found.push(...problemShape(res));
  if (
    expected.kind === 'invalid' &&
    res.status === 400 &&
    expected.field !== undefined &&
    Array.isArray(res.body?.errors)
  ) {
    const fields = (res.body.errors as { field: string }[]).map((e) => e.field);
    const broken = ([] as string[]).concat(expected.field);
    if (!fields.some((f) => broken.some((b) => names(f, b))))
      found.push(`errors name ${JSON.stringify(fields)}, not ${broken.map((b) => b || 'the body').join(' or ')}`);
  }
  return found;
}

function problemShape(res: RawResponse): string[] {
  const found: string[] = [];
  const type = String(res.headers['content-type'] ?? '');
  if (!/^application\/problem\+json\b/.test(type))
    found.push(`content type ${JSON.stringify(type)}, not application/problem+json`);
  const body = res.body as Record<string, unknown> | string;
  if (typeof body !== 'object' || body === null) return [...found, 'the body is not a JSON object'];
  for (const key of ['type', 'title', 'detail'] as const) {
    if (typeof body[key] !== 'string' || (body[key] as string).length === 0)
      found.push(`${key} is ${JSON.stringify(body[key])}`);
  }
  if (body.status !== res.status)
    found.push(`status in the body is ${JSON.stringify(body.status)}, the response's is ${res.status}`);
  if (res.status === 400) {
    const errors = body.errors as { field?: unknown; message?: unknown }[] | undefined;
    if (!Array.isArray(errors) || errors.length === 0) found.push('a 400 without errors naming the fields');
    else if (
      !errors.every(
        (e) => typeof e.field === 'string' && e.field !== '' && typeof e.message === 'string' && e.message !== '',
      )
    ) {
      found.push(`errors not all {field, message}: ${JSON.stringify(errors).slice(0, 300)}`);
    }
  }
  return found;
}

/**
 * Whether an error's field names the broken one: itself, a field containing it (a union that could
 * not tell which variant was meant), or a field inside it (an object sent without its required fields).
 */
function names(field: string, broken: string): boolean {
  if (broken === '') return true;
  const within = (inner: string, outer: string) => inner.startsWith(`${outer}.`) || inner.startsWith(`${outer}[`);
  return field === broken || within(broken, field) || within(field, broken);
}
