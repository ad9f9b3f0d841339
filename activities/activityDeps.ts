import type { Client } from '@temporalio/client';
import type Dockerode from 'dockerode';
import type { Logger } from 'pino';
import type { Db } from '../db/client';
import {
  loadEndpointSettings,
  type ContainerSettings,
  type EndpointSettings,
  type LeaderboardSettings,
  type PlatformJudge,
  type ReviewSettings,
  type UploadSettings,
} from '../config/env';

/** What every activity factory is given by the worker that hosts it. */
export interface ActivityDeps {
  db: Db;
  logger: Logger;
  /** Key that opens model API keys sealed at rest (see db/secretBox.ts). */
  secretKey: Buffer;
  /** Private deployment; absent on workers that serve no container or lease work. */
  serving?: ServingDeps;
  /** Leaderboard window; absent: read from the environment when the activities are created. */
  leaderboard?: LeaderboardSettings;
  /** Manual-review waits; absent: read from the environment when the activities are created. */
  review?: ReviewSettings;
  /** The platform's judge (PROCTOR_JUDGE_*), for judge metrics that name none; absent: they fall back to exact match. */
  judge?: PlatformJudge | null;
  /** Networks refused and the answer cap for model and judge endpoints; absent: the defaults (config/env.ts). */
  endpoints?: EndpointSettings;
  /** A client of the worker's namespace: the launch sweep starts run workflows with it. */
  temporal?: Client;
}

export interface ServingDeps {
  uploads: UploadSettings;
  containers: ContainerSettings;
  /** The engine of this container host; null on workers that only keep the container queue's books. */
  docker: Dockerode | null;
  /** To nudge queued private runs when container units are released. */
  temporal: Client | null;
}

let environmentEndpoints: EndpointSettings | undefined;

/**
 * The endpoint settings the worker was given, else the environment's, read once per process: the
 * inference, robustness and judge activities then share one policy object, and so one pool of
 * guarded connections (nodeHttpFetch.ts keeps a pool per policy).
 */
export function endpointSettingsOr(given: EndpointSettings | undefined): EndpointSettings {
  return given ?? (environmentEndpoints ??= loadEndpointSettings());
}
