/**
 * Query strings for an operation's declared parameters, good and bad: repeated keys, array and
 * prototype keys, numbers past every limit, negative and fractional page sizes, edge text, cursors
 * that are not cursors, and escapes that do not decode. Each comes with the schema oracle's
 * verdict, reading a value the plain way (decimal numbers, true/false): `invalid` (a 2xx would be
 * a bug, a 400 must name the field), `valid`, or `unjudged` when only a lenient reader would take
 * it (`0x10`, `1e2`, `TRUE`) or the key is one the document does not declare.
 */
import fc from 'fast-check';
import type { JsonSchema, QueryParameter } from './openApiInputs';
import { violations } from './schemaOracle';
import { unicodeEdge } from './unicodeEdges';

export interface QueryCase {
  /** After the `?`, exactly as sent. */
  raw: string;
  verdict: 'valid' | 'invalid' | 'unjudged';
  /** The parameters the oracle finds invalid. */
  invalid: string[];
}

const NUMBER_TEXTS = [
  '0',
  '1',
  '-1',
  '-0',
  '1.5',
  '0.5',
  '100.0',
  '2',
  '20',
  '999',
  '1000',
  '1001',
  '2147483647',
  '2147483648',
  '9007199254740993',
  '99999999999999999999',
  '1e400',
  '-1e400',
  '1e20',
  '1e2',
  '0x10',
  '+5',
  ' 5',
  '.5',
  'NaN',
  'Infinity',
  '',
  'abc',
  '١٢',
  '５',
];
const JSON_NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;
const PLAIN_INTEGER = /^-?(0|[1-9]\d*)$/;

/** Percent-escapes that do not decode to text, and separators a parser may trip on. */
const MALFORMED = [
  '%',
  '%zz',
  '%E0%A4%A',
  '%ff',
  '%ED%A0%80',
  '%C0%AF',
  '%00',
  '%u0041',
  '&&',
  '=',
  ';',
  '%%',
  '%2',
  '+%2B+',
];

/** Text as UTF-8 percent-escapes (encodeURIComponent refuses a lone surrogate; this writes U+FFFD for it, as a browser would). */
export function percentEncode(text: string): string {
  return [...Buffer.from(text, 'utf8')]
    .map((b) =>
      /[A-Za-z0-9_.~-]/.test(String.fromCharCode(b))
        ? String.fromCharCode(b)
        : `%${b.toString(16).toUpperCase().padStart(2, '0')}`,
    )
    .join('');
}

/**
 * `cursors`: real cursors this API handed out for the operation, whose decoded text is mutated
 * into near misses (a cursor is opaque to clients but not to a fuzzer).
 */
export function queryCase(params: readonly QueryParameter[], cursors: readonly string[] = []): fc.Arbitrary<QueryCase> {
  const names = params.map((p) => p.name);
  const valueFor = (p: QueryParameter): fc.Arbitrary<string> => {
    const options: fc.Arbitrary<string>[] = [
      fc.constantFrom(...NUMBER_TEXTS),
      unicodeEdge(),
      fc.string({ maxLength: 12 }),
      typicalValue(p.schema),
    ];
    options.push(fc.integer({ min: 300, max: 6_000 }).map((n) => 'x'.repeat(n)));
    if (/cursor/i.test(p.name)) options.push(cursorLike(cursors));
    if (typeof p.schema.maximum === 'number')
      options.push(fc.constant(String(p.schema.maximum + 1)), fc.constant(String(p.schema.maximum)));
    if (typeof p.schema.minimum === 'number')
      options.push(fc.constant(String(p.schema.minimum - 1)), fc.constant(String(p.schema.minimum)));
    return fc.oneof(...options);
  };
  const entry: fc.Arbitrary<[string, string]> = fc.oneof(
    {
      weight: 6,
      arbitrary: fc.constantFrom(...params).chain((p) => valueFor(p).map((v): [string, string] => [p.name, v])),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(
        fc.constantFrom(
          '__proto__',
          'constructor',
          'toString',
          ...names.map((n) => `${n}[]`),
          ...names.map((n) => `${n}[0]`),
          ...names.map((n) => n.toUpperCase()),
        ),
        fc.constantFrom('1', 'x', 'true'),
      ),
    },
  );
  // Judged as the server will read them: a lone surrogate travels as U+FFFD.
  const asSent = (text: string) => Buffer.from(text, 'utf8').toString('utf8');
  const judged = fc.array(entry, { minLength: 0, maxLength: 4 }).map((entries): QueryCase => ({
    raw: entries.map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`).join('&'),
    ...judge(
      params,
      entries.map(([k, v]): [string, string] => [asSent(k), asSent(v)]),
    ),
  }));
  const malformed = fc
    .tuple(fc.constantFrom(...names), fc.constantFrom(...MALFORMED), fc.boolean())
    .map(([name, bad, inKey]): QueryCase => ({
      raw: inKey ? `${name}${bad}=1` : `${name}=${bad}`,
      verdict: 'unjudged',
      invalid: [],
    }));
  return fc.oneof({ weight: 5, arbitrary: judged }, { weight: 1, arbitrary: malformed });
}

/**
 * The cases worth sending every time, not only when drawn: each number text for each numeric or
 * boolean parameter, a repeated key for each parameter, and every one-character change of each
 * real cursor's text.
 */
export function everyEdgeQuery(params: readonly QueryParameter[], cursors: readonly string[] = []): QueryCase[] {
  const cases: [string, string][][] = [];
  for (const p of params) {
    if (['integer', 'number', 'boolean'].includes(p.schema.type as string))
      for (const text of NUMBER_TEXTS) cases.push([[p.name, text]]);
    cases.push(
      [
        [p.name, 'a'],
        [p.name, 'b'],
      ],
      [
        [p.name, '1'],
        [p.name, '1'],
      ],
    );
    if (/cursor/i.test(p.name)) {
      for (const cursor of cursors) {
        const text = Buffer.from(cursor, 'base64url').toString('utf8');
        for (let i = 0; i < text.length; i++) {
          for (const ch of ['9', '0', 'x', '|']) {
            if (text[i] !== ch)
              cases.push([[p.name, Buffer.from(`${text.slice(0, i)}${ch}${text.slice(i + 1)}`).toString('base64url')]]);
          }
        }
      }
    }
  }
  return cases.map((entries) => ({
    raw: entries.map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`).join('&'),
    ...judge(params, entries),
  }));
}

/** A value the parameter's schema takes, when one is easy to say. */
function typicalValue(schema: JsonSchema): fc.Arbitrary<string> {
  const consts = ((schema.anyOf ?? []) as JsonSchema[]).map((v) => v.const).filter((c) => c !== undefined);
  if (consts.length > 0) return fc.constantFrom(...consts.map(String));
  if (schema.type === 'integer' || schema.type === 'number') {
    return fc.integer({ min: schema.minimum ?? 0, max: Math.min(schema.maximum ?? 1_000, 1_000_000) }).map(String);
  }
  if (schema.type === 'boolean') return fc.constantFrom('true', 'false');
  return fc.constantFrom('/', 'model', 'a/b', '..', '../etc', '/model/../..', './x');
}

function cursorLike(cursors: readonly string[]): fc.Arbitrary<string> {
  const random = fc.oneof(
    fc.base64String({ maxLength: 64 }),
    fc.string({ maxLength: 40 }).map((s) => Buffer.from(s).toString('base64url')),
    fc.constantFrom('null', 'undefined', '0', '-1', '====', 'eyJ9'),
  );
  if (cursors.length === 0) return random;
  // A real cursor's text with one character replaced: a timestamp, separator or id just off.
  const mutated = fc
    .tuple(fc.constantFrom(...cursors), fc.nat(), fc.constantFrom(...'0123456789|:-TZ.9xf\u0000 '.split('')))
    .map(([cursor, at, ch]) => {
      const text = Buffer.from(cursor, 'base64url').toString('utf8');
      const i = at % Math.max(1, text.length);
      return Buffer.from(`${text.slice(0, i)}${ch}${text.slice(i + 1)}`, 'utf8').toString('base64url');
    });
  return fc.oneof(random, mutated);
}

function judge(params: readonly QueryParameter[], entries: [string, string][]): Omit<QueryCase, 'raw'> {
  const invalid: string[] = [];
  let lenient = false;
  for (const [key] of entries) if (!params.some((p) => p.name === key)) lenient = true;
  for (const p of params) {
    const values = entries.filter(([k]) => k === p.name).map(([, v]) => v);
    if (values.length === 0) {
      if (p.required && p.schema.default === undefined) invalid.push(p.name);
      continue;
    }
    // A repeated key reaches the server as a list, which no declared parameter takes.
    if (values.length > 1) {
      invalid.push(p.name);
      continue;
    }
    const read = readValue(p.schema, values[0]!);
    if (read.lenient) lenient = true;
    if (violations(p.schema, read.value).length > 0) invalid.push(p.name);
  }
  return { verdict: invalid.length > 0 ? 'invalid' : lenient ? 'unjudged' : 'valid', invalid };
}

/** The value the plain reading gives; `lenient` when a lenient reader could take the text otherwise. */
function readValue(schema: JsonSchema, text: string): { value: unknown; lenient: boolean } {
  const type = schema.type as string | undefined;
  if (type === 'integer' || type === 'number') {
    if (JSON_NUMBER.test(text)) {
      const value = Number(text);
      // `1.0`, `1e2`, `-0`: integers written another way; a fraction stays invalid however written.
      const plain =
        type === 'number' || PLAIN_INTEGER.test(text) || !Number.isInteger(value) || !Number.isFinite(value);
      return { value, lenient: !plain && violations(schema, value).length === 0 };
    }
    const loose = Number(text);
    if (text.trim() !== '' && Number.isFinite(loose) && violations(schema, loose).length === 0)
      return { value: loose, lenient: true };
    return { value: text, lenient: false };
  }
  if (type === 'boolean') {
    if (text === 'true' || text === 'false') return { value: text === 'true', lenient: false };
    return { value: text, lenient: ['1', '0', 'TRUE', 'FALSE', 'True', 'False'].includes(text) };
  }
  return { value: text, lenient: false };
}
