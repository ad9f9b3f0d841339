/**
 * The stack a benchmark runs against, started fresh in a temporary directory and stopped at the
 * end: embedded PostgreSQL and a headless Temporal dev server on free ports, migrations and the
 * bootstrap records, the API built in this process, and the worker as a process of its own so its
 * memory can be read from /proc. Nothing here is shared with `npm start` or the tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createWriteStream, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { buildApp } from '../api/app';
import { loadEnv } from '../config/env';
import { connectDb, type DbHandle } from '../db/client';
import { migrateDatabase } from '../db/migrate';
import { bootstrap, generateApiKey } from '../stack/bootstrap';
import { startPostgres, type PostgresServer } from '../stack/postgres';
import type { ReferenceModelStats } from '../stack/referenceModel/server';
import { requireTemporalCliPath } from '../stack/temporalCli';
import { startTemporalDevServer, type TemporalDevServer } from '../stack/temporalServer';
import { freePorts } from '../test/support/ports';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const WORKER_MAIN = path.join(ROOT, 'workers/main.ts');
const REFERENCE_MODEL_MAIN = path.join(ROOT, 'stack/referenceModel/main.ts');
const NAMESPACE = 'default';

export interface ApiAnswer {
  status: number;
  body: any;
  text: string;
}

export interface BenchStack {
  dir: string;
  databaseUrl: string;
  temporalAddress: string;
  /** The dev server's process, to read its CPU time. */
  temporalPid: number | undefined;
  temporal: Client;
  db: DbHandle;
  apiUrl: string;
  adminKey: string;
  request(method: string, urlPath: string, options?: { key?: string; body?: unknown }): Promise<ApiAnswer>;
  /** Starts `workers/main.ts` as its own process, serving the runs and inference queues. */
  startWorker(env?: Record<string, string>): Promise<WorkerProcess>;
  /** Starts the reference model (stack/referenceModel/main.ts) as its own process, answering after `latencyMs`. */
  startStandIn(latencyMs: number): Promise<StandIn>;
  stop(): Promise<void>;
}

export interface WorkerProcess {
  pid: number;
  /** Samples VmRSS every `everyMs` until `stop` is called on the returned sampler. */
  sampleRss(everyMs?: number): RssSampler;
  /** VmHWM: the most resident memory the process has had since it started, in bytes. */
  peakRssBytes(): number;
  /** User + system CPU time the process has used so far, in seconds. */
  cpuSeconds(): number;
  output(): string;
  stop(): Promise<void>;
}

export interface StandIn {
  /** Base URL for OpenAI clients, ending in /v1. */
  url: string;
  pid: number;
  /** Its counters so far (stack/referenceModel/server.ts ReferenceModelStats). */
  stats(): Promise<ReferenceModelStats>;
  stop(): Promise<void>;
}

export interface RssSampler {
  /** `maxAt`: Date.now() when the largest sample was taken; `series`: every sample as [Date.now(), bytes]. */
  stop(): { maxBytes: number; maxAt: number; samples: number; lastBytes: number; series: [number, number][] };
}

function procStatusBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  if (!match) throw new Error(`/proc/${pid}/status has no ${field}`);
  return Number(match[1]) * 1024;
}

/** Fields 14 and 15 of /proc/PID/stat (utime, stime) are in clock ticks, 100 a second on Linux. */
export function procCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Busy and total CPU time of the whole machine so far (all cores), in clock ticks, from /proc/stat. */
export function machineCpuTicks(): { busy: number; total: number } {
  const [, ...values] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const n = values.map(Number);
  const total = n.reduce((a, b) => a + b, 0);
  const idle = (n[3] ?? 0) + (n[4] ?? 0); // idle + iowait
  return { busy: total - idle, total };
}

export async function startBenchStack(
  options: { log?: (line: string) => void; formalQuota?: number } = {},
): Promise<BenchStack> {
  const log = options.log ?? ((line: string) => process.stderr.write(`[bench] ${line}\n`));
  // Under /tmp: PostgreSQL runs as the `postgres` user when we are root, and must reach its directory.
  const dir = await mkdtemp(path.join(os.tmpdir(), 'proctor-bench-'));
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stops.reverse()) {
      try {
        await s();
      } catch (error) {
        log(`stopping: ${(error as Error).message}`);
      }
    }
    stops.length = 0;
  };
  try {
    const [pgPort, temporalPort] = await freePorts(2);
    const t0 = Date.now();
    stops.push(() => rm(dir, { recursive: true, force: true }));
    await chmod(dir, 0o755);
    // Settled, not raced: a server that came up must be stopped even when the other one failed.
    const [pgStarted, temporalStarted] = await Promise.allSettled([
      startPostgres({ dataDir: path.join(dir, 'pg'), port: pgPort, env: {}, log: () => {} }).then(
        (server: PostgresServer) => {
          stops.push(server.stop);
          return server;
        },
      ),
      requireTemporalCliPath({ log })
        .then((cliPath) =>
          startTemporalDevServer({
            cli: { path: cliPath },
            dataDir: path.join(dir, 'temporal'),
            port: temporalPort,
            namespace: NAMESPACE,
            headless: true,
          }),
        )
        .then((server: TemporalDevServer) => {
          stops.push(server.stop);
          return server;
        }),
    ]);
    if (pgStarted.status === 'rejected') throw pgStarted.reason;
    if (temporalStarted.status === 'rejected') throw temporalStarted.reason;
    const pg = pgStarted.value;
    const temporalServer = temporalStarted.value;
    await migrateDatabase(pg.url);
    const adminKey = generateApiKey();
    await bootstrap({ databaseUrl: pg.url, dataDir: dir, env: { PROCTOR_ADMIN_KEY: adminKey } });
    log(`PostgreSQL and Temporal ready in ${Date.now() - t0} ms (${dir})`);

    const secretKey = randomBytes(32).toString('base64');
    const baseEnv: Record<string, string> = {
      DATABASE_URL: pg.url,
      TEMPORAL_ADDRESS: temporalServer.address,
      TEMPORAL_NAMESPACE: NAMESPACE,
      PROCTOR_SECRET_KEY: secretKey,
      PROCTOR_DATA_DIR: dir,
      PROCTOR_FORMAL_QUOTA: String(options.formalQuota ?? 10_000),
      PROCTOR_PRIVATE_DEPLOYMENT: 'off',
    };

    const db = connectDb(pg.url, { max: 10 });
    stops.push(db.close);
    const connection = await Connection.connect({ address: temporalServer.address });
    stops.push(() => connection.close());
    const temporal = new Client({ connection, namespace: NAMESPACE });
    const app: FastifyInstance = await buildApp({
      db: db.db,
      temporal,
      env: loadEnv(baseEnv),
      logger: pino({ level: 'silent' }),
    });
    const apiUrl = await app.listen({ host: '127.0.0.1', port: 0 });
    stops.push(() => app.close());

    const request: BenchStack['request'] = async (method, urlPath, { key, body } = {}) => {
      const headers: Record<string, string> = {};
      if (key) headers.authorization = `Bearer ${key}`;
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(`${apiUrl}${urlPath}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      const json = /\bjson\b/.test(res.headers.get('content-type') ?? '');
      return { status: res.status, body: json && text ? JSON.parse(text) : text, text };
    };

    const startWorker = async (env: Record<string, string> = {}): Promise<WorkerProcess> => {
      const worker = await spawnWorker(
        { ...baseEnv, PROCTOR_WORKER_QUEUES: 'runs,inference', PROCTOR_LOG_LEVEL: 'info', ...env },
        WORKER_MAIN,
      );
      stops.push(worker.stop);
      return worker;
    };

    const startStandIn = async (latencyMs: number): Promise<StandIn> => {
      const [port] = await freePorts(1);
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', REFERENCE_MODEL_MAIN, '--port', String(port), '--knobs', JSON.stringify({ latencyMs })],
        {
          cwd: ROOT,
          env: { ...process.env, PROCTOR_LOG_LEVEL: 'info' },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      const standIn = await readyProcess(child, 'listening', 60_000, 'the stand-in model');
      stops.push(standIn.stop);
      const url = `http://127.0.0.1:${port}/v1`;
      return {
        url,
        pid: child.pid!,
        stats: async () => (await (await fetch(`http://127.0.0.1:${port}/_admin/stats`)).json()) as ReferenceModelStats,
        stop: standIn.stop,
      };
    };

    return {
      startStandIn,
      dir,
      databaseUrl: pg.url,
      temporalAddress: temporalServer.address,
      temporalPid: temporalServer.pid,
      temporal,
      db,
      apiUrl,
      adminKey,
      request,
      startWorker,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

interface ReadyProcess {
  output(): string;
  /** SIGTERM, then SIGKILL after 15 s. */
  stop(): Promise<void>;
}

/** Waits until the child prints `marker`; fails if it exits first or takes longer than `timeoutMs`. */
async function readyProcess(
  child: ChildProcess,
  marker: string,
  timeoutMs: number,
  what: string,
  logFile?: string,
): Promise<ReadyProcess> {
  let log = '';
  // Only the tail is kept: a long run must not grow this process's memory with a child's logs.
  const file = logFile ? createWriteStream(logFile, { flags: 'a' }) : null;
  const keep = (chunk: Buffer) => {
    file?.write(chunk);
    log = (log + chunk.toString('utf8')).slice(-64 * 1024);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start in ${timeoutMs} ms:\n${log}`)), timeoutMs);
    const check = () => {
      if (log.includes(marker)) {
        clearTimeout(timer);
        child.stdout!.off('data', check);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code} before starting:\n${log}`));
    });
  });
  return {
    output: () => log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

async function spawnWorker(
  env: Record<string, string>,
  main: string,
  readyTimeoutMs = 120_000,
): Promise<WorkerProcess> {
  // BENCH_WORKER_NODE_ARGS go to the worker's node only, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to see where its time goes;
  // BENCH_WORKER_LOG names a file that gets all its output (e.g. with --trace-gc).
  const nodeArgs = (process.env.BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', main], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const ready = await readyProcess(child, 'worker started', readyTimeoutMs, 'the worker', process.env.BENCH_WORKER_LOG);
  const pid = child.pid!;
  return {
    pid,
    sampleRss(everyMs = 200) {
      let maxBytes = 0;
      let maxAt = 0;
      const series: [number, number][] = [];
      let lastBytes = 0;
      let samples = 0;
      const read = () => {
        try {
          lastBytes = procStatusBytes(pid, 'VmRSS');
          series.push([Date.now(), lastBytes]);
          if (lastBytes > maxBytes) {
            maxBytes = lastBytes;
            maxAt = Date.now();
          }
          samples += 1;
        } catch {
          // the process is gone; the caller sees it elsewhere
        }
      };
      read();
      const timer = setInterval(read, everyMs);
      return {
        stop() {
          clearInterval(timer);
          read();
          return { maxBytes, maxAt, samples, lastBytes, series };
        },
      };
    },
    peakRssBytes: () => procStatusBytes(pid, 'VmHWM'),
    cpuSeconds: () => procCpuSeconds(pid),
    output: ready.output,
    stop: ready.stop,
  };
}

/** A fresh user (the formal quota is per user; the stack sets it high anyway). */
export async function createUser(stack: BenchStack): Promise<string> {
  const tag = randomUUID().slice(0, 8);
  const res = await stack.request('POST', '/v1/users', {
    key: stack.adminKey,
    body: { name: `Bench ${tag}`, organization: 'Proctor bench', email: `bench-${tag}@example.test`, role: 'user' },
  });
  if (res.status !== 201) throw new Error(`could not create a user: ${res.status} ${res.text}`);
  return res.body.apiKey as string;
}
