/**
 * A sink for one output stream of a sandboxed program that keeps only its last bytes and counts
 * the rest: a program may print gigabytes, and the host must neither hold them nor lose count.
 */
import { Writable } from 'node:stream';

export class OutputTail extends Writable {
  private chunks: Buffer[] = [];
  private kept = 0;
  /** Every byte the stream carried, kept or not. */
  total = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly onBytes: (bytes: number) => void = () => {},
  ) {
    super();
  }

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    this.total += buffer.length;
    this.chunks.push(buffer);
    this.kept += buffer.length;
    // Dropping whole chunks from the front keeps this linear; the text() slice trims the rest.
    while (this.chunks.length > 1 && this.kept - this.chunks[0]!.length >= this.maxBytes)
      this.kept -= this.chunks.shift()!.length;
    this.onBytes(buffer.length);
    done();
  }

  get truncated(): boolean {
    return this.total > this.maxBytes;
  }

  /** The last `maxBytes` bytes as text; a character cut in two at the start is dropped. */
  text(): string {
    const all = Buffer.concat(this.chunks);
    const tail = all.length > this.maxBytes ? all.subarray(all.length - this.maxBytes) : all;
    let start = 0;
    // Skip UTF-8 continuation bytes (10xxxxxx) left over from a character cut at the start.
    if (tail.length < all.length) while (start < tail.length && start < 3 && (tail[start]! & 0xc0) === 0x80) start++;
    return tail.subarray(start).toString('utf8');
  }
}
