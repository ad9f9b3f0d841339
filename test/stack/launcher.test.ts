/**
 * `npm start` as a user runs it: a fresh data directory, its own embedded PostgreSQL and Temporal
 * dev server with the web UI, the reference model, the worker and the API. The README's quick start
 * is then followed over HTTP, and Ctrl-C brings everything down with exit code 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { LAUNCH_SWEEP } from '../../temporal.config';
import { freePorts } from '../support/ports';
import { readServicesState } from '../support/services';

const START = fileURLToPath(new URL('../../stack/start.ts', import.meta.url));

let child: ChildProcess | undefined;
let dataDir: string | undefined;
let output = '';

afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGKILL');
  }
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function until<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (child && child.exitCode !== null)
      throw new Error(`the launcher exited (code ${child.exitCode}) before ${what}; its output:\n${output}`);
    if (Date.now() > deadline)
      throw new Error(`${what} did not happen in ${timeoutMs} ms; launcher output:\n${output}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

it('starts the whole stack, runs the quick start, and stops cleanly on Ctrl-C', async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'proctor-launcher-'));
  // Embedded PostgreSQL runs as the postgres OS user when started by root; it must reach its directory.
  await chmod(dataDir, 0o755);
  const [api, temporal, ui, pg, model] = await freePorts(5);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PROCTOR_DATA_DIR: dataDir,
    PROCTOR_API_PORT: String(api),
    PROCTOR_TEMPORAL_PORT: String(temporal),
    PROCTOR_TEMPORAL_UI_PORT: String(ui),
    PROCTOR_POSTGRES_PORT: String(pg),
    PROCTOR_REFERENCE_MODEL_PORT: String(model),
    TEMPORAL_CLI_PATH: readServicesState().temporal!.cliPath,
  };
  // What the test set-up exported would otherwise make the launcher reuse the test servers.
  for (const name of ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'PROCTOR_SECRET_KEY', 'PROCTOR_ADMIN_KEY']) delete env[name];
  child = spawn(process.execPath, ['--import', 'tsx', START], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));

  const adminKey = await until(
    'the launcher printing the admin key',
    () => /Admin API key\s+(\S+)/.exec(output)?.[1],
    240_000,
  );
  expect(output).toContain(`http://127.0.0.1:${api}`);
  expect(output).toMatch(new RegExp(`Temporal UI\\s+http://[^\\s]+:${ui}`));

  const base = `http://127.0.0.1:${api}`;
  const call = async (method: string, route: string, key: string, body?: unknown) => {
    const response = await fetch(`${base}${route}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  };

  expect((await fetch(`${base}/healthz`)).status).toBe(200);
  expect((await fetch(`http://127.0.0.1:${ui}/`)).status).toBe(200);

  const user = await call('POST', '/v1/users', adminKey, {
    name: 'Ada',
    organization: 'Lab',
    email: 'ada@example.com',
    role: 'user',
  });
  expect(user.status).toBe(201);
  const key = user.body.apiKey as string;
  const datasets = await call('GET', '/v1/datasets', key);
  expect(datasets.body.items.length).toBeGreaterThanOrEqual(3);

  const evaluation = await call('POST', '/v1/evaluations', key, {
    domain: 'nlp',
    modelName: 'my-first-model',
    datasets: ['arith-basic', 'unit-conversion'],
    deployment: { method: 'api', endpoint: `http://127.0.0.1:${model}/v1`, onlineModelName: 'proctor-reference' },
    robustness: false,
    modelInfo: { type: 'sft' },
    acknowledgeNoTestAnnotations: true,
  });
  expect(evaluation.status).toBe(201);
  const verification = await call('POST', `/v1/evaluations/${evaluation.body.id}/verifications`, key);
  expect(verification.status).toBe(202);
  const ended = await until(
    'the verification ending',
    async () => {
      const run = await call('GET', `/v1/runs/${verification.body.runId}`, key);
      return ['succeeded', 'failed', 'stopped'].includes(run.body.status) ? run.body : undefined;
    },
    120_000,
  );
  expect(ended.status).toBe('succeeded');
  const results = await call('GET', `/v1/runs/${verification.body.runId}/results`, key);
  expect(results.body.items.length).toBeGreaterThanOrEqual(2);
  for (const item of results.body.items)
    expect(item).toEqual(
      expect.objectContaining({
        id: expect.any(String),
        dataset: expect.any(String),
        sample: expect.any(String),
        label: expect.any(String),
      }),
    );

  // The worker keeps the deployment's launch sweep scheduled, running.
  const connection = await Connection.connect({ address: `127.0.0.1:${temporal}` });
  try {
    const sweep = await new Client({ connection }).schedule.getHandle(LAUNCH_SWEEP.scheduleId).describe();
    expect(sweep.state.paused).toBe(false);
    expect(sweep.action.workflowType).toBe(LAUNCH_SWEEP.workflowType);
  } finally {
    await connection.close();
  }

  child.kill('SIGINT');
  const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 60_000))]);
  expect(code, output).toBe(0);
  for (const port of [api, temporal, ui, pg, model])
    expect(await portOpen(port), `port ${port} still open`).toBe(false);
}, 420_000);
