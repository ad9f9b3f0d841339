/** Reading the engine's log stream: frames split into lines with their stream and timestamp. */
import { describe, expect, it } from 'vitest';
import { parseLogFrames, timestampNanos } from '../../docker/containerLogs';

function frame(stream: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text, 'utf8');
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

describe('parseLogFrames', () => {
  it('splits multiplexed frames into lines of their stream, with the timestamp taken off', () => {
    const raw = Buffer.concat([
      frame(1, '2026-01-02T03:04:05.123456789Z [serving] listening\n'),
      frame(2, '2026-01-02T03:04:05.2Z Traceback (most recent call last):\n'),
      frame(1, '2026-01-02T03:04:06Z 中文 output\r\n'),
    ]);
    expect(parseLogFrames(raw)).toEqual([
      { stream: 'stdout', timestamp: '2026-01-02T03:04:05.123456789Z', line: '[serving] listening' },
      { stream: 'stderr', timestamp: '2026-01-02T03:04:05.2Z', line: 'Traceback (most recent call last):' },
      { stream: 'stdout', timestamp: '2026-01-02T03:04:06Z', line: '中文 output' },
    ]);
  });

  it('gives the later lines of a frame the timestamp of its first', () => {
    expect(parseLogFrames(frame(1, '2026-01-02T03:04:05Z one\ntwo\n'))).toEqual([
      { stream: 'stdout', timestamp: '2026-01-02T03:04:05Z', line: 'one' },
      { stream: 'stdout', timestamp: '2026-01-02T03:04:05Z', line: 'two' },
    ]);
  });

  it('reads the plain stream of a container with a terminal as stdout', () => {
    expect(parseLogFrames(Buffer.from('2026-01-02T03:04:05Z hello\n'))).toEqual([
      { stream: 'stdout', timestamp: '2026-01-02T03:04:05Z', line: 'hello' },
    ]);
  });
});

describe('timestampNanos', () => {
  it('orders timestamps whose trailing zeros the engine trimmed', () => {
    // As strings "05.1Z" sorts after "05.12Z"; as times it is before.
    expect(timestampNanos('2026-01-02T03:04:05.1Z') < timestampNanos('2026-01-02T03:04:05.12Z')).toBe(true);
    expect(timestampNanos('2026-01-02T03:04:05.000000001Z') - timestampNanos('2026-01-02T03:04:05Z')).toBe(1n);
    expect(timestampNanos('1970-01-01T00:00:01.5Z')).toBe(1_500_000_000n);
  });
});
