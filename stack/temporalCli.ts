/**
 * Finds the Temporal CLI that runs the dev server. A machine with Go but no internet beyond the Go
 * module proxy can build the CLI; a machine with internet falls back to the SDK's cached download.
 */
import { spawn, spawnSync } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

/** The newest CLI release that still builds with `go install` (later tags need replace directives). */
export const TEMPORAL_CLI_GO_PACKAGE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';

export type TemporalCli = { path: string } | { download: true };

export interface ResolveTemporalCliOptions {
  env?: NodeJS.ProcessEnv;
  /** Build with `go install` when no binary is found (default true). */
  build?: boolean;
  log?: (line: string) => void;
}

async function isExecutableFile(file: string): Promise<boolean> {
  try {
    await access(file, fsConstants.X_OK);
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

async function findOnPath(name: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (await isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

/** The Go toolchain: on PATH, or where the official tarball installs it. */
async function findGo(env: NodeJS.ProcessEnv): Promise<string | undefined> {
  return (
    (await findOnPath('go', env)) ??
    ((await isExecutableFile('/usr/local/go/bin/go')) ? '/usr/local/go/bin/go' : undefined)
  );
}

/** Where `go install` puts binaries: GOBIN, else the first GOPATH entry's `bin`. */
function goInstallDir(go: string, env: NodeJS.ProcessEnv): string | undefined {
  const result = spawnSync(go, ['env', 'GOBIN', 'GOPATH'], { env, encoding: 'utf8' });
  if (result.status !== 0) return undefined;
  const [gobin, gopath] = result.stdout.split('\n').map((line) => line.trim());
  if (gobin) return gobin;
  const first = gopath?.split(path.delimiter)[0];
  return first ? path.join(first, 'bin') : undefined;
}

/** Where the SDK's cached download of the CLI lands (see `downloadTemporalCli`). */
export function temporalDownloadDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'proctor', 'temporal-cli');
}

function sdkVersion(): string {
  return (createRequire(import.meta.url)('@temporalio/testing/package.json') as { version: string }).version;
}

/** The file name the SDK gives its download of the CLI for this SDK version. */
async function cachedDownloadPath(env: NodeJS.ProcessEnv): Promise<string> {
  const suffix = process.platform === 'win32' ? '.exe' : '';
  return path.join(temporalDownloadDir(env), `temporal-sdk-typescript-${sdkVersion()}${suffix}`);
}

function runGoInstall(go: string, env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<boolean> {
  log(
    `Building the Temporal CLI with \`go install ${TEMPORAL_CLI_GO_PACKAGE}\`; this takes a few minutes the first time.`,
  );
  return new Promise((resolve) => {
    const child = spawn(go, ['install', TEMPORAL_CLI_GO_PACKAGE], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const forward = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) log(`[go install] ${line}`);
    };
    child.stdout.on('data', forward);
    child.stderr.on('data', forward);
    child.on('error', (error) => {
      log(`go install could not run: ${error.message}`);
      resolve(false);
    });
    child.on('close', (code) => resolve(code === 0));
  });
}

export async function resolveTemporalCli(options: ResolveTemporalCliOptions = {}): Promise<TemporalCli> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => console.error(line));

  const explicit = env.TEMPORAL_CLI_PATH;
  if (explicit) {
    if (!(await isExecutableFile(explicit))) {
      throw new Error(`TEMPORAL_CLI_PATH is set to ${explicit}, which is not an executable file`);
    }
    return { path: explicit };
  }

  const onPath = await findOnPath('temporal', env);
  if (onPath) return { path: onPath };

  const go = await findGo(env);
  const installDir = go ? goInstallDir(go, env) : undefined;
  const built = installDir ? path.join(installDir, 'temporal') : undefined;
  if (built && (await isExecutableFile(built))) return { path: built };

  const downloaded = await cachedDownloadPath(env);
  if (await isExecutableFile(downloaded)) return { path: downloaded };

  if (go && built && options.build !== false) {
    if ((await runGoInstall(go, env, log)) && (await isExecutableFile(built))) return { path: built };
    log('Building the Temporal CLI failed; falling back to the Temporal SDK download.');
  }
  return { download: true };
}

/**
 * Fetches the CLI through the SDK's cached download (a short-lived headless dev server is the only
 * public way to trigger it) and returns the binary's path, so later starts can run it directly.
 */
export async function downloadTemporalCli(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  const testEnv = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'cached-download', downloadDir: temporalDownloadDir(env) }, ui: false },
  });
  await testEnv.teardown();
  const file = await cachedDownloadPath(env);
  if (!(await isExecutableFile(file)))
    throw new Error(`The Temporal SDK download did not leave an executable at ${file}`);
  return file;
}

/** A path to the CLI, downloading it when nothing local exists. */
export async function requireTemporalCliPath(options: ResolveTemporalCliOptions = {}): Promise<string> {
  const cli = await resolveTemporalCli(options);
  return 'path' in cli ? cli.path : downloadTemporalCli(options.env);
}
