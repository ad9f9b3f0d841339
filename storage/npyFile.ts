/**
 * Arrays in numpy's `.npy` format (what `numpy.save` writes), as a model's job leaves its retrieval
 * similarity matrix. The file comes from an untrusted job, so nothing of it is evaluated: the header
 * is a Python dict literal read by a small parser that knows only strings, integers, booleans,
 * None, tuples and lists, and every refusal says what was found and what was expected.
 *
 * Layout: the magic `\x93NUMPY`, a major and minor version byte, the header length (2 bytes
 * little-endian in version 1.0, 4 bytes in 2.0 and 3.0), the header (latin-1 text in 1.x and 2.x,
 * UTF-8 in 3.0) — `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 5), }` padded with spaces
 * and a newline — then exactly the array's bytes.
 *
 * Element types read: floats `f2 f4 f8`, signed `i1 i2 i4 i8`, unsigned `u1 u2 u4 u8`, and booleans
 * `b1`, in either byte order. Values come back as doubles in row-major (C) order whatever the
 * file's order; 64-bit integers beyond 2^53 lose precision, as they do in numpy's own float64.
 * NaN and infinite entries are refused: no score can be computed from them.
 */

export const NPY_MAGIC = Uint8Array.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);

export class NpyFormatError extends Error {
  override name = 'NpyFormatError';
}

export interface NpyArray {
  /** Dimensions, outermost first; `[]` for a 0-d array (one element). */
  shape: number[];
  /** The elements in row-major order. */
  data: Float64Array;
  /** The element type as the file gave it, e.g. `<f4`. */
  descr: string;
}

const EXPECTED = 'expected an array written by numpy.save';

interface Dtype {
  size: number;
  read: (view: DataView, offset: number, little: boolean) => number;
}

const DTYPES: Record<string, Dtype> = {
  f2: { size: 2, read: (v, o, le) => halfToNumber(v.getUint16(o, le)) },
  f4: { size: 4, read: (v, o, le) => v.getFloat32(o, le) },
  f8: { size: 8, read: (v, o, le) => v.getFloat64(o, le) },
  i1: { size: 1, read: (v, o) => v.getInt8(o) },
  i2: { size: 2, read: (v, o, le) => v.getInt16(o, le) },
  i4: { size: 4, read: (v, o, le) => v.getInt32(o, le) },
  i8: { size: 8, read: (v, o, le) => Number(v.getBigInt64(o, le)) },
  u1: { size: 1, read: (v, o) => v.getUint8(o) },
  u2: { size: 2, read: (v, o, le) => v.getUint16(o, le) },
  u4: { size: 4, read: (v, o, le) => v.getUint32(o, le) },
  u8: { size: 8, read: (v, o, le) => Number(v.getBigUint64(o, le)) },
  b1: { size: 1, read: (v, o) => (v.getUint8(o) === 0 ? 0 : 1) },
};

/** The array in `bytes`; throws NpyFormatError saying what is wrong. */
export function parseNpy(bytes: Uint8Array): NpyArray {
  if (bytes.length < 10 || !NPY_MAGIC.every((b, i) => bytes[i] === b))
    throw new NpyFormatError(
      bytes.length < 10 && NPY_MAGIC.every((b, i) => i >= bytes.length || bytes[i] === b)
        ? `the file is ${bytes.length} bytes long, too short for a .npy header; ${EXPECTED}`
        : `the file does not start with the .npy magic "\\x93NUMPY"; ${EXPECTED}`,
    );
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6]!;
  const minor = bytes[7]!;
  if (minor !== 0 || major < 1 || major > 3)
    throw new NpyFormatError(`the file is .npy format version ${major}.${minor}; expected version 1.0, 2.0 or 3.0`);
  const lengthBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lengthBytes) throw new NpyFormatError(`the file ends inside its header length; ${EXPECTED}`);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = 8 + lengthBytes;
  const dataStart = headerStart + headerLength;
  if (dataStart > bytes.length)
    throw new NpyFormatError(
      `the header claims ${headerLength} bytes but the file has only ${bytes.length - headerStart} after the header length; ${EXPECTED}`,
    );
  const headerBytes = bytes.subarray(headerStart, dataStart);
  let headerText: string;
  try {
    headerText = new TextDecoder(major === 3 ? 'utf-8' : 'latin1', { fatal: true }).decode(headerBytes);
  } catch {
    throw new NpyFormatError(`the version 3.0 header is not UTF-8 text; ${EXPECTED}`);
  }
  const { descr, fortranOrder, shape } = readHeader(headerText);
  const dtype = dtypeOf(descr);

  const count = shape.reduce((n, d) => n * d, 1);
  if (!Number.isSafeInteger(count * dtype.size))
    throw new NpyFormatError(`the shape (${shape.join(', ')}) is too large for any file`);
  const dataLength = bytes.length - dataStart;
  if (dataLength !== count * dtype.size)
    throw new NpyFormatError(
      `the data is ${dataLength} bytes but shape (${shape.join(', ')}) of ${descr} needs ${count * dtype.size} (${count} elements of ${dtype.size} bytes)`,
    );

  const little = descr[0] !== '>';
  const data = new Float64Array(count);
  const at = fortranOrder ? fortranOffsets(shape) : null;
  for (let i = 0; i < count; i++) data[i] = dtype.read(view, dataStart + (at ? at[i]! : i) * dtype.size, little);

  const bad = nonFinite(data);
  if (bad.count > 0)
    throw new NpyFormatError(
      `${bad.count} of the ${count} entries ${bad.count === 1 ? 'is' : 'are'} not finite (${bad.nan} NaN, ${bad.count - bad.nan} infinite), the first at index [${unravel(bad.first, shape).join(', ')}]; expected finite numbers`,
    );
  return { shape, data, descr };
}

export interface MatrixShape {
  rows: number;
  cols: number;
}

/** A 2-D array of exactly `rows` × `cols`; throws NpyFormatError otherwise. */
export function readMatrix(bytes: Uint8Array, expected: MatrixShape): NpyArray {
  const array = parseNpy(bytes);
  const want = `${expected.rows}×${expected.cols}`;
  if (array.shape.length !== 2)
    throw new NpyFormatError(
      `expected a 2-D ${want} matrix, got a ${array.shape.length}-D array of shape (${array.shape.join(', ')})`,
    );
  const [rows, cols] = array.shape as [number, number];
  if (rows !== expected.rows || cols !== expected.cols)
    throw new NpyFormatError(`expected a ${want} matrix, got ${rows}×${cols}`);
  return array;
}

function dtypeOf(descr: string): Dtype {
  const m = /^([<>|=]?)([a-zA-Z])(\d*)$/.exec(descr);
  if (m && m[2] === 'O')
    throw new NpyFormatError(`the array holds Python objects (descr '${descr}'); expected numbers`);
  const dtype = m ? DTYPES[`${m[2]}${m[3]}`] : undefined;
  if (!dtype)
    throw new NpyFormatError(
      `the element type '${descr}' is not supported; expected one of f2 f4 f8, i1 i2 i4 i8, u1 u2 u4 u8 or b1 (either byte order)`,
    );
  return dtype;
}

/** For each row-major position, the element's position in column-major storage. */
function fortranOffsets(shape: number[]): Uint32Array | Float64Array {
  const count = shape.reduce((n, d) => n * d, 1);
  const out = count < 2 ** 32 ? new Uint32Array(count) : new Float64Array(count);
  const stride = shape.map((_, k) => shape.slice(0, k).reduce((n, d) => n * d, 1));
  const index = shape.map(() => 0);
  let offset = 0;
  for (let i = 0; i < count; i++) {
    out[i] = offset;
    // Advance the row-major counter (last axis fastest) and keep the column-major offset with it.
    for (let k = shape.length - 1; k >= 0; k--) {
      index[k]!++;
      offset += stride[k]!;
      if (index[k]! < shape[k]!) break;
      offset -= stride[k]! * shape[k]!;
      index[k] = 0;
    }
  }
  return out;
}

function nonFinite(data: Float64Array): { count: number; nan: number; first: number } {
  let count = 0;
  let nan = 0;
  let first = -1;
  for (let i = 0; i < data.length; i++) {
    const x = data[i]!;
    if (Number.isFinite(x)) continue;
    if (first < 0) first = i;
    count++;
    if (Number.isNaN(x)) nan++;
  }
  return { count, nan, first };
}

function unravel(flat: number, shape: number[]): number[] {
  const out = shape.map(() => 0);
  for (let k = shape.length - 1; k >= 0; k--) {
    out[k] = flat % shape[k]!;
    flat = Math.floor(flat / shape[k]!);
  }
  return out;
}

/** IEEE 754 binary16 to a double. */
function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

// ---- The header: a Python dict literal, parsed without evaluating anything ----

type PyValue = string | number | boolean | null | PyValue[] | { tuple: PyValue[] } | Map<string, PyValue>;

function readHeader(text: string): { descr: string; fortranOrder: boolean; shape: number[] } {
  let value: PyValue;
  try {
    const parser = new LiteralParser(text);
    value = parser.value();
    parser.end();
  } catch (error) {
    if (!(error instanceof HeaderSyntax)) throw error;
    throw new NpyFormatError(`the header is not a Python dict literal (${error.message}); ${EXPECTED}`);
  }
  if (!(value instanceof Map)) throw new NpyFormatError(`the header is not a dict; ${EXPECTED}`);
  const keys = [...value.keys()].sort();
  if (keys.join() !== 'descr,fortran_order,shape')
    throw new NpyFormatError(
      `the header has the keys ${keys.map((k) => `'${k}'`).join(', ') || 'none'}; expected exactly 'descr', 'fortran_order' and 'shape'`,
    );
  const descr = value.get('descr');
  if (typeof descr !== 'string')
    throw new NpyFormatError(
      Array.isArray(descr)
        ? `the array has a structured element type (a list of fields); expected plain numbers`
        : `the header's 'descr' is not a string; ${EXPECTED}`,
    );
  const fortranOrder = value.get('fortran_order');
  if (typeof fortranOrder !== 'boolean')
    throw new NpyFormatError(`the header's 'fortran_order' is not True or False; ${EXPECTED}`);
  const shape = value.get('shape');
  if (
    typeof shape !== 'object' ||
    shape === null ||
    !('tuple' in shape) ||
    !shape.tuple.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)
  )
    throw new NpyFormatError(`the header's 'shape' is not a tuple of non-negative integers; ${EXPECTED}`);
  return { descr, fortranOrder, shape: shape.tuple as number[] };
}

class HeaderSyntax extends Error {}

class LiteralParser {
  private at = 0;
  private depth = 0;

  constructor(private readonly text: string) {}

  end(): void {
    this.space();
    if (this.at < this.text.length) this.fail('unexpected text after the dict');
  }

  value(): PyValue {
    this.space();
    const c = this.text[this.at];
    if (c === '{') return this.nested(() => this.dict());
    if (c === '(') return this.nested(() => ({ tuple: this.sequence('(', ')') }));
    if (c === '[') return this.nested(() => this.sequence('[', ']'));
    if (c === "'" || c === '"') return this.string();
    const word = /^(?:True|False|None)\b|^[-+]?\d+L?/.exec(this.text.slice(this.at))?.[0];
    if (!word) this.fail(c === undefined ? 'it ends early' : `unexpected ${JSON.stringify(c)}`);
    this.at += word.length;
    if (word === 'True') return true;
    if (word === 'False') return false;
    if (word === 'None') return null;
    return Number(word.replace(/L$/, ''));
  }

  private nested<T>(parse: () => T): T {
    // A header is at most a few kilobytes of nesting; a deep one is garbage, not a stack overflow.
    if (++this.depth > 32) this.fail('nested too deeply');
    const out = parse();
    this.depth--;
    return out;
  }

  private dict(): Map<string, PyValue> {
    const out = new Map<string, PyValue>();
    this.expect('{');
    for (;;) {
      this.space();
      if (this.eat('}')) return out;
      const key = this.value();
      if (typeof key !== 'string') this.fail('a key is not a string');
      if (out.has(key)) this.fail(`the key '${key}' appears twice`);
      this.space();
      this.expect(':');
      out.set(key, this.value());
      this.space();
      if (this.eat('}')) return out;
      this.expect(',');
    }
  }

  private sequence(open: string, close: string): PyValue[] {
    const out: PyValue[] = [];
    this.expect(open);
    for (;;) {
      this.space();
      if (this.eat(close)) return out;
      out.push(this.value());
      this.space();
      if (this.eat(close)) return out;
      this.expect(',');
    }
  }

  private string(): string {
    const quote = this.text[this.at++]!;
    let out = '';
    for (;;) {
      const c = this.text[this.at++];
      if (c === undefined || c === '\n') this.fail('a string is not closed');
      if (c === quote) return out;
      if (c === '\\') {
        const next = this.text[this.at++];
        if (next === undefined) this.fail('a string is not closed');
        out += next;
      } else out += c;
    }
  }

  private space(): void {
    while (/\s/.test(this.text[this.at] ?? '')) this.at++;
  }

  private eat(c: string): boolean {
    if (this.text[this.at] !== c) return false;
    this.at++;
    return true;
  }

  private expect(c: string): void {
    if (!this.eat(c))
      this.fail(
        `expected '${c}' at character ${this.at}, found ${this.at < this.text.length ? JSON.stringify(this.text[this.at]) : 'the end'}`,
      );
  }

  private fail(why: string): never {
    throw new HeaderSyntax(why);
  }
}
