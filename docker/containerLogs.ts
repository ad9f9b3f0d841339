/**
 * A container's output as lines, each with its stream and the engine's timestamp, so a caller can
 * store them as a run's logs and later ask only for what came after the last line it has.
 */
import type Dockerode from 'dockerode';

export interface ContainerLogLine {
  stream: 'stdout' | 'stderr';
  /** RFC 3339 with nanoseconds, as the engine stamped the line (e.g. 2026-01-02T03:04:05.123456789Z). */
  timestamp: string;
  line: string;
}

export interface ContainerLogsOptions {
  /** Only lines from this Unix time on (fractions allowed). */
  sinceSeconds?: number;
  /** Only lines strictly after this timestamp of an earlier line: to resume where a reader stopped. */
  after?: string;
  /** At most this many of the last lines. */
  tail?: number;
}

export async function containerLogs(
  docker: Dockerode,
  id: string,
  o: ContainerLogsOptions = {},
): Promise<ContainerLogLine[]> {
  const afterNanos = o.after === undefined ? null : timestampNanos(o.after);
  let since = o.sinceSeconds;
  if (afterNanos !== null) {
    const afterSeconds = Number(afterNanos / 1_000_000_000n);
    since = since === undefined ? afterSeconds : Math.max(since, afterSeconds);
  }
  const raw = (await docker.getContainer(id).logs({
    follow: false,
    stdout: true,
    stderr: true,
    timestamps: true,
    ...(since !== undefined ? { since: Math.floor(since) } : {}),
    ...(o.tail !== undefined ? { tail: o.tail } : {}),
  })) as unknown as Buffer;
  let lines = parseLogFrames(Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw)));
  if (afterNanos !== null) lines = lines.filter((line) => timestampNanos(line.timestamp) > afterNanos);
  if (o.sinceSeconds !== undefined) {
    const sinceNanos = BigInt(Math.round(o.sinceSeconds * 1e6)) * 1000n;
    lines = lines.filter((line) => timestampNanos(line.timestamp) >= sinceNanos);
  }
  return lines;
}

/**
 * A container without a TTY sends its output in frames: one byte for the stream (1 stdout,
 * 2 stderr), three zero bytes, the payload length (big-endian), then the payload.
 */
export function parseLogFrames(buffer: Buffer): ContainerLogLine[] {
  const lines: ContainerLogLine[] = [];
  let offset = 0;
  const framed = buffer.length >= 8 && buffer[0]! <= 2 && buffer[1] === 0 && buffer[2] === 0 && buffer[3] === 0;
  if (!framed) {
    for (const line of buffer.toString('utf8').split('\n')) if (line !== '') lines.push(stamped('stdout', line));
    return lines;
  }
  while (offset + 8 <= buffer.length) {
    const stream = buffer[offset] === 2 ? 'stderr' : 'stdout';
    const size = buffer.readUInt32BE(offset + 4);
    const payload = buffer.subarray(offset + 8, offset + 8 + size).toString('utf8');
    offset += 8 + size;
    // One frame is one message; should it hold several lines, the later ones share its timestamp.
    let timestamp = '';
    for (const text of payload.split('\n')) {
      if (text === '') continue;
      const line = stamped(stream, text.replace(/\r$/, ''));
      if (line.timestamp === '') line.timestamp = timestamp;
      timestamp = line.timestamp;
      lines.push(line);
    }
  }
  return lines;
}

function stamped(stream: 'stdout' | 'stderr', line: string): ContainerLogLine {
  const space = line.indexOf(' ');
  const head = space === -1 ? line : line.slice(0, space);
  if (/^\d{4}-\d\d-\d\dT/.test(head))
    return { stream, timestamp: head, line: space === -1 ? '' : line.slice(space + 1) };
  return { stream, timestamp: '', line };
}

/** Nanoseconds since the epoch; string order is wrong for these (the engine trims trailing zeros). */
export function timestampNanos(timestamp: string): bigint {
  const match = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(timestamp);
  if (!match) return 0n;
  const seconds = Date.parse(`${match[1]}${match[3]}`);
  if (Number.isNaN(seconds)) return 0n;
  return BigInt(seconds) * 1_000_000n + BigInt((match[2] ?? '').padEnd(9, '0'));
}
