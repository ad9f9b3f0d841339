/**
 * A Docker engine for the container tests and the one-machine stack: the one DOCKER_HOST names (or
 * the default socket) when it answers, else, as root with dockerd installed, one of our own with
 * its socket, data, state and PID file under `dir`, on the host's network only (no bridge, no
 * iptables: containers share the host's network). It never touches another engine's files.
 */
import { execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { connectDocker, pingDocker } from '../docker/engine';
import { logTail } from './logTail';
import { isProcessAlive, stopProcess, waitForExit } from './stopProcess';

const run = promisify(execFile);
const DEFAULT_SOCKET = 'unix:///var/run/docker.sock';
const START_TIMEOUT_MS = 30_000;
// Unix socket paths are limited to 107 bytes; containerd puts its sockets a few levels below exec-root.
const MAX_EXEC_ROOT_CHARS = 60;

export interface DockerEngine {
  /** unix:///…/docker.sock or whatever DOCKER_HOST said. */
  dockerHost: string;
  /** True when this call started the engine (and `stop` stops it). */
  started: boolean;
  stop(): Promise<void>;
}

/** What an engine we started leaves in `dir/engine.json`, so another process can stop it. */
interface EngineRecord {
  socket: string;
  pidFile: string;
  execRoot: string;
  /** An exec-root outside `dir` (when `dir` is too deep for socket paths) is removed on stop. */
  execRootIsTemporary: boolean;
}

/** No engine answers and this process cannot start one; `dockerdMissing`: because dockerd is not installed. */
export class NoDockerEngine extends Error {
  override name = 'NoDockerEngine';
  constructor(
    readonly dockerdMissing: boolean,
    message: string,
  ) {
    super(message);
  }
}

export async function ensureDockerEngine(o: { dir: string; log?: (line: string) => void }): Promise<DockerEngine> {
  const log = o.log ?? (() => {});
  const candidate = process.env.DOCKER_HOST || DEFAULT_SOCKET;
  let reason: string;
  try {
    await pingDocker(connectDocker(candidate), 3_000);
    return { dockerHost: candidate, started: false, stop: async () => {} };
  } catch (error) {
    reason = (error as Error).message;
  }
  const dockerd = findDockerd();
  if (process.getuid?.() !== 0 || !dockerd) {
    throw new NoDockerEngine(
      !dockerd,
      `no Docker engine: ${reason}, and this process cannot start one (${!dockerd ? 'dockerd is not installed: apt-get install docker.io' : 'starting dockerd needs root'}). ` +
        'Set DOCKER_HOST to a running engine.',
    );
  }
  log(`${reason}; starting dockerd`);
  return startDockerd(dockerd, path.resolve(o.dir));
}

async function startDockerd(dockerd: string, dir: string): Promise<DockerEngine> {
  await mkdir(dir, { recursive: true });
  let execRoot = path.join(dir, 'exec');
  const execRootIsTemporary = execRoot.length > MAX_EXEC_ROOT_CHARS;
  if (execRootIsTemporary) execRoot = await mkdtemp(path.join(os.tmpdir(), 'proctor-dockerd-'));
  const record: EngineRecord = {
    socket: path.join(dir, 'docker.sock'),
    pidFile: path.join(dir, 'docker.pid'),
    execRoot,
    execRootIsTemporary,
  };
  await writeFile(path.join(dir, 'engine.json'), JSON.stringify(record, null, 2));
  const logFile = path.join(dir, 'dockerd.log');
  const out = openSync(logFile, 'a');
  const child = spawn(
    dockerd,
    [
      '--iptables=false',
      '--ip-forward=false',
      '--bridge=none',
      `--host=unix://${record.socket}`,
      `--data-root=${path.join(dir, 'data')}`,
      `--exec-root=${execRoot}`,
      `--pidfile=${record.pidFile}`,
      // Stopping the engine stops its containers; our model servers exit on SIGTERM at once.
      '--shutdown-timeout=5',
    ],
    { detached: true, stdio: ['ignore', out, out] },
  );
  closeSync(out);
  let exited: string | null = null;
  child.once('exit', (code, signal) => (exited = `exited with ${signal ?? `code ${code}`}`));
  child.once('error', (error) => (exited = error.message));
  child.unref();

  const dockerHost = `unix://${record.socket}`;
  const docker = connectDocker(dockerHost);
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    try {
      await pingDocker(docker, 2_000);
      break;
    } catch (error) {
      if (exited !== null || Date.now() >= deadline) {
        await stopDockerEngine(dir).catch(() => {});
        const why = exited ?? `did not answer within ${START_TIMEOUT_MS / 1000} s (${(error as Error).message})`;
        throw new Error(`dockerd ${why}; the end of ${logFile}:\n${await logTail(logFile, 15)}`, { cause: error });
      }
      await sleep(200);
    }
  }
  return { dockerHost, started: true, stop: () => stopDockerEngine(dir) };
}

/**
 * Stops an engine that ensureDockerEngine started under `dir` (this process or another one, e.g.
 * a test run that died): dockerd by its PID file, which stops its containers. A dockerd killed
 * outright leaves its containers running under their shims; those, and any mount left behind, are
 * cleaned up here too. Nothing recorded under `dir`: nothing to do.
 */
export async function stopDockerEngine(dir: string): Promise<void> {
  const recordFile = path.join(dir, 'engine.json');
  if (!existsSync(recordFile)) return;
  const record = JSON.parse(await readFile(recordFile, 'utf8')) as EngineRecord;
  const dockerdPid = pidFrom(record.pidFile);
  if (dockerdPid !== null && commandLineHas(dockerdPid, record.socket))
    await stopProcess(dockerdPid, { graceMs: 20_000 });
  await killProcessTrees(processesNaming(`${record.execRoot}/`));
  await unmountUnder([dir, record.execRoot]);
  if (record.execRootIsTemporary) await rm(record.execRoot, { recursive: true, force: true });
}

function findDockerd(): string | null {
  const dirs = [
    ...(process.env.PATH ?? '').split(':'),
    '/usr/sbin',
    '/usr/bin',
    '/sbin',
    '/usr/local/sbin',
    '/usr/local/bin',
  ];
  for (const dir of dirs) {
    if (dir && existsSync(path.join(dir, 'dockerd'))) return path.join(dir, 'dockerd');
  }
  return null;
}

function pidFrom(file: string): number | null {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 && isProcessAlive(pid) ? pid : null;
  } catch {
    return null;
  }
}

/** Guards against PID reuse: only a process started with our own paths is ours to stop. */
function commandLineHas(pid: number, text: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text);
  } catch {
    return false;
  }
}

/** containerd and the shims of its containers name the exec-root in their command lines. */
function processesNaming(text: string): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  return entries
    .filter((e) => /^\d+$/.test(e) && Number(e) !== process.pid && commandLineHas(Number(e), text))
    .map(Number);
}

/** SIGKILL to the processes and everything below them (a container's processes sit under its shim). */
async function killProcessTrees(roots: number[]): Promise<void> {
  if (roots.length === 0) return;
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const doomed = new Set(roots);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, parent] of parentOf) {
      if (doomed.has(parent) && !doomed.has(pid)) {
        doomed.add(pid);
        grew = true;
      }
    }
  }
  for (const pid of doomed) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  for (const pid of doomed) await waitForExit(pid, 5_000);
}

/** Overlay and shm mounts of a killed engine, deepest first, so the directory can be deleted. */
async function unmountUnder(roots: string[]): Promise<void> {
  let mountinfo: string;
  try {
    mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
  } catch {
    return;
  }
  const points = mountinfo
    .split('\n')
    .map((line) => line.split(' ')[4]?.replace(/\\040/g, ' '))
    .filter((p): p is string => !!p && roots.some((root) => p === root || p.startsWith(`${root}/`)))
    .sort((a, b) => b.length - a.length);
  for (const point of points) await run('umount', ['-l', point]).catch(() => {});
}
