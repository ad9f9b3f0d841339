/**
 * Request validation with the TypeBox schemas of contracts/, turned into the errors clients act on:
 * one `{field, message}` per offending field, the field as a dotted path (`deployment.endpoint`,
 * `datasets[2]`) and the message taken from the rule the schema states in its `description`.
 *
 * Bodies are checked as sent: no type coercion, and unknown fields refused (a misspelt field should
 * be an error, not silently ignored). The only default filled in is that of a required field a
 * schema gives one (it may then be left out); optional fields stay absent, so an edit can tell
 * "not sent" from "sent". Path, query and header values arrive as strings, so they are converted
 * to the schema's types and get its defaults first.
 */
import type { FastifySchemaCompiler } from 'fastify';
import { FormatRegistry, Kind, type TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import { Value } from '@sinclair/typebox/value';
import type { FieldError } from '../contracts/problem';

// The WHATWG HTML definition of a valid e-mail address.
const EMAIL = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
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
  if (!(Kind in schema)) throw new Error(`${method} ${url}: the ${httpPart ?? 'request'} schema must be a TypeBox schema`);
  const check = TypeCompiler.Compile(schema);
  const fieldOf = (path: string) => fieldName(path, httpPart === 'body' ? 'body' : httpPart ?? 'request');
  const judge = (value: unknown) => {
    if (check.Check(value)) return { value };
    const errors = fieldErrors(check.Errors(value), fieldOf);
    return errors.length === 0 ? { value } : { error: errors };
  };
  if (httpPart === 'body') return (value) => judge(fillRequiredDefaults(schema, value));
  return (value) => judge(Value.Convert(schema, Value.Default(schema, structuredClone(value ?? {}))));
};

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
    return yield fieldError(fieldOf(path), path, value[tag] === undefined ? 'is required' : `must be one of ${tags.join(', ')}`);
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
  ValueErrorType.Array, ValueErrorType.Boolean, ValueErrorType.Integer, ValueErrorType.Literal, ValueErrorType.Null,
  ValueErrorType.Number, ValueErrorType.Object, ValueErrorType.String, ValueErrorType.Union,
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

/** JSON pointer → `deployment.endpoint` / `datasets[2]`; the whole part is named by the part. */
export function fieldName(pointer: string, whole: string): string {
  const segments = pointer.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (segments.length === 0) return whole;
  return segments.map((s, i) => (/^\d+$/.test(s) ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}

function fieldError(field: string, instancePath: string, message: string): SchemaFieldError {
  return { field, message, instancePath, keyword: 'rule', schemaPath: '', params: {}, [FIELD_ERRORS]: true };
}

export function isSchemaFieldError(value: unknown): value is SchemaFieldError {
  return typeof value === 'object' && value !== null && FIELD_ERRORS in value;
}
