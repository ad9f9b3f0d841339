/**
 * Well-formed JSON that is (almost surely) not what an endpoint takes, as the exact text sent:
 * arbitrary values, values under the endpoint's own field names, deep nesting, numbers no double
 * holds, strings that read like numbers, very long strings, and keys that reach for the prototype.
 * Text rather than values, because `1e400`, `-0` or a lone surrogate escape cannot be written by
 * JSON.stringify from a value that means the same.
 */
import fc from 'fast-check';
import { unicodeEdge } from './unicodeEdges';

/** Numbers as JSON writes them that do not survive as a double, or are on an edge of one. */
const RAW_NUMBERS = [
  '1e400',
  '-1e400',
  '1e-400',
  '-0',
  '0.0',
  '1.0',
  '1E+2',
  '9007199254740993',
  '123456789012345678901234567890',
  '-9223372036854775809',
  '2147483648',
  '4294967296',
  '0.1e1',
  '5e-324',
  '1.7976931348623157e308',
];

/** Strings a lenient reader might take for something else. */
const LOOKALIKES = [
  'NaN',
  'Infinity',
  '-Infinity',
  'null',
  'undefined',
  'true',
  'false',
  '0x1F',
  '1e999',
  '  42  ',
  '',
  '[object Object]',
  '{}',
];

/** Keys that mean something to JavaScript objects. */
export const PROTOTYPE_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  '__defineGetter__',
  'isAdmin',
];

const str = (text: string) => JSON.stringify(text);

/** A JSON text of a leaf value: any number text, any lookalike, an edge string, a long string. */
const leafText = (): fc.Arbitrary<string> =>
  fc.oneof(
    fc.constantFrom(...RAW_NUMBERS),
    fc.constantFrom(...LOOKALIKES).map(str),
    unicodeEdge().map(str),
    fc.integer({ min: 1_000, max: 300_000 }).map((n) => str('x'.repeat(n))),
    fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
  );

/** An object's text from key and value texts; keys may repeat (the last one wins in JSON.parse). */
const objectText = (entries: [string, string][]) => `{${entries.map(([k, v]) => `${str(k)}:${v}`).join(',')}}`;

/** Arbitrary JSON texts; `fieldNames` are the endpoint's own, so garbage also reaches its fields. */
export function garbageJsonText(fieldNames: readonly string[]): fc.Arbitrary<string> {
  const key = fc.oneof(
    { weight: 3, arbitrary: fieldNames.length > 0 ? fc.constantFrom(...fieldNames) : fc.string() },
    { weight: 1, arbitrary: fc.constantFrom(...PROTOTYPE_KEYS) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }) },
  );
  const deep = fc
    .tuple(
      fc.integer({ min: 64, max: 50_000 }),
      fc.constantFrom('array', 'object', 'field', 'field and prototype key'),
      fieldNames.length > 0 ? fc.constantFrom(...fieldNames) : fc.constant('a'),
    )
    .map(([depth, kind, name]) => {
      const nested = `${'['.repeat(depth)}${']'.repeat(depth)}`;
      if (kind === 'array') return nested;
      if (kind === 'object') return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
      // A prototype key makes a guarding parser walk the whole value.
      if (kind === 'field and prototype key') return `{${str(name)}:${nested},"constructor":{"prototype":{}}}`;
      return `{${str(name)}:${nested}}`;
    });
  return fc.oneof(
    { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 5 }).map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: fc.anything({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? 'null') },
    { weight: 4, arbitrary: fc.array(fc.tuple(key, leafText()), { minLength: 1, maxLength: 6 }).map(objectText) },
    { weight: 1, arbitrary: leafText() },
    { weight: 1, arbitrary: deep },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          fc.constantFrom(...PROTOTYPE_KEYS),
          fc.constantFrom('{"role":"admin","isAdmin":true}', '{"prototype":{"polluted":true}}', '1', '"x"'),
        )
        .map(([k, v]) => objectText([[k, v]])),
    },
  );
}
