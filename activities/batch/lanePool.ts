/**
 * A batch's concurrency: `count` lanes, each taking the next unit of work until none is left or the
 * batch is aborted. Lanes take units by advancing the batch's own index into its list rather than
 * from a queue, so taking a unit costs no allocation and no await; a lane is started once per
 * batch (or page), not once per unit.
 */

/**
 * Runs `count` copies of `lane` at once and resolves when all have ended. A lane that throws is
 * handed to `onFault` and the others go on until `onFault` stops them (by aborting their signal);
 * the pool itself never rejects.
 */
export async function runLanes(
  count: number,
  lane: () => Promise<void>,
  onFault: (error: unknown) => void,
): Promise<void> {
  const lanes: Promise<void>[] = [];
  for (let i = 0; i < count; i++) lanes.push(lane().catch(onFault));
  await Promise.all(lanes);
}
