/**
 * Process configuration, read from the environment once at start-up and validated, with defaults
 * that run on one machine. Anything invalid stops the process with a message naming the variable.
 */
import os from 'node:os';
import path from 'node:path';
import type { GpuType } from '../contracts/resources';
import { NetworkListError, parseDeniedNetworks, type EndpointNetworkPolicy } from './endpointNetworks';

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
  /** `PROCTOR_WORKER_METRICS_ADDRESS` (host:port): where a worker serves its Temporal SDK metrics for Prometheus; null: none. */
  workerMetricsAddress: string | null;
  quota: { formalPerMonth: number; manualPerMonth: number };
  uploads: UploadSettings;
  containers: ContainerSettings;
  mail: MailSettings;
  leaderboard: LeaderboardSettings;
  /** The platform's judge, for judge metrics that name none (as EvalScope's OPENAI_API_BASE / LOCAL_LLM); null: they fall back to exact match. */
  judge: PlatformJudge | null;
  endpoints: EndpointSettings;
}

/** How workers call model and judge endpoints. */
export interface EndpointSettings {
  /** `PROCTOR_ENDPOINT_DENY_NETWORKS`: what user-named endpoints may not resolve to (config/endpointNetworks.ts). */
  networks: EndpointNetworkPolicy;
  /** `PROCTOR_MAX_ANSWER_BYTES`: the largest answer a request reads, after decompression. */
  maxAnswerBytes: number;
  /**
   * How long a formal run waits for its API endpoint to be ready: `PROCTOR_READY_TIMEOUT_SECONDS`
   * (default 600) when the run's `limits.readyTimeoutSeconds` is not set, never more than
   * `PROCTOR_READY_TIMEOUT_MAX_SECONDS` (default 3600). Absent: those defaults.
   */
  readyWait?: ReadyWaitSettings;
}

export interface ReadyWaitSettings {
  defaultSeconds: number;
  maxSeconds: number;
}

export const DEFAULT_READY_WAIT: ReadyWaitSettings = { defaultSeconds: 600, maxSeconds: 3600 };

/** `PROCTOR_JUDGE_BASE_URL`, `PROCTOR_JUDGE_MODEL` and, optionally, `PROCTOR_JUDGE_API_KEY`. */
export interface PlatformJudge {
  baseUrl: string;
  model: string;
  apiKey: string | null;
}

/** Publishing runs on the leaderboards (see docs/leaderboard.md). */
export interface LeaderboardSettings {
  /** `PROCTOR_LEADERBOARD_WINDOW_DAYS`: how long after a formal run succeeds its owner may submit it. */
  windowMs: number;
}

export interface UploadSettings {
  /** Where upload versions are stored; shared by the API and the container hosts. */
  dir: string;
  /** Largest total size of one version, in bytes. */
  maxBytes: number;
  /** Largest number of files and directories in one version. */
  maxEntries: number;
  tokenTtlHours: number;
  /** `PROCTOR_UPLOAD_CHUNK_KB`: the chunk size handed to resumable (flageval-serving CLI) uploads, in KiB. */
  chunkKb: number;
}

/** The seed's limit on an image's size: 40 GiB. */
export const MAX_IMAGE_BYTES = 40 * 2 ** 30;

export interface ContainerSettings {
  /** Docker engine socket or URL (DOCKER_HOST); null means dockerode's default. */
  dockerHost: string | null;
  /** Names this container host; its worker also serves the queue `proctor-containers@<hostId>`. */
  hostId: string;
  /** `host` publishes the model's port on the host's loopback by sharing its network; `bridge` maps a port. */
  network: 'host' | 'bridge';
  cpus: number;
  memoryMb: number;
  healthTimeoutMs: number;
  /** Container activities (start, health wait, inference batches) one worker runs at once. */
  slots: number;
  gpuTypes: GpuType[];
  /** `PROCTOR_JOBS_DIR`: where container jobs' inputs and outputs live on this host; absent: `jobs` beside the uploads. */
  jobsDir?: string;
  /** `PROCTOR_JOBS_RETENTION_HOURS`: how long a run's job files stay on the host after it ended. */
  jobsRetentionMs?: number;
  /** `PROCTOR_JOBS_CACHE_IDLE_DAYS`: a dataset's cached pictures unused this long are removed. */
  jobsCacheIdleMs?: number;
  /** `PROCTOR_MULTIMODAL_JOB_TIMEOUT_SECONDS`: the wall clock of one multimodal run.sh job (one dataset). */
  multimodalJobTimeoutMs?: number;
  /** `PROCTOR_BACKBONE_JOB_TIMEOUT_SECONDS`: the wall clock of one CV/Audio fine-tune job (one dataset). */
  backboneJobTimeoutMs?: number;
  /** `PROCTOR_MAX_IMAGE_BYTES`: the largest user image a run starts from (the seed's 40 GiB by default). */
  maxImageBytes?: number;
  /**
   * `PROCTOR_BACKBONE_IMAGE_AT_START` (true): the worker starts making the CV/Audio backbone image
   * when it starts, in the background; false leaves it to the first job that needs it.
   */
  backboneImageAtStart?: boolean;
}

/** Mail to users (see notifications/ and workers/mailDispatcher.ts). */
export interface MailSettings {
  /** `PROCTOR_SMTP_URL`, e.g. smtp://user:pass@host:587 or smtps://…:465; null: mails wait in the outbox unsent. */
  smtpUrl: string | null;
  /** `PROCTOR_MAIL_FROM`: the From of every mail. */
  from: string;
  /** `PROCTOR_NOTIFY_VERIFICATIONS`: mail the end of verification runs too (off: they take seconds and are many). */
  notifyVerifications: boolean;
  /** `PROCTOR_MAIL_MAX_ATTEMPTS`: delivery tries before a mail is given up. */
  maxAttempts: number;
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
  if (!raw)
    throw new ConfigError('PROCTOR_SECRET_KEY must be set to 32 random bytes in base64 (the launcher generates one)');
  const key = Buffer.from(raw, 'base64');
  if (key.length !== 32) throw new ConfigError(`PROCTOR_SECRET_KEY must decode to 32 bytes, got ${key.length}`);
  return key;
}

/**
 * `PROCTOR_GPU_TYPES`: comma-separated `id:total[:driver[:label]]`, e.g. `a100:8:nvidia:NVIDIA A100,cpu:2`.
 * The default offers CPU-only slots, which is what a machine without GPUs can honour.
 */
export function parseGpuTypes(raw: string | undefined): GpuType[] {
  const spec = raw === undefined || raw.trim() === '' ? 'cpu:2::CPU only (no GPU)' : raw;
  const types: GpuType[] = [];
  for (const part of spec
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [id = '', total = '', driver = '', ...label] = part.split(':');
    if (!/^[a-z0-9][a-z0-9._-]{0,63}$/.test(id))
      throw new ConfigError(
        `PROCTOR_GPU_TYPES: ${JSON.stringify(id)} is not a GPU type id (lowercase letters, digits, '.', '_', '-')`,
      );
    const count = Number(total);
    if (!Number.isInteger(count) || count < 0 || count > 4096)
      throw new ConfigError(`PROCTOR_GPU_TYPES: ${id} needs a total from 0 to 4096, got ${JSON.stringify(total)}`);
    if (types.some((t) => t.id === id)) throw new ConfigError(`PROCTOR_GPU_TYPES names ${id} twice`);
    types.push({ id, total: count, driver: driver === '' ? null : driver, label: label.join(':') || id });
  }
  if (types.length === 0) throw new ConfigError('PROCTOR_GPU_TYPES must name at least one type');
  return types;
}

export function loadEnv(env: NodeJS.ProcessEnv = process.env): ProctorEnv {
  if (!env.DATABASE_URL)
    throw new ConfigError('DATABASE_URL must be set (the launcher sets it for the embedded PostgreSQL)');
  return {
    databaseUrl: env.DATABASE_URL,
    apiHost: env.PROCTOR_API_HOST ?? '127.0.0.1',
    apiPort: int(env, 'PROCTOR_API_PORT', 8080, 0, 65535),
    secretKey: secretKey(env),
    logLevel: env.PROCTOR_LOG_LEVEL ?? 'info',
    inferenceSlots: int(env, 'PROCTOR_INFERENCE_SLOTS', 8, 1, 1024),
    workerQueues: (env.PROCTOR_WORKER_QUEUES ?? 'runs,inference,judge')
      .split(',')
      .map((q) => q.trim())
      .filter(Boolean),
    workerMetricsAddress: metricsAddress(env.PROCTOR_WORKER_METRICS_ADDRESS),
    quota: {
      formalPerMonth: int(env, 'PROCTOR_FORMAL_QUOTA', 5, 0, 10_000),
      manualPerMonth: int(env, 'PROCTOR_MANUAL_QUOTA', 2, 0, 10_000),
    },
    uploads: {
      dir: path.resolve(env.PROCTOR_UPLOAD_DIR ?? path.join(env.PROCTOR_DATA_DIR ?? '.proctor', 'uploads')),
      maxBytes: int(env, 'PROCTOR_UPLOAD_MAX_BYTES', 200 * 2 ** 30, 1, Number.MAX_SAFE_INTEGER),
      maxEntries: int(env, 'PROCTOR_UPLOAD_MAX_ENTRIES', 100_000, 1, 10_000_000),
      tokenTtlHours: int(env, 'PROCTOR_UPLOAD_TOKEN_TTL_HOURS', 72, 1, 24 * 365),
      chunkKb: int(env, 'PROCTOR_UPLOAD_CHUNK_KB', 8_192, 1, 256 * 1024),
    },
    containers: {
      dockerHost: env.DOCKER_HOST || null,
      hostId: env.PROCTOR_CONTAINER_HOST_ID || os.hostname(),
      network: containerNetwork(env.PROCTOR_CONTAINER_NETWORK),
      cpus: int(env, 'PROCTOR_CONTAINER_CPUS', 2, 1, 1024),
      memoryMb: int(env, 'PROCTOR_CONTAINER_MEMORY_MB', 16_384, 64, 4_194_304),
      healthTimeoutMs: int(env, 'PROCTOR_CONTAINER_HEALTH_TIMEOUT_MS', 600_000, 1_000, 86_400_000),
      slots: int(env, 'PROCTOR_CONTAINER_SLOTS', 4, 1, 1024),
      gpuTypes: parseGpuTypes(env.PROCTOR_GPU_TYPES),
      jobsDir: path.resolve(env.PROCTOR_JOBS_DIR ?? path.join(env.PROCTOR_DATA_DIR ?? '.proctor', 'jobs')),
      jobsRetentionMs: int(env, 'PROCTOR_JOBS_RETENTION_HOURS', 24, 0, 24 * 3650) * 3_600_000,
      jobsCacheIdleMs: int(env, 'PROCTOR_JOBS_CACHE_IDLE_DAYS', 7, 1, 3650) * 86_400_000,
      multimodalJobTimeoutMs: int(env, 'PROCTOR_MULTIMODAL_JOB_TIMEOUT_SECONDS', 7200, 5, 7 * 86_400) * 1000,
      backboneJobTimeoutMs: int(env, 'PROCTOR_BACKBONE_JOB_TIMEOUT_SECONDS', 14_400, 5, 7 * 86_400) * 1000,
      maxImageBytes: int(env, 'PROCTOR_MAX_IMAGE_BYTES', MAX_IMAGE_BYTES, 1, Number.MAX_SAFE_INTEGER),
      backboneImageAtStart: flag(env, 'PROCTOR_BACKBONE_IMAGE_AT_START', true),
    },
    mail: loadMailSettings(env),
    leaderboard: loadLeaderboardSettings(env),
    judge: loadPlatformJudge(env),
    endpoints: loadEndpointSettings(env),
  };
}

export function loadEndpointSettings(env: NodeJS.ProcessEnv = process.env): EndpointSettings {
  let networks: EndpointNetworkPolicy;
  try {
    networks = parseDeniedNetworks(env.PROCTOR_ENDPOINT_DENY_NETWORKS);
  } catch (error) {
    if (error instanceof NetworkListError) throw new ConfigError(`PROCTOR_ENDPOINT_DENY_NETWORKS: ${error.message}`);
    throw error;
  }
  const maxSeconds = int(env, 'PROCTOR_READY_TIMEOUT_MAX_SECONDS', DEFAULT_READY_WAIT.maxSeconds, 1, 86_400);
  return {
    networks,
    maxAnswerBytes: int(env, 'PROCTOR_MAX_ANSWER_BYTES', 32 * 2 ** 20, 1024, 2 ** 30),
    readyWait: {
      defaultSeconds: int(
        env,
        'PROCTOR_READY_TIMEOUT_SECONDS',
        Math.min(DEFAULT_READY_WAIT.defaultSeconds, maxSeconds),
        1,
        maxSeconds,
      ),
      maxSeconds,
    },
  };
}

export function loadPlatformJudge(env: NodeJS.ProcessEnv = process.env): PlatformJudge | null {
  const baseUrl = env.PROCTOR_JUDGE_BASE_URL?.trim() || null;
  const model = env.PROCTOR_JUDGE_MODEL?.trim() || null;
  if (!baseUrl && !model) return null;
  if (!baseUrl || !model)
    throw new ConfigError(
      'PROCTOR_JUDGE_BASE_URL and PROCTOR_JUDGE_MODEL must be set together (or neither: judge metrics then fall back to exact match)',
    );
  if (!/^https?:\/\/\S+$/.test(baseUrl))
    throw new ConfigError(`PROCTOR_JUDGE_BASE_URL must be an http(s) URL, got ${JSON.stringify(baseUrl)}`);
  return { baseUrl, model, apiKey: env.PROCTOR_JUDGE_API_KEY?.trim() || null };
}

/**
 * The leaderboard section alone (workers read it when they create the leaderboard activities).
 * Days may be fractional (0.5 is twelve hours), down to about a second.
 */
export function loadLeaderboardSettings(env: NodeJS.ProcessEnv = process.env): LeaderboardSettings {
  const raw = env.PROCTOR_LEADERBOARD_WINDOW_DAYS?.trim();
  if (raw === undefined || raw === '') return { windowMs: 30 * 86_400_000 };
  const days = Number(raw);
  if (!Number.isFinite(days) || days < 0.00001 || days > 3650) {
    throw new ConfigError(
      `PROCTOR_LEADERBOARD_WINDOW_DAYS must be a number of days from 0.00001 to 3650, got ${JSON.stringify(env.PROCTOR_LEADERBOARD_WINDOW_DAYS)}`,
    );
  }
  return { windowMs: Math.round(days * 86_400_000) };
}

/** Manual evaluation of subjective datasets (docs/manual-review.md). */
export interface ReviewSettings {
  /** `PROCTOR_MANUAL_EVALUATION_WINDOW_DAYS` (default 14): how long a run waits for its owner to launch the manual evaluation. */
  launchWindowMs: number;
  /** `PROCTOR_REVIEW_REMINDER_HOURS` (default 48): how long a review may wait before reviewers are reminded, and again after each reminder. */
  reminderAfterMs: number;
}

export function loadReviewSettings(env: NodeJS.ProcessEnv = process.env): ReviewSettings {
  return {
    launchWindowMs: positiveSpan(env, 'PROCTOR_MANUAL_EVALUATION_WINDOW_DAYS', 14, 'days', 86_400_000, 3650),
    reminderAfterMs: positiveSpan(env, 'PROCTOR_REVIEW_REMINDER_HOURS', 48, 'hours', 3_600_000, 24 * 3650),
  };
}

/** A span given as a (fractional) number of units, returned in milliseconds; at least one second. */
function positiveSpan(
  env: NodeJS.ProcessEnv,
  name: string,
  fallback: number,
  unit: string,
  unitMs: number,
  max: number,
): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback * unitMs;
  const value = Number(raw);
  const min = 1000 / unitMs;
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new ConfigError(
      `${name} must be a number of ${unit} from ${min.toPrecision(2)} (one second) to ${max}, got ${JSON.stringify(env[name])}`,
    );
  }
  return Math.round(value * unitMs);
}

/** The mail section alone, for code that needs only it (it is also part of loadEnv). */
export function loadMailSettings(env: NodeJS.ProcessEnv = process.env): MailSettings {
  const smtpUrl = env.PROCTOR_SMTP_URL?.trim() || null;
  if (smtpUrl !== null && !/^smtps?:\/\/[^/\s]+/i.test(smtpUrl)) {
    throw new ConfigError(
      'PROCTOR_SMTP_URL must be smtp://[user:pass@]host[:port] or smtps://… (the value given is not shown: it may hold a password)',
    );
  }
  const from = env.PROCTOR_MAIL_FROM?.trim() || `Proctor <proctor@${os.hostname()}>`;
  if (!/^[^@\s<>]+@[^@\s<>]+$|<[^@\s<>]+@[^@\s<>]+>$/.test(from)) {
    throw new ConfigError(
      `PROCTOR_MAIL_FROM must be an address (proctor@example.org) or a name and address (Proctor <proctor@example.org>), got ${JSON.stringify(from)}`,
    );
  }
  return {
    smtpUrl,
    from,
    notifyVerifications: flag(env, 'PROCTOR_NOTIFY_VERIFICATIONS', false),
    maxAttempts: int(env, 'PROCTOR_MAIL_MAX_ATTEMPTS', 30, 1, 1_000),
  };
}

function flag(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got ${JSON.stringify(env[name])}`);
}

function containerNetwork(raw: string | undefined): 'host' | 'bridge' {
  if (raw === undefined || raw === '' || raw === 'host') return 'host';
  if (raw === 'bridge') return 'bridge';
  throw new ConfigError(`PROCTOR_CONTAINER_NETWORK must be host or bridge, got ${JSON.stringify(raw)}`);
}

/** `host:port` (IPv4, a name, or [IPv6]) for the metrics exporter; empty: none. */
function metricsAddress(raw: string | undefined): string | null {
  if (raw === undefined || raw.trim() === '') return null;
  const value = raw.trim();
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
  if (!match || Number(match[2]) < 1 || Number(match[2]) > 65535)
    throw new ConfigError(
      `PROCTOR_WORKER_METRICS_ADDRESS must be host:port (e.g. 0.0.0.0:9464), got ${JSON.stringify(raw)}`,
    );
  return value;
}
