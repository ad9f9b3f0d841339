/**
 * The run a route acts on: one the caller owns, or any run for an admin. Anyone else gets the same
 * 404 as for a run that does not exist, so run ids cannot be probed.
 */
import type { Db } from '../../db/client';
import type { Caller } from '../../contracts/caller';
import { getRunFor, type OwnedRun } from '../../db/queries/runViews';
import { notFound } from '../http/problems';

export async function visibleRun(db: Db, caller: Caller, runId: string): Promise<OwnedRun> {
  const owned = await getRunFor(db, caller, runId);
  if (!owned) throw notFound('run');
  return owned;
}
