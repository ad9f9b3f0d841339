/**
 * The .npy reader against bytes laid out as numpy.save lays them out (a small writer below), and
 * against files numpy itself wrote (test/fixtures/npy).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { NpyFormatError, parseNpy, readMatrix } from '../../storage/npyFile';

interface WriteOptions {
  fortran?: boolean;
  version?: 1 | 2 | 3;
  header?: string;
  extraBytes?: number;
}

/** Bytes of an array as numpy.save writes them; `values` in row-major order. */
function npy(descr: string, shape: number[], values: number[], o: WriteOptions = {}): Buffer {
  const version = o.version ?? 1;
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header =
    o.header ?? `{'descr': '${descr}', 'fortran_order': ${o.fortran ? 'True' : 'False'}, 'shape': ${shapeText}, }`;
  const prefix = 6 + 2 + (version === 1 ? 2 : 4);
  const pad = 64 - ((prefix + Buffer.byteLength(header) + 1) % 64);
  header += ' '.repeat(pad % 64) + '\n';
  const headerBytes = Buffer.from(header, version === 3 ? 'utf8' : 'latin1');
  const head = Buffer.alloc(prefix);
  Buffer.from([0x93, ...Buffer.from('NUMPY'), version, 0]).copy(head);
  if (version === 1) head.writeUInt16LE(headerBytes.length, 8);
  else head.writeUInt32LE(headerBytes.length, 8);

  const little = descr[0] !== '>';
  const kind = descr.slice(1);
  const size = Number(kind.slice(1));
  const order = o.fortran ? toFortran(values, shape) : values;
  const data = Buffer.alloc(order.length * size + (o.extraBytes ?? 0));
  order.forEach((v, i) => {
    const at = i * size;
    const w = {
      f2: () => data[little ? 'writeUInt16LE' : 'writeUInt16BE'](toHalf(v), at),
      f4: () => data[little ? 'writeFloatLE' : 'writeFloatBE'](v, at),
      f8: () => data[little ? 'writeDoubleLE' : 'writeDoubleBE'](v, at),
      i1: () => data.writeInt8(v, at),
      i2: () => data[little ? 'writeInt16LE' : 'writeInt16BE'](v, at),
      i4: () => data[little ? 'writeInt32LE' : 'writeInt32BE'](v, at),
      i8: () => data[little ? 'writeBigInt64LE' : 'writeBigInt64BE'](BigInt(v), at),
      u1: () => data.writeUInt8(v, at),
      u2: () => data[little ? 'writeUInt16LE' : 'writeUInt16BE'](v, at),
      u4: () => data[little ? 'writeUInt32LE' : 'writeUInt32BE'](v, at),
      u8: () => data[little ? 'writeBigUInt64LE' : 'writeBigUInt64BE'](BigInt(v), at),
      b1: () => data.writeUInt8(v ? 1 : 0, at),
    }[kind];
    if (!w) throw new Error(`the test writer has no ${kind}`);
    w();
  });
  return Buffer.concat([head, headerBytes, data]);
}

function toFortran(values: number[], shape: number[]): number[] {
  if (shape.length !== 2) throw new Error('the test writer transposes 2-D arrays only');
  const [rows, cols] = shape as [number, number];
  const out: number[] = [];
  for (let j = 0; j < cols; j++) for (let i = 0; i < rows; i++) out.push(values[i * cols + j]!);
  return out;
}

/** Exact halves only (the tests use values binary16 represents). */
function toHalf(v: number): number {
  if (v === 0) return 0;
  const sign = v < 0 ? 0x8000 : 0;
  const a = Math.abs(v);
  const e = Math.floor(Math.log2(a));
  return sign | ((e + 15) << 10) | Math.round((a / 2 ** e - 1) * 1024);
}

function refusal(parse: () => unknown): string {
  try {
    parse();
  } catch (error) {
    expect(error).toBeInstanceOf(NpyFormatError);
    return (error as Error).message;
  }
  throw new Error('expected a refusal');
}

const M = [0.5, -1.25, 3, 4, 5.5, 6];

describe('reading .npy arrays', () => {
  it.each(['<f2', '<f4', '<f8', '>f4', '>f8', '>f2'])('reads a 2×3 %s matrix in C order', (descr) => {
    const array = readMatrix(npy(descr, [2, 3], M), { rows: 2, cols: 3 });
    expect(array.shape).toEqual([2, 3]);
    expect([...array.data]).toEqual(M);
    expect(array.descr).toBe(descr);
  });

  it.each(['<i1', '<i2', '<i4', '<i8', '>i2', '>i4', '>i8', '|i1'])('reads signed integers %s', (descr) => {
    expect([...parseNpy(npy(descr, [4], [-3, 0, 7, -100])).data]).toEqual([-3, 0, 7, -100]);
  });

  it.each(['<u1', '|u1', '<u2', '<u4', '<u8', '>u2', '>u4', '>u8'])('reads unsigned integers %s', (descr) => {
    expect([...parseNpy(npy(descr, [3], [0, 7, 200])).data]).toEqual([0, 7, 200]);
  });

  it('reads booleans as 0 and 1', () => {
    expect([...parseNpy(npy('|b1', [2, 2], [1, 0, 0, 1])).data]).toEqual([1, 0, 0, 1]);
  });

  it('returns a Fortran-ordered array in row-major order', () => {
    const bytes = npy('<f8', [2, 3], M, { fortran: true });
    expect([...readMatrix(bytes, { rows: 2, cols: 3 }).data]).toEqual(M);
    const tall = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
    expect([...parseNpy(npy('<i4', [4, 3], tall, { fortran: true })).data]).toEqual(tall);
  });

  it('reads a 3-D Fortran array in row-major order', () => {
    // Column-major storage of a 2×2×2 array: the first axis varies fastest.
    const header = "{'descr': '<i2', 'fortran_order': True, 'shape': (2, 2, 2), }";
    const stored = [0, 4, 2, 6, 1, 5, 3, 7];
    const bytes = npy('<i2', [8], stored, { header });
    expect([...parseNpy(bytes).data]).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it.each([2, 3] as const)('reads format version %s.0', (version) => {
    expect([...readMatrix(npy('<f4', [2, 3], M, { version }), { rows: 2, cols: 3 }).data]).toEqual(M);
  });

  it('reads a 0-d array, an empty one and the header variants numpy has written over the years', () => {
    expect(parseNpy(npy('<f8', [], [2.5])).shape).toEqual([]);
    expect([...parseNpy(npy('<f8', [], [2.5])).data]).toEqual([2.5]);
    expect(parseNpy(npy('<f4', [0, 3], [])).shape).toEqual([0, 3]);
    const old = `{"descr": "<f4", "shape": (2L, 3L), "fortran_order": False}`;
    expect(parseNpy(npy('<f4', [6], M, { header: old })).shape).toEqual([2, 3]);
  });

  it('refuses a file that is not .npy, or of an unknown version', () => {
    expect(refusal(() => parseNpy(Buffer.from('{"matrix": [[1, 2]]}')))).toMatch(
      /does not start with the \.npy magic "\\x93NUMPY"; expected an array written by numpy\.save/,
    );
    expect(refusal(() => parseNpy(Buffer.from([0x93, 0x4e, 0x55])))).toMatch(/3 bytes long, too short/);
    const v4 = npy('<f4', [2, 3], M);
    v4[6] = 4;
    expect(refusal(() => parseNpy(v4))).toBe('the file is .npy format version 4.0; expected version 1.0, 2.0 or 3.0');
  });

  it.each([
    ["{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), ", /not a Python dict literal \(it ends early\)/],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)} junk", /unexpected text after the dict/],
    ["__import__('os').system('true')", /not a Python dict literal/],
    ["{'descr': '<f4', 'shape': (2, 3)}", /has the keys 'descr', 'shape'; expected exactly/],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1}", /has the keys .*'x'/],
    ["{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 3)}", /'fortran_order' is not True or False/],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3)}", /'shape' is not a tuple of non-negative/],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3]}", /'shape' is not a tuple/],
    ["{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (6,)}", /the key 'descr' appears twice/],
    ["[{'descr': '<f4'}]", /the header is not a dict/],
    ['{' + '('.repeat(100), /nested too deeply/],
  ])('refuses the malformed header %s', (header, reason) => {
    expect(refusal(() => parseNpy(npy('<f4', [6], M, { header })))).toMatch(reason);
  });

  it('refuses a header length past the end of the file', () => {
    const bytes = npy('<f4', [2, 3], M).subarray(0, 40);
    expect(refusal(() => parseNpy(bytes))).toMatch(/the header claims \d+ bytes but the file has only 30/);
  });

  it.each([
    ['<c16', /element type '<c16' is not supported; expected one of f2 f4 f8/],
    ['<U5', /element type '<U5' is not supported/],
    ['<f16', /element type '<f16' is not supported/],
    ['|O', /holds Python objects \(descr '\|O'\); expected numbers/],
  ])('refuses the element type %s', (descr, reason) => {
    const header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (0,), }`;
    expect(refusal(() => parseNpy(npy('<f4', [0], [], { header })))).toMatch(reason);
  });

  it('refuses a structured element type', () => {
    const header = "{'descr': [('a', '<f4'), ('b', '<i4')], 'fortran_order': False, 'shape': (0,), }";
    expect(refusal(() => parseNpy(npy('<f4', [0], [], { header })))).toMatch(/structured element type/);
  });

  it('refuses data that does not match the shape, saying both lengths', () => {
    expect(refusal(() => parseNpy(npy('<f4', [2, 3], M, { extraBytes: 4 })))).toBe(
      'the data is 28 bytes but shape (2, 3) of <f4 needs 24 (6 elements of 4 bytes)',
    );
    const short = npy('<f8', [2, 3], M);
    expect(refusal(() => parseNpy(short.subarray(0, short.length - 1)))).toMatch(
      /the data is 47 bytes but .* needs 48/,
    );
  });

  it('refuses a matrix of the wrong shape or dimension, naming what was expected', () => {
    expect(refusal(() => readMatrix(npy('<f4', [2, 3], M), { rows: 3, cols: 2 }))).toBe(
      'expected a 3×2 matrix, got 2×3',
    );
    expect(refusal(() => readMatrix(npy('<f4', [6], M), { rows: 2, cols: 3 }))).toBe(
      'expected a 2-D 2×3 matrix, got a 1-D array of shape (6)',
    );
    expect(refusal(() => readMatrix(npy('<f4', [1, 2, 3], M), { rows: 2, cols: 3 }))).toMatch(
      /got a 3-D array of shape \(1, 2, 3\)/,
    );
  });

  it('refuses NaN and infinite entries, saying how many and where the first is', () => {
    const values = [0, 1, NaN, 3, Infinity, -Infinity];
    expect(refusal(() => readMatrix(npy('<f8', [2, 3], values), { rows: 2, cols: 3 }))).toBe(
      '3 of the 6 entries are not finite (1 NaN, 2 infinite), the first at index [0, 2]; expected finite numbers',
    );
    expect(refusal(() => parseNpy(npy('<f4', [2], [1, NaN])))).toMatch(/^1 of the 2 entries is not finite/);
  });
});

/**
 * Files numpy itself wrote (test/fixtures/npy, numpy 2.4.6), so the reader is checked against the
 * real writer where numpy is not installed. They were written with:
 *
 *   m = np.arange(12).reshape(3, 4)
 *   for t in ['<f2', '<f4', '<f8', '>f4', '>f8', '<i1', '<i2', '<i4', '<i8', '<u1', '<u2', '<u4', '<u8', '|b1']:
 *       np.save(f'{d}/{t[1:]}{"be" if t[0] == ">" else ""}.npy', (m % 2 if t == '|b1' else m).astype(t))
 *   np.save(f'{d}/fortran.npy', np.asfortranarray(m.astype('<f8')))
 *   for v in [(1, 0), (2, 0), (3, 0)]:
 *       with open(f'{d}/v{v[0]}.npy', 'wb') as out: numpy.lib.format.write_array(out, m.astype('<f4'), version=v)
 *   np.save(f'{d}/nan.npy', np.array([[1.0, np.nan]]))
 *   np.save(f'{d}/object.npy', np.array([[1, 'a']], dtype=object), allow_pickle=True)
 */
const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/npy');

describe('reading files numpy wrote', () => {
  it('reads every supported type, both orders and all three versions as numpy wrote them', async () => {
    const want = Array.from({ length: 12 }, (_, i) => i);
    const files = ['f2', 'f4', 'f8', 'f4be', 'f8be', 'i1', 'i2', 'i4', 'i8', 'u1', 'u2', 'u4', 'u8'];
    for (const name of [...files, 'fortran', 'v1', 'v2', 'v3']) {
      const array = readMatrix(await readFile(path.join(FIXTURES, `${name}.npy`)), { rows: 3, cols: 4 });
      expect([...array.data], name).toEqual(want);
    }
    expect([...parseNpy(await readFile(path.join(FIXTURES, 'b1.npy'))).data]).toEqual(want.map((i) => i % 2));
    const nan = await readFile(path.join(FIXTURES, 'nan.npy'));
    expect(refusal(() => parseNpy(nan))).toMatch(/1 of the 2 entries is not finite \(1 NaN/);
    const object = await readFile(path.join(FIXTURES, 'object.npy'));
    expect(refusal(() => parseNpy(object))).toMatch(/holds Python objects/);
  });
});
