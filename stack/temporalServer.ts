/**
 * The Temporal dev server: SQLite-backed so workflows survive restarts, with the web UI, and with
 * the project's custom search attributes registered (and checked) on every start.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import proto from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { SEARCH_ATTRIBUTE_KEYS } from '../temporal.config';
import { logTail } from './logTail';
import { assertPortsFree } from './portCheck';
import { isProcessAlive, stopProcess } from './stopProcess';
import { resolveTemporalCli, temporalDownloadDir, type TemporalCli } from './temporalCli';

export interface TemporalDevServerOptions {
  /** Holds `temporal.sqlite` (and `temporal.log` unless `logFile` says otherwise). */
  dataDir: string;
  port?: number;
  uiPort?: number;
  ip?: string;
  headless?: boolean;
  logFile?: string;
  namespace?: string;
  /** Which CLI to run; resolved with `resolveTemporalCli` when absent. */
  cli?: TemporalCli;
  startTimeoutMs?: number;
}

export interface TemporalDevServer {
  address: string;
  namespace: string;
  /** Absent when headless. */
  uiUrl?: string;
  /** The server process, when this process spawned it (not in the SDK-download fallback). */
  pid?: number;
  logFile?: string;
  stop(): Promise<void>;
  /** Stops and starts again on the same ports and SQLite file. */
  restart(): Promise<void>;
  /** Called when the server process exits without `stop` having been called. */
  onUnexpectedExit(listener: (reason: string) => void): void;
  /** Lets this process exit while the server keeps running (its PID is then the caller's to stop). */
  detach(): void;
}

const STOP_GRACE_MS = 10_000;

/**
 * SQLite settings for the dev server's store. Its default (a rollback journal, a full sync on
 * every commit) makes a write take over a second when a burst of runs lands on a busy machine, and
 * matching gives a sync-matched task only one second (hard-coded in the server) to be recorded as
 * started: when the record lands after that second the poller never gets the task, the retried
 * dispatch is dropped as "already started", and the activity sits until its start-to-close timeout
 * (a minute for the runs queue's bookkeeping) before attempt 2. With a write-ahead log and a sync
 * at checkpoints only, commits are short; a process crash still loses nothing (only a power loss
 * can lose the last commits, which a development store may). See bench/burstLatency.ts.
 */
export const DEV_SERVER_SQLITE_PRAGMAS: Readonly<Record<string, string>> = {
  journal_mode: 'wal',
  synchronous: 'normal',
};

/**
 * Dynamic config for the dev server. Eager activity execution: an activity a workflow task
 * schedules on the worker's own queue (all of the runs queue's bookkeeping) is started in the same
 * write that completes the workflow task and handed back in its reply, so it never goes through
 * matching and its one-second started-record deadline, and costs one store write fewer. The SDK
 * asks for it by default; the server needs the flag.
 */
export const DEV_SERVER_DYNAMIC_CONFIG: Readonly<Record<string, string | number | boolean>> = {
  'system.enableActivityEagerExecution': true,
};

/**
 * `PROCTOR_TEMPORAL_DEV_SETTINGS=baseline` starts the dev server with its own defaults instead of
 * the settings above, so a benchmark can measure what they change (bench/burstLatency.ts).
 */
function devServerSettings(): {
  pragmas: Record<string, string>;
  dynamicConfig: Record<string, string | number | boolean>;
} {
  if (process.env.PROCTOR_TEMPORAL_DEV_SETTINGS === 'baseline') return { pragmas: {}, dynamicConfig: {} };
  return { pragmas: { ...DEV_SERVER_SQLITE_PRAGMAS }, dynamicConfig: { ...DEV_SERVER_DYNAMIC_CONFIG } };
}

function devServerSettingArgs(): string[] {
  const { pragmas, dynamicConfig } = devServerSettings();
  return [
    ...Object.entries(pragmas).flatMap(([key, value]) => ['--sqlite-pragma', `${key}=${value}`]),
    ...Object.entries(dynamicConfig).flatMap(([key, value]) => [
      '--dynamic-config-value',
      `${key}=${JSON.stringify(value)}`,
    ]),
  ];
}

function searchAttributeArgs(): string[] {
  return Object.values(SEARCH_ATTRIBUTE_KEYS).flatMap((key) => [
    '--search-attribute',
    `${key.name}=${TypedSearchAttributes.toMetadataType(key.type)}`,
  ]);
}

/** Registers any project search attribute the namespace lacks, then checks they are all there. */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  const list = () =>
    connection.operatorService.listSearchAttributes({ namespace }).then((r) => r.customAttributes ?? {});
  const wanted = Object.values(SEARCH_ATTRIBUTE_KEYS).map((key) => ({
    name: key.name,
    type: proto.temporal.api.enums.v1.IndexedValueType[`INDEXED_VALUE_TYPE_${key.type}`],
  }));
  const existing = await list();
  const missing = wanted.filter((w) => existing[w.name] === undefined);
  if (missing.length > 0) {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((m) => [m.name, m.type])),
    });
  }
  const after = await list();
  const wrong = wanted.filter((w) => after[w.name] !== w.type).map((w) => w.name);
  if (wrong.length > 0) {
    throw new Error(
      `Temporal namespace ${namespace} lacks search attributes ${wrong.join(', ')} (or has them with another type)`,
    );
  }
}

/** Polls until the frontend answers for the namespace; `failed` ends the wait early with a reason. */
async function waitUntilServing(
  address: string,
  namespace: string,
  deadline: number,
  failed: () => string | undefined,
): Promise<Connection> {
  let lastError: unknown;
  for (;;) {
    const reason = failed();
    if (reason) throw new Error(reason);
    if (Date.now() >= deadline)
      throw new Error(`did not accept connections: ${String((lastError as Error)?.message ?? lastError)}`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 2_000 });
      try {
        await connection.workflowService.describeNamespace({ namespace });
        return connection;
      } catch (error) {
        await connection.close();
        throw error;
      }
    } catch (error) {
      lastError = error;
      await sleep(250);
    }
  }
}

export async function startTemporalDevServer(options: TemporalDevServerOptions): Promise<TemporalDevServer> {
  const cli = options.cli ?? (await resolveTemporalCli());
  await mkdir(options.dataDir, { recursive: true });
  return 'path' in cli ? startSpawned(cli.path, options) : startDownloaded(options);
}

function settings(options: TemporalDevServerOptions) {
  const ip = options.ip ?? '127.0.0.1';
  const port = options.port ?? 7233;
  const uiPort = options.uiPort ?? 8233;
  return {
    ip,
    port,
    uiPort,
    namespace: options.namespace ?? 'default',
    dbFile: path.join(options.dataDir, 'temporal.sqlite'),
    logFile: options.logFile ?? path.join(options.dataDir, 'temporal.log'),
    address: `${ip}:${port}`,
    uiUrl: options.headless ? undefined : `http://${ip}:${uiPort}`,
    timeoutMs: options.startTimeoutMs ?? 60_000,
  };
}

async function startSpawned(cliPath: string, options: TemporalDevServerOptions): Promise<TemporalDevServer> {
  const s = settings(options);
  const args = [
    'server',
    'start-dev',
    '--ip',
    s.ip,
    '--port',
    String(s.port),
    '--db-filename',
    s.dbFile,
    '--namespace',
    s.namespace,
    '--log-level',
    'warn',
    ...(options.headless ? ['--headless'] : ['--ui-port', String(s.uiPort)]),
    ...devServerSettingArgs(),
    ...searchAttributeArgs(),
  ];

  let child: ChildProcess | undefined;
  let stopping = false;
  const listeners: ((reason: string) => void)[] = [];

  const launch = async () => {
    // Otherwise a server already on the port would answer the readiness check in this one's place.
    await assertPortsFree(
      [
        { port: s.port, what: 'Temporal frontend' },
        ...(options.headless ? [] : [{ port: s.uiPort, what: 'Temporal UI' }]),
      ],
      s.ip,
    );
    const log = openSync(s.logFile, 'a');
    // Its own process group: Ctrl-C in a terminal reaches only the launcher, which stops things in order.
    const spawned = spawn(cliPath, args, { detached: true, stdio: ['ignore', log, log] });
    closeSync(log);
    child = spawned;
    let exitReason: string | undefined;
    spawned.on('error', (error) => {
      exitReason = `could not be spawned: ${error.message}`;
    });
    spawned.on('exit', (code, signal) => {
      exitReason = `exited (${signal ?? `code ${code}`})`;
      if (!stopping && child === spawned)
        for (const listener of listeners) listener(`Temporal dev server ${exitReason}`);
    });
    try {
      const connection = await waitUntilServing(s.address, s.namespace, Date.now() + s.timeoutMs, () => exitReason);
      try {
        await ensureSearchAttributes(connection, s.namespace);
      } finally {
        await connection.close();
      }
    } catch (error) {
      if (spawned.pid && isProcessAlive(spawned.pid)) await stopProcess(spawned.pid, { group: true, graceMs: 2_000 });
      throw new Error(
        `Temporal dev server (${cliPath}) on ${s.address} ${(error as Error).message}\n--- last lines of ${s.logFile} ---\n${await logTail(s.logFile)}`,
        { cause: error },
      );
    }
  };

  const stop = async () => {
    stopping = true;
    if (child?.pid) await stopProcess(child.pid, { group: true, graceMs: STOP_GRACE_MS });
  };

  await launch();
  return {
    address: s.address,
    namespace: s.namespace,
    uiUrl: s.uiUrl,
    get pid() {
      return child?.pid;
    },
    logFile: s.logFile,
    stop,
    restart: async () => {
      await stop();
      stopping = false;
      await launch();
    },
    onUnexpectedExit: (listener) => {
      listeners.push(listener);
    },
    detach: () => {
      stopping = true;
      child?.unref();
    },
  };
}

/** Fallback without a local CLI: the SDK downloads and runs the dev server itself. */
async function startDownloaded(options: TemporalDevServerOptions): Promise<TemporalDevServer> {
  const s = settings(options);
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  let env: TestWorkflowEnvironment | undefined;

  const launch = async () => {
    env = await TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'cached-download', downloadDir: temporalDownloadDir() },
        dbFilename: s.dbFile,
        ip: s.ip,
        port: s.port,
        ui: !options.headless,
        uiPort: options.headless ? undefined : s.uiPort,
        namespace: s.namespace,
        log: { format: 'pretty', level: 'warn' },
        searchAttributes: Object.values(SEARCH_ATTRIBUTE_KEYS),
        extraArgs: devServerSettingArgs(),
      },
    });
    await ensureSearchAttributes(env.connection, s.namespace);
  };
  const stop = async () => {
    await env?.teardown();
    env = undefined;
  };

  await launch();
  return {
    address: s.address,
    namespace: s.namespace,
    uiUrl: s.uiUrl,
    stop,
    restart: async () => {
      await stop();
      await launch();
    },
    onUnexpectedExit: () => {},
    detach: () => {
      throw new Error('a dev server run by the Temporal SDK download cannot outlive this process');
    },
  };
}
