/**
 * Process configuration, read from the environment once at start-up and validated, with defaults
 * that run on one machine. Anything invalid stops the process with a message naming the variable.
 */
export interface ProctorEnv {
  databaseUrl: string;
  apiHost: string;
  apiPort: number;
  /** 32-byte key (base64) that encrypts model API keys at rest. */
  secretKey: Buffer;
  logLevel: string;
  /** Inference activities one worker runs at once. */
  inferenceSlots: number;
  /** Which task queues this worker process serves. */
  workerQueues: string[];
  quota: { formalPerMonth: number; manualPerMonth: number };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

function secretKey(env: NodeJS.ProcessEnv): Buffer {
  const raw = env.PROCTOR_SECRET_KEY;
  if (!raw) throw new ConfigError('PROCTOR_SECRET_KEY must be set to 32 random bytes in base64 (the launcher generates one)');
  const key = Buffer.from(raw, 'base64');
  if (key.length !== 32) throw new ConfigError(`PROCTOR_SECRET_KEY must decode to 32 bytes, got ${key.length}`);
  return key;
}

export function loadEnv(env: NodeJS.ProcessEnv = process.env): ProctorEnv {
  if (!env.DATABASE_URL) throw new ConfigError('DATABASE_URL must be set (the launcher sets it for the embedded PostgreSQL)');
  return {
    databaseUrl: env.DATABASE_URL,
    apiHost: env.PROCTOR_API_HOST ?? '127.0.0.1',
    apiPort: int(env, 'PROCTOR_API_PORT', 8080, 0, 65535),
    secretKey: secretKey(env),
    logLevel: env.PROCTOR_LOG_LEVEL ?? 'info',
    inferenceSlots: int(env, 'PROCTOR_INFERENCE_SLOTS', 8, 1, 1024),
    workerQueues: (env.PROCTOR_WORKER_QUEUES ?? 'runs,inference').split(',').map((q) => q.trim()).filter(Boolean),
    quota: {
      formalPerMonth: int(env, 'PROCTOR_FORMAL_QUOTA', 5, 0, 10_000),
      manualPerMonth: int(env, 'PROCTOR_MANUAL_QUOTA', 2, 0, 10_000),
    },
  };
}
