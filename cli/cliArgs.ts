/**
 * The command line of `proctor`: a command, `--name=value` or `--name value` options anywhere,
 * and positional arguments. Settings not given fall back to the environment.
 */
export interface CliArgs {
  command: string | null;
  positional: string[];
  token: string | null;
  server: string;
  help: boolean;
}

export const DEFAULT_SERVER = 'http://127.0.0.1:8080';
const VALUE_OPTIONS = new Set(['token', 'server']);

export class UsageError extends Error {
  override name = 'UsageError';
}

export function parseArgs(argv: string[], env: NodeJS.ProcessEnv): CliArgs {
  const options = new Map<string, string>();
  const positional: string[] = [];
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '-h' || arg === '--help') {
      help = true;
      continue;
    }
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    if (!VALUE_OPTIONS.has(name)) throw new UsageError(`unknown option --${name}`);
    const value = eq < 0 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined || value === '') throw new UsageError(`--${name} needs a value, e.g. --${name}=…`);
    options.set(name, value);
  }
  const [command = null, ...rest] = positional;
  return {
    command,
    positional: rest,
    token: options.get('token') ?? (env.PROCTOR_UPLOAD_TOKEN || null),
    server: (options.get('server') ?? (env.PROCTOR_URL || DEFAULT_SERVER)).replace(/\/+$/, ''),
    help,
  };
}
