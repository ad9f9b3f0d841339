import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { Db } from '../db/client';
import type { ProctorEnv } from '../config/env';

/** What the API's routes are given: nothing is reached through globals, so tests can build apps freely. */
export interface ApiDeps {
  db: Db;
  temporal: Client;
  env: ProctorEnv;
  logger: Logger;
  /** Clock for month boundaries and the like; tests may pin it. */
  now?: () => Date;
}
