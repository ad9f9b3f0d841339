/**
 * Turning everything a secret could hide in into text to search: nested objects with binary
 * payloads (Temporal's history and describe results carry payload data as bytes, the UI server's
 * HTTP API as base64), and zip archives such as an .xlsx report.
 */
import { inflateRawSync } from 'node:zlib';

const BASE64 = /^[A-Za-z0-9+/]{8,}={0,2}$/;

/** Every string, byte array (as UTF-8) and base64 string (decoded too) inside `value`, one per line. */
export function textOf(value: unknown): string {
  const out: string[] = [];
  const seen = new Set<unknown>();
  const visit = (v: unknown): void => {
    if (v === null || v === undefined) return;
    if (typeof v === 'string') {
      out.push(v);
      if (v.length % 4 === 0 && BASE64.test(v)) out.push(Buffer.from(v, 'base64').toString('utf8'));
      return;
    }
    if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return;
    if (v instanceof Uint8Array) {
      out.push(Buffer.from(v).toString('utf8'));
      return;
    }
    if (typeof v !== 'object' || seen.has(v)) return;
    seen.add(v);
    if (v instanceof Map) {
      for (const [k, item] of v) {
        visit(k);
        visit(item);
      }
      return;
    }
    for (const [k, item] of Object.entries(v)) {
      out.push(k);
      visit(item);
    }
  };
  visit(value);
  return out.join('\n');
}

/** The text of every file in a zip archive (stored or deflated), read through its central directory. */
export function zipText(archive: Buffer): string {
  const eocd = archive.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error('not a zip archive: no end of central directory');
  const entries = archive.readUInt16LE(eocd + 10);
  let at = archive.readUInt32LE(eocd + 16);
  const files: string[] = [];
  for (let i = 0; i < entries; i++) {
    if (archive.readUInt32LE(at) !== 0x02014b50) throw new Error(`zip central directory entry ${i} is damaged`);
    const method = archive.readUInt16LE(at + 10);
    const compressed = archive.readUInt32LE(at + 20);
    const nameLength = archive.readUInt16LE(at + 28);
    const extraLength = archive.readUInt16LE(at + 30);
    const commentLength = archive.readUInt16LE(at + 32);
    const local = archive.readUInt32LE(at + 42);
    const name = archive.subarray(at + 46, at + 46 + nameLength).toString('utf8');
    const dataAt = local + 30 + archive.readUInt16LE(local + 26) + archive.readUInt16LE(local + 28);
    const data = archive.subarray(dataAt, dataAt + compressed);
    if (method !== 0 && method !== 8) throw new Error(`zip entry ${name} uses compression method ${method}`);
    files.push(`--- ${name} ---\n${(method === 8 ? inflateRawSync(data) : data).toString('utf8')}`);
    at += 46 + nameLength + extraLength + commentLength;
  }
  return files.join('\n');
}

/** Where any of the secrets occurs in any of the places, with a little context; empty when nothing leaked. */
export function leaksIn(places: Record<string, string>, secrets: Record<string, string>): string[] {
  const found: string[] = [];
  for (const [place, text] of Object.entries(places)) {
    for (const [name, secret] of Object.entries(secrets)) {
      const at = text.indexOf(secret);
      if (at >= 0) found.push(`${name} in ${place}: …${text.slice(Math.max(0, at - 120), at + secret.length + 40)}…`);
    }
  }
  return found;
}
