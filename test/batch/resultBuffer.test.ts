/**
 * The result buffer writes a full group at once, and a group that fills slowly once its first row
 * has waited long enough; a write that fails in the background reaches the batch at its next flush.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ResultBuffer } from '../../activities/batch/resultBuffer';

describe('ResultBuffer', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function recording(fail = false) {
    const groups: number[][] = [];
    const store = async (rows: number[]) => {
      if (fail) throw new Error('database went away');
      groups.push(rows);
      return { stored: rows.length, failed: rows.filter((r) => r < 0).length };
    };
    return { groups, store };
  }

  it('writes a full group at once and counts what was stored and failed', async () => {
    const { groups, store } = recording();
    const buffer = new ResultBuffer(store, 3, 1000);
    await buffer.add(1);
    await buffer.add(-2);
    expect(groups).toEqual([]);
    await buffer.add(3);
    expect(groups).toEqual([[1, -2, 3]]);
    expect([buffer.stored, buffer.failed]).toEqual([3, 1]);
  });

  it('writes a slowly filling group once its first row has waited maxWaitMs, and not before', async () => {
    const { groups, store } = recording();
    const buffer = new ResultBuffer(store, 200, 1000);
    await buffer.add(1);
    await vi.advanceTimersByTimeAsync(600);
    await buffer.add(2);
    expect(groups).toEqual([]);
    await vi.advanceTimersByTimeAsync(400);
    expect(groups).toEqual([[1, 2]]);
    // The next row starts a new wait of its own.
    await buffer.add(3);
    await vi.advanceTimersByTimeAsync(999);
    expect(groups).toEqual([[1, 2]]);
    await vi.advanceTimersByTimeAsync(1);
    expect(groups).toEqual([[1, 2], [3]]);
    expect(buffer.stored).toBe(3);
  });

  it('leaves no timer behind once flushed, and a flush of nothing writes nothing', async () => {
    const { groups, store } = recording();
    const buffer = new ResultBuffer(store, 200, 1000);
    await buffer.add(1);
    await buffer.flush();
    expect(vi.getTimerCount()).toBe(0);
    await buffer.flush();
    expect(groups).toEqual([[1]]);
  });

  it('reports a write that failed in the background at the next flush the batch awaits', async () => {
    const { store } = recording(true);
    const buffer = new ResultBuffer(store, 200, 1000);
    await buffer.add(1);
    await vi.advanceTimersByTimeAsync(1000);
    await expect(buffer.flush()).rejects.toThrow('database went away');
  });
});
