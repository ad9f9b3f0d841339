/**
 * Bodies one step away from valid: a valid seed with exactly one field broken (a wrong type, a
 * length or number just out of range, a value the pattern or the enumeration refuses, an item too
 * many, a duplicate, an extra property, a required one left out), derived from the body's schema,
 * so every field the document declares is broken in every way its schema forbids. Each one is
 * checked against the schema oracle: what leaves here is invalid, and says which field it broke.
 */
import fc from 'fast-check';
import type { JsonSchema } from './openApiInputs';
import { fieldOf, isPlainObject, violations } from './schemaOracle';
import { valueAt, withValueAt as setAt, withoutValueAt as deleteAt, type JsonPath as Path } from './jsonPaths';

export interface NearMiss {
  /** The field broken, as the API names it ('' for the body as a whole). */
  field: string;
  /** How, for the report. */
  what: string;
  body: unknown;
}

interface Point {
  path: Path;
  schema: JsonSchema;
  /** Absent from the seed (an optional field): breaking it means adding it. */
  absent: boolean;
}

const WRONG_TYPED: unknown[] = [0, 1.5, -1, 'x', '', true, null, [], {}, ['x'], { x: 1 }];
const EXTRA_KEYS = ['extra', 'constructor', 'toString', 'hasOwnProperty'];

/** Every deterministic near miss of the seed; `seed` must be valid. */
export function nearMisses(schema: JsonSchema, seed: unknown): NearMiss[] {
  if (violations(schema, seed, { requiredDefaultsFilled: true }).length > 0) {
    throw new Error(
      `the seed is not valid: ${JSON.stringify(violations(schema, seed, { requiredDefaultsFilled: true }))}`,
    );
  }
  const found: NearMiss[] = [];
  const add = (path: Path, what: string, body: unknown) => found.push({ field: fieldOf(path), what, body });
  for (const point of mutationPoints(schema, seed)) {
    const { path, schema: s, absent } = point;
    const current = absent ? undefined : valueAt(seed, path);
    for (const candidate of brokenValues(s, current)) add(path, candidate.what, setAt(seed, path, candidate.value));
    const chosen = variantFor(s, current) ?? s;
    if (isPlainObject(current)) {
      const properties = (chosen.properties ?? {}) as Record<string, JsonSchema>;
      if (chosen.additionalProperties === false) {
        const first = Object.keys(current)[0];
        const keys = [...EXTRA_KEYS, ...(first ? [`${first}\u200d`, first.toUpperCase(), ` ${first}`] : [])];
        for (const key of keys.filter((k) => !Object.prototype.hasOwnProperty.call(properties, k))) {
          add([...path, key], `extra property ${JSON.stringify(key)}`, setAt(seed, [...path, key], 'x'));
        }
      }
      for (const name of (chosen.required ?? []) as string[]) {
        if (properties[name]?.default === undefined && name in current)
          add([...path, name], 'required field left out', deleteAt(seed, [...path, name]));
      }
      if ((chosen.minProperties ?? 0) > 0) add(path, 'no fields', setAt(seed, path, {}));
    }
    if (Array.isArray(current)) {
      if ((chosen.minItems ?? 0) > 0) add(path, 'no items', setAt(seed, path, []));
      if (chosen.maxItems !== undefined && current.length > 0) {
        const many = Array.from({ length: chosen.maxItems + 1 }, (_, i) =>
          typeof current[0] === 'string' ? `${current[0]}-x${i}` : current[i % current.length],
        );
        add(path, `${chosen.maxItems + 1} items`, setAt(seed, path, many));
      }
      if (chosen.uniqueItems && current.length > 0)
        add(path, 'a duplicate item', setAt(seed, path, [...current, current[0]]));
    }
  }
  return found.filter((m) => violations(schema, m.body, { requiredDefaultsFilled: true }).length > 0);
}

/** A random near miss: one field of the seed replaced by an arbitrary value its schema refuses. */
export function randomNearMiss(schema: JsonSchema, seed: unknown): fc.Arbitrary<NearMiss> {
  const points = mutationPoints(schema, seed).filter((p) => Object.keys(p.schema).some((k) => k !== 'description'));
  return fc.constantFrom(...points).chain((point) =>
    fc
      .jsonValue({ maxDepth: 2 })
      // Prototype keys make the whole body unparseable for the server (arbitrary JSON covers them), not this field wrong.
      .filter(
        (value) =>
          violations(point.schema, value).length > 0 && !/"(__proto__|constructor)"/.test(JSON.stringify(value)),
      )
      .map((value) => ({
        field: fieldOf(point.path),
        what: `replaced by ${JSON.stringify(value).slice(0, 80)}`,
        body: setAt(seed, point.path, value),
      })),
  );
}

/** The root, every field present in the seed (items included) and every optional field it leaves out. */
function mutationPoints(schema: JsonSchema, seed: unknown): Point[] {
  const points: Point[] = [];
  const visit = (s: JsonSchema, value: unknown, path: Path, absent: boolean) => {
    const chosen = variantFor(s, value);
    points.push({ path, schema: s, absent });
    if (absent || !chosen) return;
    if (isPlainObject(value)) {
      const properties = (chosen.properties ?? {}) as Record<string, JsonSchema>;
      for (const [name, property] of Object.entries(properties))
        visit(property, value[name], [...path, name], !(name in value));
    }
    if (Array.isArray(value) && chosen.items)
      value.forEach((item, i) => visit(chosen.items as JsonSchema, item, [...path, i], false));
  };
  visit(schema, seed, [], false);
  return points;
}

/** The schema the value is judged by: itself, or the variant of a union the value satisfies. */
function variantFor(schema: JsonSchema, value: unknown): JsonSchema | undefined {
  if (!schema.anyOf) return schema;
  return (schema.anyOf as JsonSchema[]).find((v) => violations(v, value).length === 0);
}

/** Values the schema refuses, each close to something it takes. */
function brokenValues(schema: JsonSchema, current: unknown): { what: string; value: unknown }[] {
  const candidates: { what: string; value: unknown }[] = [];
  const seenTypes = new Set<string>();
  for (const value of WRONG_TYPED) {
    const type = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
    if (seenTypes.has(type) || violations(schema, value).length === 0) continue;
    seenTypes.add(type);
    candidates.push({ what: `a ${type} instead`, value });
  }
  const s = variantFor(schema, current) ?? schema;
  const consts = ((schema.anyOf ?? []) as JsonSchema[])
    .map((v) => v.const)
    .filter((c) => typeof c === 'string') as string[];
  const text = typeof current === 'string' ? current : consts[0];
  if (text !== undefined) {
    for (const variant of [text.toUpperCase(), `${text}\u200d`, ` ${text}`, `${text}\u0000`, `x${text}`, '']) {
      candidates.push({ what: `${JSON.stringify(variant)} for ${JSON.stringify(text)}`, value: variant });
    }
  }
  if (s.type === 'string' || typeof s.maxLength === 'number') {
    if (typeof s.maxLength === 'number' && s.maxLength < 200_000) {
      candidates.push({ what: `${s.maxLength + 1} characters`, value: 'a'.repeat(s.maxLength + 1) });
      candidates.push({ what: `${s.maxLength + 1} emoji`, value: '😀'.repeat(s.maxLength + 1) });
    }
    if ((s.minLength ?? 0) > 0)
      candidates.push({ what: `${s.minLength - 1} characters`, value: 'a'.repeat(s.minLength - 1) });
  }
  if (s.type === 'integer' || s.type === 'number') {
    if (typeof s.minimum === 'number')
      candidates.push(
        { what: 'below the minimum', value: s.minimum - 1 },
        { what: 'just below the minimum', value: s.minimum - 0.5 },
      );
    if (typeof s.maximum === 'number')
      candidates.push(
        { what: 'above the maximum', value: s.maximum + 1 },
        { what: 'just above the maximum', value: s.maximum + 0.5 },
      );
    if (s.type === 'integer')
      candidates.push({ what: 'a fraction', value: (typeof current === 'number' ? current : 1) + 0.5 });
    candidates.push(
      { what: 'a huge number', value: 1e308 },
      { what: 'a huge negative number', value: -1e308 },
      { what: 'past 2^53', value: 2 ** 53 + 2 },
    );
  }
  return candidates.filter((c) => violations(schema, c.value).length > 0);
}
