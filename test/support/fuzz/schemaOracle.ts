/**
 * Whether a value satisfies a schema of the served OpenAPI document, decided here and not by the
 * server's own validator: the fuzz tests need an independent judge of "this body is invalid, so a
 * 2xx would be a bug" and "this body happens to be valid, so a 2xx is no bug".
 *
 * It reads the JSON Schema keywords the document uses (type, const, anyOf, properties, required,
 * additionalProperties, minProperties, items, minItems, maxItems, uniqueItems, minLength,
 * maxLength, pattern, format: email, minimum, maximum) and refuses to judge a schema with any other,
 * so a new keyword is noticed rather than silently ignored. Two rules of the API are followed on
 * purpose: lengths count characters (code points), as JSON Schema says; and a required body field
 * whose schema has a default may be left out (api/http/schemaValidation.ts fills it in).
 */
import type { JsonSchema } from './openApiInputs';

export interface Violation {
  /** Where, as the API names fields: `deployment.endpoint`, `datasets[2]`; '' for the whole value. */
  field: string;
  rule: string;
}

const KNOWN = new Set([
  'type',
  'const',
  'anyOf',
  'properties',
  'required',
  'additionalProperties',
  'minProperties',
  'items',
  'minItems',
  'maxItems',
  'uniqueItems',
  'minLength',
  'maxLength',
  'pattern',
  'format',
  'minimum',
  'maximum',
  // Words, not rules.
  'description',
  'default',
  'title',
  'discriminator',
  'examples',
]);

// The WHATWG HTML definition of a valid e-mail address (what `format: email` means for this API).
const EMAIL =
  /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

export function violations(
  schema: JsonSchema,
  value: unknown,
  options: { requiredDefaultsFilled?: boolean } = {},
): Violation[] {
  const found: Violation[] = [];
  check(schema, value, [], found, options.requiredDefaultsFilled ?? false);
  return found;
}

export function isValid(
  schema: JsonSchema,
  value: unknown,
  options: { requiredDefaultsFilled?: boolean } = {},
): boolean {
  return violations(schema, value, options).length === 0;
}

/**
 * `deployment.endpoint`, `datasets[2]`, `[""]`, `deployment["method\u200d"]`: how the API names a
 * path (README: errors name the offending field), keys that do not read as names quoted in brackets.
 */
export function fieldOf(path: readonly (string | number)[]): string {
  return path
    .map((s, i) => (typeof s === 'number' ? `[${s}]` : ODD_KEY.test(s) ? `[${quoted(s)}]` : i === 0 ? s : `.${s}`))
    .join('');
}

const ODD_KEY = /^$|[.[\]"\\\p{C}\p{Z}]/u;

/** JSON-quoted, with invisible characters (format, control, separators but the space) as \u escapes. */
function quoted(key: string): string {
  return JSON.stringify(key).replace(/[\p{C}\p{Z}]/gu, (ch) =>
    ch === ' '
      ? ch
      : [...Array(ch.length).keys()].map((i) => `\\u${ch.charCodeAt(i).toString(16).padStart(4, '0')}`).join(''),
  );
}

function check(
  schema: JsonSchema,
  value: unknown,
  path: (string | number)[],
  out: Violation[],
  fillDefaults: boolean,
): void {
  const unknown = Object.keys(schema).filter((k) => !KNOWN.has(k));
  if (unknown.length > 0)
    throw new Error(`the schema oracle does not know ${unknown.join(', ')} (at ${fieldOf(path) || 'the root'})`);
  const fail = (rule: string, at = path): void => void out.push({ field: fieldOf(at), rule });

  if (schema.anyOf) {
    const matches = (schema.anyOf as JsonSchema[]).some(
      (variant) => violations(variant, value, { requiredDefaultsFilled: fillDefaults }).length === 0,
    );
    if (!matches) fail('anyOf');
  }
  if ('const' in schema && !sameJson(schema.const, value)) fail('const');
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
    if (!types.some((t) => isOfType(t, value))) return fail(`type ${types.join('|')}`);
  }

  if (typeof value === 'string') {
    const length = [...value].length;
    if (schema.minLength !== undefined && length < schema.minLength) fail('minLength');
    if (schema.maxLength !== undefined && length > schema.maxLength) fail('maxLength');
    if (schema.pattern !== undefined && !new RegExp(schema.pattern as string).test(value)) fail('pattern');
    if (schema.format === 'email' && !EMAIL.test(value)) fail('format');
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) fail('minimum');
    if (schema.maximum !== undefined && value > schema.maximum) fail('maximum');
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) fail('minItems');
    if (schema.maxItems !== undefined && value.length > schema.maxItems) fail('maxItems');
    if (schema.uniqueItems && new Set(value.map(itemKey)).size !== value.length) fail('uniqueItems');
    if (schema.items)
      value.forEach((item, i) => check(schema.items as JsonSchema, item, [...path, i], out, fillDefaults));
  }
  if (isPlainObject(value)) {
    const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
    const keys = Object.keys(value);
    for (const name of (schema.required ?? []) as string[]) {
      const defaulted = fillDefaults && properties[name]?.default !== undefined;
      if (!keys.includes(name) && !defaulted) fail('required', [...path, name]);
    }
    // Defaults filled in count as sent, as they do on the server.
    const filled = fillDefaults
      ? new Set([...keys, ...((schema.required ?? []) as string[]).filter((n) => properties[n]?.default !== undefined)])
      : new Set(keys);
    if (schema.minProperties !== undefined && filled.size < schema.minProperties) fail('minProperties');
    for (const key of keys) {
      const property = Object.prototype.hasOwnProperty.call(properties, key) ? properties[key] : undefined;
      if (property) check(property, value[key], [...path, key], out, fillDefaults);
      else if (schema.additionalProperties === false) fail('additionalProperties', [...path, key]);
    }
  }
}

function isOfType(type: string, value: unknown): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'null':
      return value === null;
    case 'array':
      return Array.isArray(value);
    case 'object':
      return isPlainObject(value);
    default:
      throw new Error(`the schema oracle does not know the type ${type}`);
  }
}

/** The schema a path of a value is judged by (through the variant of a union the value there satisfies). */
export function schemaAt(
  schema: JsonSchema,
  value: unknown,
  path: readonly (string | number)[],
): JsonSchema | undefined {
  let s: JsonSchema | undefined = schema;
  let v: unknown = value;
  for (const key of path) {
    if (!s) return undefined;
    if (s.anyOf) s = (s.anyOf as JsonSchema[]).find((variant) => violations(variant, v).length === 0) ?? s;
    s = typeof key === 'number' ? (s.items as JsonSchema | undefined) : (s.properties?.[key] as JsonSchema | undefined);
    v = (v as any)?.[key];
  }
  return s;
}

/** A string the schema takes whatever its text: no pattern, format or enumeration. */
export function isFreeText(schema: JsonSchema | undefined): boolean {
  return (
    schema?.type === 'string' &&
    schema.pattern === undefined &&
    schema.format === undefined &&
    schema.anyOf === undefined &&
    schema.const === undefined
  );
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An item's identity for uniqueItems; one nested too deep to write out counts as distinct (equal ones that deep do not occur here). */
function itemKey(item: unknown, index: number): string {
  try {
    return canonicalJson(item);
  } catch (error) {
    if (error instanceof RangeError) return `too deep to compare #${index}`;
    throw error;
  }
}

function sameJson(a: unknown, b: unknown): boolean {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) return a === b;
  return itemKey(a, 0) === itemKey(b, 1);
}

/** JSON with object keys sorted: equal values, equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (isPlainObject(value)) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'undefined';
}
