/**
 * The shared budget a run's requests draw on: that of its endpoint's identity (base URL and API
 * key), or none for a privately served run, whose container is its own.
 */
import type { Logger } from 'pino';
import type { Db } from '../../db/client';
import { endpointIdentity, type EndpointIdentity } from '../../db/endpointIdentity';
import { openSecret } from '../../db/secretBox';
import type { getRun } from '../../db/queries/runRecords';
import { budgetClientFor, type BudgetClient } from './budgetClient';

type StoredRun = Awaited<ReturnType<typeof getRun>>;

/** The identity of the run's endpoint: null for a privately served run. */
export function runEndpointIdentity(
  secretKey: Buffer,
  run: StoredRun,
  servingUrl: string | undefined,
): EndpointIdentity | null {
  if (servingUrl) return null;
  const apiKey = run.apiKeyCipher ? openSecret(secretKey, run.apiKeyCipher) : null;
  return endpointIdentity(secretKey, run.config.endpoint, apiKey);
}

export function runBudget(
  deps: { db: Db; logger: Logger },
  runId: string,
  identity: EndpointIdentity | null,
): BudgetClient | null {
  if (!identity) return null;
  return budgetClientFor(deps.db, identity, (error) =>
    deps.logger.warn({ err: error, runId }, 'endpoint budget unavailable; requests go on under the limits last read'),
  );
}
