/**
 * The servers the global setup started, described in a JSON file (`PROCTOR_TEST_SERVICES_FILE`) so a
 * test can stop and start them mid-test from its own process: same ports, same data files. Test
 * files run one at a time, so a restart never pulls a server from under another file.
 *
 *   await restartTemporal();            // or stopTemporal() … startTemporal()
 *   await restartPostgres();            // or stopPostgres() … startPostgres()
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { startPostgres as startEmbeddedPostgres, stopPostgresServer } from '../../stack/postgres';
import { isProcessAlive, stopProcess } from '../../stack/stopProcess';
import { startTemporalDevServer } from '../../stack/temporalServer';
import { requireEnv } from './env';

export const SERVICES_FILE_ENV = 'PROCTOR_TEST_SERVICES_FILE';

export interface TemporalState {
  cliPath: string;
  dataDir: string;
  ip: string;
  port: number;
  namespace: string;
  logFile: string;
  /** The running server; absent while stopped. */
  pid?: number;
}

export interface ServicesState {
  /** The vitest process that owns these servers; when it is gone they are stale. */
  ownerPid: number;
  runDir: string;
  postgres?:
    { embedded: true; dataDir: string; port: number } | { embedded: false; adminUrl: string; database: string };
  temporal?: TemporalState;
}

export function readServicesState(file = requireEnv(SERVICES_FILE_ENV)): ServicesState {
  return JSON.parse(readFileSync(file, 'utf8')) as ServicesState;
}

export async function writeServicesState(state: ServicesState, file = requireEnv(SERVICES_FILE_ENV)): Promise<void> {
  const scratch = `${file}.${process.pid}.${randomUUID()}.tmp`;
  await writeFile(scratch, JSON.stringify(state, null, 2));
  await rename(scratch, file);
}

/** Guards against PID reuse: only a dev server running on this run's SQLite file is ours to kill. */
export function isOurTemporal(pid: number, dataDir: string): boolean {
  if (!isProcessAlive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dataDir);
  } catch {
    return true; // no procfs: trust the recorded PID
  }
}

function temporalState(state: ServicesState): TemporalState {
  if (!state.temporal) throw new Error('the test services file records no Temporal server');
  return state.temporal;
}

/** Stops the dev server (SIGTERM, then SIGKILL after 10 s). */
export async function stopTemporal(): Promise<void> {
  const state = readServicesState();
  const temporal = temporalState(state);
  if (temporal.pid && isOurTemporal(temporal.pid, temporal.dataDir)) {
    await stopProcess(temporal.pid, { group: true, graceMs: 10_000 });
  }
  temporal.pid = undefined;
  await writeServicesState(state);
}

/** Starts the dev server again on the same port and SQLite file; resolves once it serves the namespace. */
export async function startTemporal(): Promise<void> {
  const state = readServicesState();
  const temporal = temporalState(state);
  if (temporal.pid && isOurTemporal(temporal.pid, temporal.dataDir))
    throw new Error(`the Temporal dev server is already running (pid ${temporal.pid})`);
  const server = await startTemporalDevServer({
    cli: { path: temporal.cliPath },
    dataDir: temporal.dataDir,
    ip: temporal.ip,
    port: temporal.port,
    namespace: temporal.namespace,
    logFile: temporal.logFile,
    headless: true,
  });
  // It outlives this test process; the global teardown stops it by the PID recorded here.
  server.detach();
  temporal.pid = server.pid;
  await writeServicesState(state);
}

export async function restartTemporal(): Promise<void> {
  await stopTemporal();
  await startTemporal();
}

function embeddedPostgres(state: ServicesState): { dataDir: string; port: number } {
  if (!state.postgres?.embedded) {
    throw new Error(
      'PostgreSQL cannot be restarted by the tests: DATABASE_URL named an external server (unset it to use the embedded one)',
    );
  }
  return state.postgres;
}

/** A fast shutdown: every client connection is dropped, as when a database host goes down. */
export async function stopPostgres(): Promise<void> {
  await stopPostgresServer(embeddedPostgres(readServicesState()).dataDir);
}

export async function startPostgres(): Promise<void> {
  const { dataDir, port } = embeddedPostgres(readServicesState());
  // An empty env: DATABASE_URL (set for the tests) must not turn this into "use that server".
  await startEmbeddedPostgres({ dataDir, port, env: {}, log: () => {} });
}

export async function restartPostgres(): Promise<void> {
  await stopPostgres();
  await startPostgres();
}
