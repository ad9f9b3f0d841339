import type { Logger } from 'pino';
import type { Db } from '../db/client';

/** What every activity factory is given by the worker that hosts it. */
export interface ActivityDeps {
  db: Db;
  logger: Logger;
  /** Key that opens model API keys sealed at rest (see db/secretBox.ts). */
  secretKey: Buffer;
}
