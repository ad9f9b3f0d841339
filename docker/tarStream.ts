/**
 * A tar archive written as a stream, from entries that name where each file comes from on this
 * machine and where it goes in the archive: what the engine imports as an image's root file system.
 * POSIX ustar, with a pax header where a name or a size does not fit. Owners are always root, so
 * the image does not depend on who built it.
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';

export type TarEntry =
  | { type: 'dir'; path: string; mode: number }
  /** `mtimeMs` is not written (archives use a fixed time); it lets a caller notice a changed file. */
  | { type: 'file'; path: string; mode: number; size: number; from: string; mtimeMs?: number }
  | { type: 'data'; path: string; mode: number; data: Buffer }
  | { type: 'symlink'; path: string; target: string };

const BLOCK = 512;
// A fixed time, so archives of the same files are the same bytes.
const MTIME = 0;

export function tarStream(entries: Iterable<TarEntry>): Readable {
  return Readable.from(generate(entries), { objectMode: false });
}

async function* generate(entries: Iterable<TarEntry>): AsyncGenerator<Buffer> {
  for (const entry of entries) {
    const name = entry.path.replace(/^\/+/, '') + (entry.type === 'dir' ? '/' : '');
    const size = entry.type === 'file' ? entry.size : entry.type === 'data' ? entry.data.length : 0;
    const linkname = entry.type === 'symlink' ? entry.target : '';
    const pax: Record<string, string> = {};
    if (Buffer.byteLength(name) > 100) pax.path = name;
    if (Buffer.byteLength(linkname) > 100) pax.linkpath = linkname;
    if (size > 0o77777777777) pax.size = String(size);
    if (Object.keys(pax).length > 0) {
      const body = paxRecords(pax);
      yield header({ name: 'PaxHeader', mode: 0o644, size: body.length, typeflag: 'x', linkname: '' });
      yield body;
      yield padding(body.length);
    }
    const mode = entry.type === 'symlink' ? 0o777 : entry.mode;
    const typeflag = entry.type === 'dir' ? '5' : entry.type === 'symlink' ? '2' : '0';
    yield header({ name, mode, size: pax.size ? 0 : size, typeflag, linkname });
    if (entry.type === 'data') {
      yield entry.data;
    } else if (entry.type === 'file' && size > 0) {
      let read = 0;
      for await (const chunk of createReadStream(entry.from, { start: 0, end: size - 1 })) {
        read += (chunk as Buffer).length;
        yield chunk as Buffer;
      }
      if (read !== size)
        throw new Error(`${entry.from} changed size while it was archived (${size} bytes expected, ${read} read)`);
    }
    yield padding(size);
  }
  yield Buffer.alloc(BLOCK * 2);
}

function header(h: { name: string; mode: number; size: number; typeflag: string; linkname: string }): Buffer {
  const block = Buffer.alloc(BLOCK);
  // Names longer than the field were given in full in the pax header; the field keeps a truncation.
  block.write(truncate(h.name, 100), 0, 'utf8');
  octal(block, 100, 8, h.mode);
  octal(block, 108, 8, 0);
  octal(block, 116, 8, 0);
  octal(block, 124, 12, h.size);
  octal(block, 136, 12, MTIME);
  block.write('        ', 148, 'ascii');
  block.write(h.typeflag, 156, 'ascii');
  block.write(truncate(h.linkname, 100), 157, 'utf8');
  block.write('ustar\u000000', 257, 'binary');
  block.write('root', 265, 'ascii');
  block.write('root', 297, 'ascii');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 'ascii');
  return block;
}

function octal(block: Buffer, offset: number, length: number, value: number): void {
  block.write(`${value.toString(8).padStart(length - 1, '0')}\u0000`, offset, 'ascii');
}

function truncate(text: string, bytes: number): string {
  let out = text;
  while (Buffer.byteLength(out) > bytes) out = out.slice(0, -1);
  return out;
}

/** "LEN key=value\n" records, where LEN counts the whole record including itself. */
function paxRecords(fields: Record<string, string>): Buffer {
  let text = '';
  for (const [key, value] of Object.entries(fields)) {
    const rest = ` ${key}=${value}\n`;
    let length = Buffer.byteLength(rest) + 1;
    while (String(length).length + Buffer.byteLength(rest) !== length)
      length = String(length).length + Buffer.byteLength(rest);
    text += `${length}${rest}`;
  }
  return Buffer.from(text, 'utf8');
}

function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : BLOCK - rest);
}
