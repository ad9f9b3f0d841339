/**
 * The shared budget a run's requests draw on: that of its endpoint's identity (base URL and API
 * key), or none for a privately served run, whose container is its own.
 */
import type { Logger } from 'pino';
import type { Db } from '../../db/client';
import { endpointIdentity } from '../../db/endpointIdentity';
import { openSecret } from '../../db/secretBox';
import type { getRun } from '../../db/queries/runRecords';
import { budgetClientFor, type BudgetClient } from './budgetClient';

type StoredRun = Awaited<ReturnType<typeof getRun>>;

export function runBudget(
  deps: { db: Db; secretKey: Buffer; logger: Logger },
  run: StoredRun,
  servingUrl: string | undefined,
): BudgetClient | null {
  if (servingUrl) return null;
  const apiKey = run.apiKeyCipher ? openSecret(deps.secretKey, run.apiKeyCipher) : null;
  return budgetClientFor(deps.db, endpointIdentity(deps.secretKey, run.config.endpoint, apiKey), (error) =>
    deps.logger.warn(
      { err: error, runId: run.id },
      'endpoint budget unavailable; requests go on under the limits last read',
    ),
  );
}
