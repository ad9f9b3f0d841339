/**
 * Request validation with the TypeBox schemas of contracts/, turned into the errors clients act on:
 * one `{field, message}` per offending field, the field as a dotted path (`deployment.endpoint`,
 * `datasets[2]`) and the message taken from the rule the schema states in its `description`.
 *
 * Bodies are checked as sent: no type coercion, and unknown fields refused (a misspelt field should
 * be an error, not silently ignored). The only default filled in is that of a required field a
 * schema gives one (it may then be left out); optional fields stay absent, so an edit can tell
 * "not sent" from "sent". Path, query and header values arrive as strings, so they get the
 * schema's defaults and are then read the plain way: a number only from decimal notation (`20`,
 * `2.5`, `1e3`; not `0x10`, ` 5` or `Infinity`), an integer only when a double holds it exactly
 * (at most 2^53 − 1 either way), a boolean only from `true` or `false`. Nothing is rounded or
 * truncated to fit: `limit=1.5` or `limit=1e400` is an error, not a page of 1.
 *
 * Every part is also held to a rule of the store: text may not contain NUL or an unpaired UTF-16
 * surrogate (JSON can spell both, `\u0000` and `\ud800`), which PostgreSQL cannot store in text
 * and UTF-8 cannot encode; such a value is refused naming its field rather than failing later.
 * And no value may nest more than 32 levels deep: the checks recurse, and a deep enough value
 * would overflow the stack instead of being refused.
 */
import type { FastifySchemaCompiler } from 'fastify';
import { FormatRegistry, Kind, type TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import { Value } from '@sinclair/typebox/value';
import type { FieldError } from '../../contracts/problem';

// The WHATWG HTML definition of a valid e-mail address.
const EMAIL =
  /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
if (!FormatRegistry.Has('email')) FormatRegistry.Set('email', (value) => EMAIL.test(value));

/** Marks validation errors built here, so the error handler can trust their shape. */
export const FIELD_ERRORS = Symbol('proctor.fieldErrors');

/** Shaped as fastify's validation errors too, which fastify's own error formatter reads. */
export interface SchemaFieldError extends FieldError {
  instancePath: string;
  keyword: string;
  schemaPath: string;
  params: Record<string, unknown>;
  [FIELD_ERRORS]: true;
}

export const validatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart, method, url }) => {
  if (!(Kind in schema))
    throw new Error(`${method} ${url}: the ${httpPart ?? 'request'} schema must be a TypeBox schema`);
  const check = TypeCompiler.Compile(schema);
  const fieldOf = (path: string) => fieldName(path, httpPart === 'body' ? 'body' : (httpPart ?? 'request'));
  const judge = (value: unknown) => {
    const walked = walk(value, fieldOf);
    // Checked before the schema is: the schema's checks recurse, and a value this deep would overflow the stack.
    if (walked.tooDeep.length > 0) return { error: walked.tooDeep };
    const schemaErrors = check.Check(value) ? [] : fieldErrors(check.Errors(value), fieldOf);
    const errors = [
      ...schemaErrors,
      ...walked.unstorable.filter((e) => !schemaErrors.some((s) => s.field === e.field)),
    ];
    return errors.length === 0 ? { value } : { error: errors };
  };
  if (httpPart === 'body') return (value) => judge(fillRequiredDefaults(schema, value));
  return (value) => judge(fromText(schema, Value.Default(schema, structuredClone(value ?? {}))));
};

/** Decimal notation only: what `Number` reads besides (hex, binary, padding, Infinity) is left as text, and so refused. */
const DECIMAL = /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/;

/** Path, query and header values read as the schema's numbers and booleans, the plain way (see above). */
function fromText(schema: TSchema, value: unknown): unknown {
  if (schema[Kind] !== 'Object' || !isObject(value)) return value;
  for (const [key, property] of Object.entries(schema.properties as Record<string, TSchema>)) {
    const text = value[key];
    if (typeof text !== 'string') continue;
    const kinds = new Set(((property.anyOf as TSchema[] | undefined) ?? [property]).map((s) => s[Kind] as string));
    const number = DECIMAL.test(text) ? Number(text) : NaN;
    if (kinds.has('Number') && Number.isFinite(number)) value[key] = number;
    else if (kinds.has('Integer') && Number.isSafeInteger(number)) value[key] = number;
    else if (kinds.has('Boolean') && (text === 'true' || text === 'false')) value[key] = text === 'true';
  }
  return value;
}

const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const UNSTORABLE_RULE = 'must be text without NUL (\\u0000) or unpaired surrogate (\\ud800–\\udfff) characters';
/** No request of this API nests anywhere near this deep; a value that does is refused before any check recurses into it. */
const MAX_DEPTH = 32;

/**
 * Strings and object keys the store cannot hold, and values nested past MAX_DEPTH (named by the
 * field that holds them), each as a field error. Walked with a stack of its own: a body may nest
 * deeper than the call stack goes.
 */
function walk(
  value: unknown,
  fieldOf: (path: string) => string,
): { unstorable: SchemaFieldError[]; tooDeep: SchemaFieldError[] } {
  const unstorable: SchemaFieldError[] = [];
  const tooDeep = new Map<string, SchemaFieldError>();
  const pending: { node: unknown; path: string; depth: number }[] = [{ node: value, path: '', depth: 0 }];
  const pointer = (path: string, key: string | number) =>
    `${path}/${String(key).replace(/~/g, '~0').replace(/\//g, '~1')}`;
  while (pending.length > 0 && unstorable.length < 100) {
    const { node, path, depth } = pending.pop()!;
    if (typeof node === 'string') {
      if (UNSTORABLE.test(node)) unstorable.push(fieldError(fieldOf(path), path, UNSTORABLE_RULE));
      continue;
    }
    if (typeof node !== 'object' || node === null) continue;
    if (depth >= MAX_DEPTH) {
      const first = path.split('/')[1];
      const outer = Array.isArray(value) || first === undefined ? '' : `/${first}`;
      tooDeep.set(outer, fieldError(fieldOf(outer), outer, `must not nest more than ${MAX_DEPTH} levels deep`));
      continue;
    }
    if (Array.isArray(node)) {
      node.forEach((item, i) => pending.push({ node: item, path: pointer(path, i), depth: depth + 1 }));
      continue;
    }
    for (const [key, item] of Object.entries(node)) {
      if (UNSTORABLE.test(key))
        unstorable.push(fieldError(fieldOf(pointer(path, key)), pointer(path, key), UNSTORABLE_RULE));
      else pending.push({ node: item, path: pointer(path, key), depth: depth + 1 });
    }
  }
  return { unstorable: unstorable.reverse(), tooDeep: [...tooDeep.values()] };
}

function fillRequiredDefaults(schema: TSchema, value: unknown): unknown {
  if (schema[Kind] !== 'Object' || !isObject(value)) return value;
  const required = new Set<string>((schema.required as string[] | undefined) ?? []);
  for (const [key, property] of Object.entries(schema.properties as Record<string, TSchema>)) {
    if (!(key in value)) {
      if (required.has(key) && property.default !== undefined) value[key] = structuredClone(property.default);
    } else {
      fillRequiredDefaults(property, value[key]);
    }
  }
  return value;
}

/** The first error of each field, in the order the schema states its properties. */
function fieldErrors(errors: Iterable<ValueError>, fieldOf: (path: string) => string): SchemaFieldError[] {
  const byField = new Map<string, SchemaFieldError>();
  for (const error of flatten(errors, fieldOf)) {
    if (!byField.has(error.field)) byField.set(error.field, error);
  }
  return [...byField.values()];
}

function* flatten(errors: Iterable<ValueError>, fieldOf: (path: string) => string): Generator<SchemaFieldError> {
  for (const error of errors) {
    if (error.type === ValueErrorType.Union) {
      yield* union(error, fieldOf);
      continue;
    }
    if (lengthHoldsInCodePoints(error)) continue;
    yield fieldError(fieldOf(error.path), error.path, messageOf(error));
  }
}

/**
 * A union fails as a whole; say why in terms of the variant the client meant. A discriminated
 * union (the deployment, by `method`) picks the variant by its tag; a nullable value picks the
 * variant of the value's type. When no variant is meant, the union's own rule is the message.
 */
function* union(error: ValueError, fieldOf: (path: string) => string): Generator<SchemaFieldError> {
  const variants = (error.schema.anyOf ?? []) as TSchema[];
  const tag = error.schema.discriminator as string | undefined;
  const value = error.value as Record<string, unknown> | undefined;
  if (tag && isObject(value)) {
    const index = variants.findIndex((v) => v.properties?.[tag]?.const === value[tag]);
    if (index >= 0) return yield* flatten(error.errors[index]!, fieldOf);
    const tags = variants.map((v) => v.properties?.[tag]?.const).filter((t) => t !== undefined);
    const path = `${error.path}/${tag}`;
    return yield fieldError(
      fieldOf(path),
      path,
      value[tag] === undefined ? 'is required' : `must be one of ${tags.join(', ')}`,
    );
  }
  const meant = error.errors
    .map((iterator, index) => ({ index, errors: [...iterator] as ValueError[] }))
    .filter((v) => !v.errors.some((e) => e.path === error.path && TYPE_MISMATCH.has(e.type)));
  if (meant.length === 1) return yield* flatten(meant[0]!.errors, fieldOf);
  const rule = (error.schema.description as string | undefined) ?? `must be ${variants.map(typeName).join(' or ')}`;
  yield fieldError(fieldOf(error.path), error.path, asMessage(rule));
}

/** Errors that say the value is of another type (or constant) than the variant, i.e. not meant for it. */
const TYPE_MISMATCH = new Set<ValueErrorType>([
  ValueErrorType.Array,
  ValueErrorType.Boolean,
  ValueErrorType.Integer,
  ValueErrorType.Literal,
  ValueErrorType.Null,
  ValueErrorType.Number,
  ValueErrorType.Object,
  ValueErrorType.String,
  ValueErrorType.Union,
]);

/**
 * JSON Schema counts a string's length in characters (code points); TypeBox counts UTF-16 units,
 * which would make an emoji count twice. A length error that holds in code points is no error.
 */
function lengthHoldsInCodePoints(error: ValueError): boolean {
  if (typeof error.value !== 'string') return false;
  const length = [...error.value].length;
  if (error.type === ValueErrorType.StringMaxLength) return length <= (error.schema.maxLength as number);
  if (error.type === ValueErrorType.StringMinLength) return length >= (error.schema.minLength as number);
  return false;
}

function messageOf(error: ValueError): string {
  switch (error.type) {
    case ValueErrorType.ObjectRequiredProperty:
      return 'is required';
    case ValueErrorType.ObjectAdditionalProperties:
      return 'is not a known field';
    case ValueErrorType.ObjectMinProperties:
      return `must have at least ${error.schema.minProperties as number} field${error.schema.minProperties === 1 ? '' : 's'}`;
    default: {
      const rule = error.schema.description as string | undefined;
      return rule ? asMessage(rule) : error.message.charAt(0).toLowerCase() + error.message.slice(1);
    }
  }
}

/** Schema descriptions state rules as "must be …" or, for enumerations, "one of …". */
function asMessage(rule: string): string {
  return rule.startsWith('one of ') ? `must be ${rule}` : rule;
}

function typeName(schema: TSchema): string {
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  return (schema.type as string | undefined) ?? 'valid';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * JSON pointer → `deployment.endpoint` / `datasets[2]`; the whole part is named by the part. A key
 * that would not read as a name (empty, with a dot, bracket, quote, space or an invisible
 * character) is written quoted in brackets, `[""]`, `deployment["method\u200d"]`, with invisible
 * characters escaped: the client sees exactly which key was wrong.
 */
export function fieldName(pointer: string, whole: string): string {
  const segments = pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (segments.length === 0) return whole;
  return segments
    .map((s, i) => (/^\d+$/.test(s) ? `[${s}]` : ODD_KEY.test(s) ? `[${quotedKey(s)}]` : i === 0 ? s : `.${s}`))
    .join('');
}

const ODD_KEY = /^$|[.[\]"\\\p{C}\p{Z}]/u;

function quotedKey(key: string): string {
  const escape = (unit: string) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`;
  return JSON.stringify(key).replace(/[\p{C}\p{Z}]/gu, (ch) => (ch === ' ' ? ch : ch.split('').map(escape).join('')));
}

function fieldError(field: string, instancePath: string, message: string): SchemaFieldError {
  return { field, message, instancePath, keyword: 'rule', schemaPath: '', params: {}, [FIELD_ERRORS]: true };
}

export function isSchemaFieldError(value: unknown): value is SchemaFieldError {
  return typeof value === 'object' && value !== null && FIELD_ERRORS in value;
}
