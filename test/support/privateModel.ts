/**
 * A private deployment as its owner makes one: an evaluation deployed on the preloaded serving
 * image, an upload token, and the model tree (test/fixtures/nlp-upload, with knobs) uploaded with
 * the real `proctor` CLI. The knobs make the model slow, crash, or never become healthy.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ARITH_BASIC_ID } from '../../datasets/builtin/arithBasic';
import type { TestApi } from './apiServer';
import { nlpEvaluationBody, platformImageId } from './evaluationBodies';
import { requireEnv } from './env';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const FIXTURE = path.join(ROOT, 'test/fixtures/nlp-upload');

export interface ModelKnobs {
  init?: 'raise' | 'hang';
  init_seconds?: number;
  crash_after?: number;
  latency_ms?: number;
}

export interface PrivateEvaluationOptions {
  knobs?: ModelKnobs;
  datasets?: string[];
  priority?: 'high' | 'medium' | 'low';
  limits?: Record<string, number>;
  /** An approved image; the preloaded NLP serving image by default. */
  imageId?: string;
}

export async function createPrivateModel(
  api: TestApi,
  key: string,
  o: PrivateEvaluationOptions = {},
): Promise<{ evaluationId: string; version: number }> {
  const imageId = o.imageId ?? (await platformImageId(api, key));
  const created = await api.request('POST', '/v1/evaluations', {
    key,
    body: nlpEvaluationBody({
      datasets: o.datasets ?? [ARITH_BASIC_ID],
      deployment: { method: 'private', imageId, priority: o.priority ?? 'medium', gpuType: 'cpu', gpuCount: 1 },
      limits: { maxConcurrency: 4, maxRetryPerQuery: 1, requestTimeoutMs: 10_000, ...o.limits },
    }),
  });
  if (created.status !== 201) throw new Error(`could not create the evaluation: ${created.status} ${created.text}`);
  const evaluationId = created.body.id as string;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'proctor-model-'));
  await cp(FIXTURE, dir, { recursive: true });
  await writeFile(path.join(dir, 'model/knobs.json'), JSON.stringify(o.knobs ?? {}));
  return { evaluationId, version: await uploadWithCli(api, key, evaluationId, dir) };
}

/** Uploads a tree with the real `proctor` CLI on a fresh upload token; the version, once it passed its check. */
export async function uploadWithCli(api: TestApi, key: string, evaluationId: string, dir: string): Promise<number> {
  const token = await api.request('POST', `/v1/evaluations/${evaluationId}/upload-token`, { key });
  if (token.status !== 201) throw new Error(`could not get an upload token: ${token.status} ${token.text}`);
  const { stdout } = await run(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(ROOT, 'cli/proctor.ts'),
      'upload',
      `--token=${token.body.token}`,
      `--server=${api.url}`,
      dir,
    ],
    { cwd: ROOT },
  );
  const versions = await api.request('GET', `/v1/evaluations/${evaluationId}/uploads`, { key });
  const latest = (Array.isArray(versions.body) ? versions.body : versions.body.items)[0];
  if (!latest?.check?.ok) throw new Error(`the upload did not pass its check: ${stdout} ${versions.text}`);
  return latest.version as number;
}

export { waitForRunEnd } from './runThroughApi';

/**
 * The settings a private-deployment test runs with, put into this test process's environment (the
 * API and in-process workers read it) and returned for worker processes: its own upload directory
 * and container host, CPU-only units, and small containers that must be healthy within 20 s.
 */
export function useServingSettings(o: {
  hostId: string;
  gpuTypes?: string;
  healthTimeoutMs?: number;
}): Record<string, string> {
  const settings = {
    PROCTOR_UPLOAD_DIR: path.join(requireEnv('PROCTOR_TEST_DATA_DIR'), `uploads-${process.pid}`),
    PROCTOR_GPU_TYPES: o.gpuTypes ?? 'cpu:2::CPU only',
    PROCTOR_CONTAINER_HOST_ID: o.hostId,
    PROCTOR_CONTAINER_HEALTH_TIMEOUT_MS: String(o.healthTimeoutMs ?? 20_000),
    PROCTOR_CONTAINER_CPUS: '1',
    PROCTOR_CONTAINER_MEMORY_MB: '256',
  };
  Object.assign(process.env, settings);
  return settings;
}
