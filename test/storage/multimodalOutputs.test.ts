/**
 * What a multimodal job leaves, read back from a real temporary directory: visual answers
 * (`$dataset.json`), the retrieval matrix (`$dataset.npy`) and text-to-image pictures listed in
 * `output_info.json`. Good outputs come back checked; a missing file, garbage, a wrong shape or
 * element type, a link out of the directory and an oversize file are refused with a JobOutputError
 * naming the file and what was expected, except that one bad picture fails only its prompt.
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobOutputError } from '../../storage/jobOutputs';
import {
  EXPECTED_T2I_INFO,
  NPY_HEADER_ALLOWANCE,
  PNG_SIGNATURE,
  T2I_INFO_FILE,
  datasetOutputFile,
  parseT2iInfo,
  readRetrievalOutput,
  readT2iOutput,
  readVqaOutput,
  retrievalOutputMaxBytes,
  type T2iImageResult,
} from '../../storage/multimodalOutputs';
import { EXPECTED_VQA_OUTPUT } from '../../scoring/multimodal/vqaScoring';

/** A C-order array as numpy.save writes it (format 1.0), little-endian. */
function npy(descr: string, shape: number[], values: number[]): Buffer {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  Buffer.from([0x93, ...Buffer.from('NUMPY'), 1, 0]).copy(head);
  head.writeUInt16LE(header.length, 8);
  const size = Number(descr.slice(2));
  const data = Buffer.alloc(values.length * size);
  values.forEach((v, i) => {
    if (descr === '<f4') data.writeFloatLE(v, i * 4);
    else if (descr === '<f8') data.writeDoubleLE(v, i * 8);
    else if (descr === '<i8') data.writeBigInt64LE(BigInt(v), i * 8);
    else if (descr === '|b1') data.writeUInt8(v ? 1 : 0, i);
    else throw new Error(`no writer for ${descr}`);
  });
  return Buffer.concat([head, Buffer.from(header, 'latin1'), data]);
}

const png = (size = 64) => Buffer.concat([Buffer.from(PNG_SIGNATURE), Buffer.alloc(size - PNG_SIGNATURE.length, 7)]);
const MATRIX = [0.9, 0.1, 0.5, 0.2, 0.3, 0.8, 0.4, 0.7, 0.2, 0.6, 0.1, 0.9];

let base: string;
let out: string;

async function dir(name: string, files: Record<string, string | Buffer>): Promise<string> {
  const root = path.join(base, name);
  await mkdir(root, { recursive: true });
  for (const [rel, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await writeFile(path.join(root, rel), content);
  }
  return root;
}

beforeAll(async () => {
  base = await mkdtemp(path.join(os.tmpdir(), 'proctor-mm-outputs-'));
  await writeFile(path.join(base, 'secret.json'), '[{"question_id": "1", "answer": "A"}]');
  await writeFile(path.join(base, 'secret.npy'), npy('<f4', [3, 4], MATRIX));
  await writeFile(path.join(base, 'secret.png'), png());
  out = await dir('out', {
    'vqa.json': JSON.stringify([
      { question_id: '1', answer: 'B' },
      { question_id: 2, answer: 'yes' },
    ]),
    'garbage.json': '[{"question_id": "1", "answer": ',
    'object.json': '{"1": "B"}',
    'bad-entry.json': JSON.stringify([{ question_id: '1', answer: 'B' }, { question_id: '2' }]),
    'twice.json': JSON.stringify([
      { question_id: '1', answer: 'B' },
      { question_id: 1, answer: 'C' },
    ]),
    'big.json': JSON.stringify([{ question_id: '1', answer: 'x'.repeat(4096) }]),
    'ret.npy': npy('<f4', [3, 4], MATRIX),
    'ret64.npy': npy('<f8', [3, 4], MATRIX),
    'transposed.npy': npy('<f4', [4, 3], MATRIX),
    'flat.npy': npy('<f4', [12], MATRIX),
    'ints.npy': npy('<i8', [3, 4], [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0]),
    'bools.npy': npy('|b1', [3, 4], [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0]),
    'notnpy.npy': 'similarities: 0.9 0.1',
    'huge.npy': Buffer.concat([npy('<f4', [3, 4], MATRIX), Buffer.alloc(NPY_HEADER_ALLOWANCE + 100)]),
  });
  await symlink('../secret.json', path.join(out, 'escape.json'));
  await symlink(path.join(base, 'secret.npy'), path.join(out, 'escape.npy'));
  await symlink('ret.npy', path.join(out, 'alias.npy'));
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

async function refusal(read: Promise<unknown>): Promise<JobOutputError> {
  const error = await read.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(JobOutputError);
  return error as JobOutputError;
}

describe('datasetOutputFile', () => {
  it('names the file for a dataset and refuses a name that is a path', () => {
    expect(datasetOutputFile('mm-shapes-vqa', '.json')).toBe('mm-shapes-vqa.json');
    for (const name of ['', '.', '..', 'a/b', 'a\\b', '../x', 'a\0b'])
      expect(() => datasetOutputFile(name, '.npy')).toThrow(/cannot name a file in the output directory/);
  });
});

describe('readVqaOutput', () => {
  it('reads the checked entries', async () => {
    expect(await readVqaOutput(out, 'vqa')).toEqual([
      { questionId: '1', answer: 'B' },
      { questionId: '2', answer: 'yes' },
    ]);
  });

  it('refuses a missing file', async () => {
    const error = await refusal(readVqaOutput(out, 'absent'));
    expect(error).toMatchObject({ problem: 'missing', file: 'absent.json' });
    expect(error.message).toBe('the job wrote no "absent.json" in its output directory; expected a file there');
  });

  it('refuses garbage JSON with the parser reason', async () => {
    const error = await refusal(readVqaOutput(out, 'garbage'));
    expect(error).toMatchObject({ problem: 'malformed', file: 'garbage.json' });
    expect(error.message).toMatch(/^"garbage.json" is not valid JSON \(.*\); expected a JSON document$/);
  });

  it.each<[string, string]>([
    ['object', 'object.json is an object, not a list'],
    ['bad-entry', 'bad-entry.json[1].answer (question "2") is missing, not a string'],
    ['twice', 'twice.json[1].question_id "1" is listed twice (also twice.json[0])'],
  ])('refuses %s.json naming what is wrong and what was expected', async (name, problem) => {
    const error = await refusal(readVqaOutput(out, name));
    expect(error).toMatchObject({ problem: 'malformed', file: `${name}.json` });
    expect(error.message).toBe(`${problem}; ${EXPECTED_VQA_OUTPUT}`);
  });

  it('refuses a link out of the directory', async () => {
    const error = await refusal(readVqaOutput(out, 'escape'));
    expect(error).toMatchObject({ problem: 'outside', file: 'escape.json' });
    expect(error.message).toMatch(/leads outside the job's output directory/);
  });

  it('refuses a file over the cap, saying what was expected', async () => {
    const error = await refusal(readVqaOutput(out, 'big', { maxBytes: 1024 }));
    expect(error).toMatchObject({ problem: 'too_large', file: 'big.json' });
    expect(error.message).toMatch(
      /^"big.json" is \d+ bytes, more than the 1024 bytes allowed for it; expected a JSON list/,
    );
  });
});

describe('readRetrievalOutput', () => {
  const shape = { rows: 3, cols: 4 };

  it('reads a float32 or float64 matrix of the expected shape, through a link that stays inside', async () => {
    for (const name of ['ret', 'ret64', 'alias']) {
      const array = await readRetrievalOutput(out, name, shape);
      expect(array.shape).toEqual([3, 4]);
      MATRIX.forEach((v, i) => expect(array.data[i]).toBeCloseTo(v, 6));
    }
  });

  it('sizes its cap from the shape', () => {
    expect(retrievalOutputMaxBytes({ rows: 60, cols: 120 })).toBe(NPY_HEADER_ALLOWANCE + 60 * 120 * 8);
    expect(retrievalOutputMaxBytes({ rows: 1e6, cols: 1e6 })).toBe(2 ** 30);
  });

  it('refuses a missing file', async () => {
    const error = await refusal(readRetrievalOutput(out, 'absent', shape));
    expect(error).toMatchObject({ problem: 'missing', file: 'absent.npy' });
  });

  it.each<[string, RegExp]>([
    ['transposed', /^"transposed.npy" is not a 3×4 matrix of .*: expected a 3×4 matrix, got 4×3$/],
    ['flat', /^"flat.npy" is not a 3×4 matrix .*: expected a 2-D 3×4 matrix, got a 1-D array of shape \(12\)$/],
    ['notnpy', /^"notnpy.npy" is not a 3×4 matrix .*: the file does not start with the .npy magic/],
    [
      'ints',
      /^"ints.npy" holds integers \('<i8'\); expected a 3×4 matrix of float16, float32 or float64 similarities \(images × captions\) written by numpy.save$/,
    ],
    ['bools', /^"bools.npy" holds booleans \('\|b1'\); expected a 3×4 matrix of float/],
  ])('refuses %s.npy, naming the file and what was expected', async (name, message) => {
    const error = await refusal(readRetrievalOutput(out, name, shape));
    expect(error).toMatchObject({ problem: 'malformed', file: `${name}.npy` });
    expect(error.message).toMatch(message);
  });

  it('refuses a link out of the directory', async () => {
    const error = await refusal(readRetrievalOutput(out, 'escape', shape));
    expect(error).toMatchObject({ problem: 'outside', file: 'escape.npy' });
  });

  it('refuses a file larger than the shape allows', async () => {
    const error = await refusal(readRetrievalOutput(out, 'huge', shape));
    expect(error).toMatchObject({ problem: 'too_large', file: 'huge.npy' });
    expect(error.message).toContain(`more than the ${NPY_HEADER_ALLOWANCE + 96} bytes allowed for it; expected a 3×4`);
  });
});

describe('readT2iOutput', () => {
  let t2i: string;

  beforeAll(async () => {
    t2i = await dir('t2i', {
      [T2I_INFO_FILE]: JSON.stringify([
        { id: '0', image: '0.png' },
        { id: 1, image: 'pictures/1.png' },
        { id: '3', image: '3.png' },
        { id: 3, image: '3b.png' },
        { id: '4', image: '4.png' },
        { id: '5', image: 'five.png' },
        { id: '6', image: 'escape.png' },
        { id: '7', image: 'big.png' },
        { id: '8', image: path.join(base, 'secret.png') },
        { id: '9', image: 'alias.png' },
        { id: '10', image: '../secret.png' },
        { id: '11', image: 'pictures' },
        { id: 99, image: '0.png', note: 'extra keys are ignored' },
      ]),
      '0.png': png(),
      'pictures/1.png': png(100),
      '3.png': png(),
      '3b.png': png(),
      'five.png': 'GIF89a not a png',
      'big.png': png(4096),
    });
    await symlink('../secret.png', path.join(t2i, 'escape.png'));
    await symlink('pictures/1.png', path.join(t2i, 'alias.png'));
  });

  const reasonOf = (results: T2iImageResult[], id: string) => {
    const r = results.find((x) => x.promptId === id);
    return r && !r.ok ? r.reason : null;
  };

  it('reads each prompt picture, or says why there is none', async () => {
    const ids = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
    const { images, unknownIds } = await readT2iOutput(t2i, ids, { maxImageBytes: 1024 });
    expect(images.map((r) => r.promptId)).toEqual(ids.map(String));
    expect(unknownIds).toEqual(['99']);
    const ok = images.filter((r) => r.ok);
    expect(ok.map((r) => [r.promptId, r.image, r.ok && r.png.length])).toEqual([
      ['0', '0.png', 64],
      ['1', 'pictures/1.png', 100],
      ['9', 'alias.png', 100],
    ]);
    expect(reasonOf(images, '2')).toBe('output_info.json lists no image for prompt 2');
    expect(reasonOf(images, '3')).toBe(
      'output_info.json lists prompt 3 more than once (output_info.json[2], output_info.json[3])',
    );
    expect(reasonOf(images, '4')).toBe('the job wrote no "4.png" in its output directory; expected a file there');
    expect(reasonOf(images, '5')).toBe('"five.png" does not start with the PNG signature; expected a PNG picture');
    expect(reasonOf(images, '6')).toMatch(/^"escape.png" leads outside the job's output directory/);
    expect(reasonOf(images, '7')).toBe('"big.png" is 4096 bytes, more than the 1024 bytes allowed for it');
    expect(reasonOf(images, '8')).toMatch(/must be a path relative to the job's output directory$/);
    expect(reasonOf(images, '10')).toMatch(/^"..\/secret.png" leads outside the job's output directory/);
    expect(reasonOf(images, '11')).toBe('"pictures" in the job\'s output directory is not a regular file');
    expect(images.find((r) => r.promptId === '5')).toMatchObject({ image: 'five.png' });
  });

  it('takes string prompt ids as they are, and reads pictures up to the default cap', async () => {
    const { images, unknownIds } = await readT2iOutput(t2i, ['7', '01']);
    expect(images[0]).toMatchObject({ promptId: '7', ok: true, image: 'big.png' });
    expect(reasonOf(images, '01')).toBe('output_info.json lists no image for prompt 01');
    expect(unknownIds).toContain('0');
  });

  it('refuses a dataset whose output_info.json is missing', async () => {
    const empty = await dir('t2i-empty', { '0.png': png() });
    const error = await refusal(readT2iOutput(empty, [0]));
    expect(error).toMatchObject({ problem: 'missing', file: T2I_INFO_FILE });
    expect(error.message).toBe('the job wrote no "output_info.json" in its output directory; expected a file there');
  });

  it('refuses garbage JSON', async () => {
    const garbage = await dir('t2i-garbage', { [T2I_INFO_FILE]: '[{"id": "0", "image": "0.png"' });
    const error = await refusal(readT2iOutput(garbage, [0]));
    expect(error).toMatchObject({ problem: 'malformed', file: T2I_INFO_FILE });
    expect(error.message).toMatch(/^"output_info.json" is not valid JSON/);
  });

  it('refuses an output_info.json that links out of the directory', async () => {
    const linked = await dir('t2i-link', {});
    await symlink('../secret.json', path.join(linked, T2I_INFO_FILE));
    const error = await refusal(readT2iOutput(linked, [0]));
    expect(error).toMatchObject({ problem: 'outside', file: T2I_INFO_FILE });
  });

  it('refuses an oversize output_info.json, its cap sized from the number of prompts', async () => {
    const entries = Array.from({ length: 3000 }, (_, i) => ({ id: i, image: `${i}.png` }));
    const big = await dir('t2i-big', { [T2I_INFO_FILE]: JSON.stringify(entries) });
    const error = await refusal(readT2iOutput(big, [0]));
    expect(error).toMatchObject({ problem: 'too_large', file: T2I_INFO_FILE });
    expect(error.message.endsWith(` bytes allowed for it; ${EXPECTED_T2I_INFO}`)).toBe(true);
    const result = await readT2iOutput(
      big,
      entries.map((e) => e.id),
    );
    expect(result.images.every((r) => !r.ok)).toBe(true);
  });

  it.each<[string, unknown, string]>([
    ['an object', { '0': '0.png' }, 'output_info.json is an object, not a list'],
    ['null', null, 'output_info.json is null, not a list'],
    ['an entry that is text', [{ id: '0', image: '0.png' }, '1.png'], 'output_info.json[1] is text, not an object'],
    ['an entry without an id', [{ image: '0.png' }], 'output_info.json[0].id is missing, not a string or an integer'],
    [
      'a fractional id',
      [{ id: 0.5, image: '0.png' }],
      'output_info.json[0].id is a number, not a string or an integer',
    ],
    ['an entry without an image', [{ id: '0' }], 'output_info.json[0].image (id "0") is missing, not a path'],
    ['an empty image', [{ id: 2, image: '' }], 'output_info.json[0].image (id "2") is empty, not a path'],
    [
      'an image that is a list',
      [{ id: '0', image: ['0.png'] }],
      'output_info.json[0].image (id "0") is a list, not a path',
    ],
  ])('refuses %s, naming the entry', (_, value, problem) => {
    let error: unknown;
    try {
      parseT2iInfo(value);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(JobOutputError);
    expect(error).toMatchObject({
      problem: 'malformed',
      file: T2I_INFO_FILE,
      message: `${problem}; ${EXPECTED_T2I_INFO}`,
    });
  });

  it('refuses a malformed output_info.json on disk as a whole', async () => {
    const bad = await dir('t2i-bad', { [T2I_INFO_FILE]: JSON.stringify([{ id: '0', image: 0 }]), '0.png': png() });
    const error = await refusal(readT2iOutput(bad, [0]));
    expect(error.message).toBe(`output_info.json[0].image (id "0") is a number, not a path; ${EXPECTED_T2I_INFO}`);
  });
});
