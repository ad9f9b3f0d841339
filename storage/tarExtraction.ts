/**
 * Applies a tar stream to a staging tree, entry by entry, as it arrives: file contents go straight
 * from the request to disk, so memory stays flat whatever the size. Regular files, directories and
 * relative symbolic links are accepted; hard links, devices, FIFOs and anything else are refused.
 * The first refusal stops reading at once. A stream that stops early is caught twice: the HTTP
 * layer reports an aborted request, and a body that ends cleanly but without tar's end-of-archive
 * marker (two zero blocks) is refused as cut short.
 */
import type { Readable } from 'node:stream';
import { extract as tarExtract, type Headers } from 'tar-stream';
import type { StagingTree } from './stagingTree';
import { entryPath, joinInside, printable } from './uploadPaths';
import { UploadRejected } from './uploadRejected';

const BLOCK = 512;
const END_MARKER = 2 * BLOCK;

export interface TarSource {
  /** The request body. It is read but never destroyed here, so the caller can still answer. */
  body: Readable;
  /** Most bytes the body may have: the version's byte limit plus room for headers and padding. */
  maxBodyBytes: number;
}

/** Bytes of tar framing allowed per entry on top of the content (header, long-name records, padding). */
export const TAR_OVERHEAD_PER_ENTRY = 4 * BLOCK;

export async function extractTar(source: TarSource, tree: StagingTree, under: string): Promise<void> {
  const extract = tarExtract();
  let rejection: unknown = null;
  let malformed: Error | null = null;
  let inFlight: Promise<void> = Promise.resolve();
  const pump = new BodyPump(source);

  extract.on('entry', (header: Headers, content: Readable, next: (error?: unknown) => void) => {
    // Destroying the extraction errors the entry's stream; an entry refused before its content was
    // read has no reader to take that error, and the failure is already recorded here.
    content.on('error', () => {});
    inFlight = applyEntry(header, content, tree, under).then(
      () => next(),
      (error: unknown) => {
        rejection ??= error;
        pump.stop();
        next(error);
      },
    );
  });
  extract.on('error', (error: Error) => {
    malformed ??= error;
    pump.stop();
  });
  const closed = new Promise<void>((resolve) => extract.on('close', () => resolve()));

  try {
    await pump.into(extract);
    if (rejection === null && malformed === null) {
      extract.end();
      await closed;
    }
  } catch (error) {
    rejection ??= error;
  } finally {
    if (!extract.destroyed) extract.destroy();
    // An entry may still be writing; the tree must be quiet before the caller discards or checks it.
    await inFlight.catch(() => {});
  }
  if (rejection !== null) throw rejection;
  if (malformed !== null) throw notTar((malformed as Error).message);
  if (!pump.endedWithMarker())
    throw notTar('it ends without the end-of-archive marker (two zero blocks), so it was cut short');
}

async function applyEntry(
  header: Headers,
  content: AsyncIterable<Uint8Array>,
  tree: StagingTree,
  under: string,
): Promise<void> {
  const rel = joinInside(under, entryPath(header.name));
  switch (header.type) {
    case 'file':
    case 'contiguous-file':
      await tree.writeFile(rel, content, {
        size: header.size ?? 0,
        executable: ((header.mode ?? 0) & 0o111) !== 0,
        mtime: header.mtime,
      });
      return;
    case 'directory':
      await tree.makeDir(rel);
      return;
    case 'symlink':
      await tree.makeSymlink(rel, header.linkname ?? '');
      return;
    case 'link':
      throw new UploadRejected(
        400,
        `archive entry "${printable(header.name)}" is a hard link, which uploads do not accept; archive the file itself (GNU tar: --hard-dereference)`,
        'body',
      );
    default:
      throw new UploadRejected(
        400,
        `archive entry "${printable(header.name)}" is a ${header.type ?? 'entry of unknown type'}; only regular files, directories and relative symbolic links can be uploaded`,
        'body',
      );
  }
}

function notTar(why: string): UploadRejected {
  return new UploadRejected(400, `the body is not a valid tar stream: ${why}`, 'body');
}

/**
 * Feeds the request body to the extraction with backpressure, and can be stopped at any moment:
 * a refusal must not wait for the client to send another byte. It only ever pauses the body,
 * never destroys it, so the refusal can still be answered on the same connection.
 */
class BodyPump {
  private readonly tail = new TrailingBytes(END_MARKER);
  private received = 0;
  private settle: ((error?: unknown) => void) | null = null;

  constructor(private readonly source: TarSource) {}

  into(sink: NodeJS.WritableStream & NodeJS.EventEmitter): Promise<void> {
    const body = this.source.body;
    return new Promise<void>((resolve, reject) => {
      let ended = false;
      const onData = (chunk: Buffer) => {
        this.received += chunk.byteLength;
        if (this.received > this.source.maxBodyBytes) {
          return finish(new UploadRejected(413, 'the request body is larger than an upload within the limits can be'));
        }
        this.tail.push(chunk);
        if (!sink.write(chunk)) {
          body.pause();
          const resume = () => {
            sink.off('drain', resume);
            sink.off('close', resume);
            if (this.settle) body.resume();
          };
          sink.on('drain', resume);
          sink.on('close', resume);
        }
      };
      const onEnd = () => {
        ended = true;
        finish();
      };
      const onError = (error: Error) => finish(error);
      // A client that goes away mid-body: the request closes without ending.
      const onClose = () => {
        if (!ended) finish(new Error('the request was aborted before its body was complete'));
      };
      const finish = (error?: unknown) => {
        if (!this.settle) return;
        this.settle = null;
        body.off('data', onData);
        body.off('end', onEnd);
        body.off('error', onError);
        body.off('close', onClose);
        body.pause();
        if (error) reject(error);
        else resolve();
      };
      this.settle = finish;
      // Gone before extraction began (a cp seeds its tree first): no event would tell us now.
      if (body.destroyed && !body.readableEnded)
        return finish(new Error('the request was aborted before its body was complete'));
      body.on('data', onData);
      body.on('end', onEnd);
      body.on('error', onError);
      body.on('close', onClose);
      body.resume();
    });
  }

  /** Stops reading now; the pump's promise resolves and the caller reports why. */
  stop(): void {
    this.settle?.();
  }

  endedWithMarker(): boolean {
    return this.tail.allZero();
  }
}

/** The last `size` bytes seen, kept without copying more than that per chunk. */
class TrailingBytes {
  private bytes = Buffer.alloc(0);
  constructor(private readonly size: number) {}

  push(chunk: Buffer): void {
    this.bytes =
      chunk.byteLength >= this.size
        ? Buffer.from(chunk.subarray(chunk.byteLength - this.size))
        : Buffer.concat([this.bytes, chunk]).subarray(-this.size);
  }

  allZero(): boolean {
    return this.bytes.byteLength === this.size && this.bytes.every((b) => b === 0);
  }
}
