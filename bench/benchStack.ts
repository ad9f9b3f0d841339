/**
 * The stack a benchmark runs against, started fresh in a temporary directory and stopped at the
 * end: embedded PostgreSQL and a headless Temporal dev server on free ports, migrations and the
 * bootstrap records, the API built in this process, and the worker as a process of its own so its
 * memory can be read from /proc. Nothing here is shared with `npm start` or the tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
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
import { requireTemporalCliPath } from '../stack/temporalCli';
import { startTemporalDevServer, type TemporalDevServer } from '../stack/temporalServer';
import { freePorts } from '../test/support/ports';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const WORKER_MAIN = path.join(ROOT, 'workers/main.ts');
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
  temporal: Client;
  db: DbHandle;
  apiUrl: string;
  adminKey: string;
  request(method: string, urlPath: string, options?: { key?: string; body?: unknown }): Promise<ApiAnswer>;
  /** Starts `workers/main.ts` as its own process, serving the runs and inference queues. */
  startWorker(env?: Record<string, string>): Promise<WorkerProcess>;
  stop(): Promise<void>;
}

export interface WorkerProcess {
  pid: number;
  /** Samples VmRSS every `everyMs` until `stop` is called on the returned sampler. */
  sampleRss(everyMs?: number): RssSampler;
  /** VmHWM: the most resident memory the process has had since it started, in bytes. */
  peakRssBytes(): number;
  output(): string;
  stop(): Promise<void>;
}

export interface RssSampler {
  stop(): { maxBytes: number; samples: number; lastBytes: number };
}

function procStatusBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  if (!match) throw new Error(`/proc/${pid}/status has no ${field}`);
  return Number(match[1]) * 1024;
}

export async function startBenchStack(options: { log?: (line: string) => void; formalQuota?: number } = {}): Promise<BenchStack> {
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
    const [pg, temporalServer] = await Promise.all([
      startPostgres({ dataDir: path.join(dir, 'pg'), port: pgPort, env: {}, log: () => {} }).then((server: PostgresServer) => {
        stops.push(server.stop);
        return server;
      }),
      requireTemporalCliPath({ log }).then((cliPath) =>
        startTemporalDevServer({ cli: { path: cliPath }, dataDir: path.join(dir, 'temporal'), port: temporalPort, namespace: NAMESPACE, headless: true }),
      ).then((server: TemporalDevServer) => {
        stops.push(server.stop);
        return server;
      }),
    ]);
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
    const app: FastifyInstance = await buildApp({ db: db.db, temporal, env: loadEnv(baseEnv), logger: pino({ level: 'silent' }) });
    const apiUrl = await app.listen({ host: '127.0.0.1', port: 0 });
    stops.push(() => app.close());

    const request: BenchStack['request'] = async (method, urlPath, { key, body } = {}) => {
      const headers: Record<string, string> = {};
      if (key) headers.authorization = `Bearer ${key}`;
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(`${apiUrl}${urlPath}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await res.text();
      const json = /\bjson\b/.test(res.headers.get('content-type') ?? '');
      return { status: res.status, body: json && text ? JSON.parse(text) : text, text };
    };

    const startWorker = async (env: Record<string, string> = {}): Promise<WorkerProcess> => {
      const worker = await spawnWorker({ ...baseEnv, PROCTOR_WORKER_QUEUES: 'runs,inference', PROCTOR_LOG_LEVEL: 'info', ...env });
      stops.push(worker.stop);
      return worker;
    };

    return { dir, databaseUrl: pg.url, temporalAddress: temporalServer.address, temporal, db, apiUrl, adminKey, request, startWorker, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function spawnWorker(env: Record<string, string>, readyTimeoutMs = 120_000): Promise<WorkerProcess> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', WORKER_MAIN], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  // Only the tail is kept: a long run must not grow this process's memory with the worker's logs.
  const keep = (chunk: Buffer) => {
    log = (log + chunk.toString('utf8')).slice(-64 * 1024);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the worker did not start in ${readyTimeoutMs} ms:\n${log}`)), readyTimeoutMs);
    const check = () => {
      if (log.includes('worker started')) {
        clearTimeout(timer);
        child.stdout!.off('data', check);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the worker exited with ${code} before starting:\n${log}`));
    });
  });
  const pid = child.pid!;
  return {
    pid,
    sampleRss(everyMs = 200) {
      let maxBytes = 0;
      let lastBytes = 0;
      let samples = 0;
      const read = () => {
        try {
          lastBytes = procStatusBytes(pid, 'VmRSS');
          maxBytes = Math.max(maxBytes, lastBytes);
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
          return { maxBytes, samples, lastBytes };
        },
      };
    },
    peakRssBytes: () => procStatusBytes(pid, 'VmHWM'),
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
