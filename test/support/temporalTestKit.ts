/**
 * Real Temporal for tests: a client and in-process workers against the dev server the global setup
 * started. The workflow bundle is built once per test file and shared by every worker.
 */
import { Client, Connection } from '@temporalio/client';
import {
  bundleWorkflowCode,
  NativeConnection,
  Runtime,
  DefaultLogger,
  type Worker,
  type WorkflowBundle,
} from '@temporalio/worker';
import { pino } from 'pino';
import { createWorkers, WORKFLOWS_PATH } from '../../workers/createWorkers';
import type { Db } from '../../db/client';
import type { ActivityDeps } from '../../activities/activityDeps';
import { loadEnv } from '../../config/env';
import { connectDocker } from '../../docker/engine';
import { requireEnv } from './env';
import { stopJobProxy } from '../../activities/customImages/customImageJob';

let runtimeInstalled = false;
let bundle: Promise<WorkflowBundle> | undefined;

export function workflowBundle(): Promise<WorkflowBundle> {
  if (!runtimeInstalled) {
    runtimeInstalled = true;
    Runtime.install({ logger: new DefaultLogger('WARN') });
  }
  bundle ??= bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger('WARN') });
  return bundle;
}

export async function temporalClient(): Promise<{ client: Client; close(): Promise<void> }> {
  const connection = await Connection.connect({ address: requireEnv('TEMPORAL_ADDRESS') });
  return {
    client: new Client({ connection, namespace: requireEnv('TEMPORAL_NAMESPACE') }),
    close: () => connection.close(),
  };
}

export interface RunningWorkers {
  workers: Worker[];
  shutdown(): Promise<void>;
}

/**
 * Workers in this process. The `containers` queue needs DOCKER_HOST (set by the global set-up) and
 * takes the upload directory and container settings from the environment, as workers/main.ts does.
 */
/** `deps` adds to or replaces what the workers' activities get (e.g. endpoint settings under test). */
export async function startWorkers(
  db: Db,
  queues: string[] = ['runs', 'inference'],
  deps: Partial<ActivityDeps> = {},
): Promise<RunningWorkers> {
  const workflowBundleCode = await workflowBundle();
  const connection = await NativeConnection.connect({ address: requireEnv('TEMPORAL_ADDRESS') });
  const clientConnection = await Connection.connect({ address: requireEnv('TEMPORAL_ADDRESS') });
  const env = loadEnv(process.env);
  const temporal = new Client({ connection: clientConnection, namespace: requireEnv('TEMPORAL_NAMESPACE') });
  const workers = await createWorkers({
    connection,
    namespace: requireEnv('TEMPORAL_NAMESPACE'),
    deps: {
      db,
      logger: pino({ level: 'warn' }),
      secretKey: Buffer.from(requireEnv('PROCTOR_SECRET_KEY'), 'base64'),
      serving: {
        uploads: env.uploads,
        containers: env.containers,
        docker: queues.includes('containers') ? connectDocker(requireEnv('DOCKER_HOST')) : null,
        temporal,
      },
      temporal,
      ...deps,
    },
    queues,
    inferenceSlots: 4,
    workflowBundle: workflowBundleCode,
  });
  const running = workers.map((w) => w.run());
  return {
    workers,
    async shutdown() {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await Promise.allSettled(running);
      await stopJobProxy();
      await clientConnection.close();
      await connection.close();
    },
  };
}
