/**
 * Starts the real services every test run uses, fresh each time, under `.test-data/run-…/`:
 * PostgreSQL (embedded, or a new database on the server DATABASE_URL names) with migrations applied,
 * a headless Temporal dev server with Proctor's search attributes, and a Docker engine (DOCKER_HOST's
 * if it answers, else a dockerd of the run's own), and the public benchmarks' files installed where
 * missing (stack/publicDatasets.ts). Tests read where they are from the environment:
 * DATABASE_URL, TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, DOCKER_HOST, PROCTOR_SECRET_KEY,
 * PROCTOR_TEST_DATA_DIR, and PROCTOR_TEST_SERVICES_FILE (for test/support/services.ts).
 * If a service cannot start, set-up throws: the tests fail, they are never skipped.
 * PROCTOR_KEEP_TEST_DATA=1 keeps the run directory (server logs) after the run.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { Client, Connection } from '@temporalio/client';
import { migrateDatabase } from '../../db/migrate';
import { ensureDockerEngine, stopDockerEngine } from '../../stack/dockerEngine';
import { startPostgres, stopPostgresServer } from '../../stack/postgres';
import { isProcessAlive, stopProcess } from '../../stack/stopProcess';
import { requireTemporalCliPath } from '../../stack/temporalCli';
import { startTemporalDevServer } from '../../stack/temporalServer';
import { ensureLaunchSweepSchedule } from '../../workers/launchSweepSchedule';
import { installPublicDatasets } from '../../stack/publicDatasets';
import { freePorts } from './ports';
import {
  isOurTemporal,
  readServicesState,
  SERVICES_FILE_ENV,
  writeServicesState,
  type ServicesState,
} from './services';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TEST_DATA = path.join(ROOT, '.test-data');
const NAMESPACE = 'default';

function log(line: string): void {
  process.stderr.write(`[test setup] ${line}\n`);
}

/** A dockerd started for the run is recorded by its directory; an engine we found is not ours to stop. */
type RunState = ServicesState & { docker?: { dir: string } };

async function stopServices(state: RunState): Promise<void> {
  const { temporal, postgres: pg } = state;
  if (state.docker) await stopDockerEngine(state.docker.dir);
  if (temporal?.pid && isOurTemporal(temporal.pid, temporal.dataDir))
    await stopProcess(temporal.pid, { group: true, graceMs: 5_000 });
  if (pg?.embedded) await stopPostgresServer(pg.dataDir);
  if (pg && !pg.embedded) {
    const sql = postgres(pg.adminUrl, { max: 1, onnotice: () => {} });
    try {
      await sql.unsafe(`drop database if exists "${pg.database}" with (force)`);
    } finally {
      await sql.end({ timeout: 5 });
    }
  }
}

/** Servers and directories left by runs whose vitest process died without tearing down. */
async function cleanStaleRuns(): Promise<void> {
  if (!existsSync(TEST_DATA)) return;
  for (const entry of await readdir(TEST_DATA)) {
    const match = /^run-\d+-(\d+)$/.exec(entry);
    if (!match || isProcessAlive(Number(match[1]))) continue;
    const runDir = path.join(TEST_DATA, entry);
    const stateFile = path.join(runDir, 'services.json');
    try {
      if (existsSync(stateFile)) await stopServices(readServicesState(stateFile));
      await rm(runDir, { recursive: true, force: true });
    } catch (error) {
      log(`could not clean up ${runDir}: ${(error as Error).message}`);
    }
  }
}

/** A database of its own on an external server, so runs never see each other's records. */
async function createDatabase(url: string): Promise<{ adminUrl: string; database: string; url: string }> {
  const database = `proctor_test_${Date.now()}_${process.pid}`;
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const sql = postgres(admin.toString(), { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(`create database "${database}"`);
  } finally {
    await sql.end({ timeout: 5 });
  }
  const fresh = new URL(url);
  fresh.pathname = `/${database}`;
  return { adminUrl: admin.toString(), database, url: fresh.toString() };
}

/**
 * The deployment's launch-sweep schedule, created paused before any worker runs: the worker
 * processes tests spawn keep an existing schedule's pause, so no sweep starts the queued runs other
 * test files leave in the shared database. test/workflows/launchSweep.test.ts sweeps on its own.
 */
async function pauseLaunchSweep(address: string): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    await ensureLaunchSweepSchedule(new Client({ connection, namespace: NAMESPACE }), { paused: true });
  } finally {
    await connection.close();
  }
}

export default async function setup(): Promise<() => Promise<void>> {
  const started = Date.now();
  await cleanStaleRuns();
  const runDir = path.join(TEST_DATA, `run-${Date.now()}-${process.pid}`);
  await mkdir(runDir, { recursive: true, mode: 0o755 });
  const stateFile = path.join(runDir, 'services.json');
  const state: RunState = { ownerPid: process.pid, runDir };
  await writeServicesState(state, stateFile);

  const teardown = async () => {
    try {
      await stopServices(readServicesState(stateFile));
    } finally {
      if (process.env.PROCTOR_KEEP_TEST_DATA !== '1') await rm(runDir, { recursive: true, force: true });
    }
  };

  try {
    const [pgPort, temporalPort] = await freePorts(2);
    const startDatabase = async (): Promise<string> => {
      const t = Date.now();
      let url: string;
      if (process.env.DATABASE_URL) {
        const created = await createDatabase(process.env.DATABASE_URL);
        state.postgres = { embedded: false, adminUrl: created.adminUrl, database: created.database };
        url = created.url;
      } else {
        const dataDir = path.join(runDir, 'pg');
        state.postgres = { embedded: true, dataDir, port: pgPort! };
        await writeServicesState(state, stateFile);
        url = (await startPostgres({ dataDir, port: pgPort, env: {}, log: () => {} })).url;
      }
      await writeServicesState(state, stateFile);
      await migrateDatabase(url);
      log(`PostgreSQL ready in ${Date.now() - t} ms`);
      return url;
    };
    const startTemporal = async (): Promise<string> => {
      const t = Date.now();
      const cliPath = await requireTemporalCliPath({ log });
      const dataDir = path.join(runDir, 'temporal');
      const server = await startTemporalDevServer({
        cli: { path: cliPath },
        dataDir,
        port: temporalPort,
        namespace: NAMESPACE,
        headless: true,
      });
      // Tests may restart it from their own processes; from now on it is tracked by PID in the state file.
      server.detach();
      state.temporal = {
        cliPath,
        dataDir,
        ip: '127.0.0.1',
        port: temporalPort!,
        namespace: NAMESPACE,
        logFile: server.logFile!,
        pid: server.pid,
      };
      await writeServicesState(state, stateFile);
      await pauseLaunchSweep(server.address);
      log(`Temporal ready in ${Date.now() - t} ms (${cliPath})`);
      return server.address;
    };

    const startDocker = async (): Promise<string> => {
      const t = Date.now();
      const dir = path.join(runDir, 'docker');
      // Recorded before the start, so a run that dies while dockerd comes up still gets it stopped.
      state.docker = { dir };
      await writeServicesState(state, stateFile);
      const engine = await ensureDockerEngine({ dir, log });
      if (!engine.started) delete state.docker;
      await writeServicesState(state, stateFile);
      log(`Docker engine ${engine.started ? 'started' : 'found'} in ${Date.now() - t} ms (${engine.dockerHost})`);
      return engine.dockerHost;
    };

    // The public benchmarks' files (stack/publicDatasets.ts), which the built-ins stored by each
    // test's bootstrap include. One that cannot be installed is left out, and the tests that need
    // it fail saying so; the rest of the suite does not depend on PyPI being reachable.
    const datasets = installPublicDatasets({ log }).then((outcome) => {
      for (const { id, reason } of outcome.failed) log(`public dataset ${id} unavailable: ${reason}`);
    });
    const [database, temporal, docker] = await Promise.allSettled([startDatabase(), startTemporal(), startDocker()]);
    await datasets;
    if (database.status === 'rejected') throw database.reason;
    if (temporal.status === 'rejected') throw temporal.reason;
    if (docker.status === 'rejected') throw docker.reason;

    Object.assign(process.env, {
      DATABASE_URL: database.value,
      TEMPORAL_ADDRESS: temporal.value,
      TEMPORAL_NAMESPACE: NAMESPACE,
      DOCKER_HOST: docker.value,
      PROCTOR_SECRET_KEY: randomBytes(32).toString('base64'),
      PROCTOR_TEST_DATA_DIR: runDir,
      [SERVICES_FILE_ENV]: stateFile,
      // Formal runs against endpoints that are down on purpose end in seconds; tests of the wait set the run's own limit.
      PROCTOR_READY_TIMEOUT_SECONDS: process.env.PROCTOR_READY_TIMEOUT_SECONDS ?? '5',
    });
    log(`services ready in ${Date.now() - started} ms (${runDir})`);
  } catch (error) {
    await teardown().catch((cleanupError: Error) => log(`cleanup after failed set-up: ${cleanupError.message}`));
    throw error;
  }
  return teardown;
}
