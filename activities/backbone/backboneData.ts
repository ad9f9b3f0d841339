/**
 * A backbone built-in's files on this container host (docs/backbones.md, "Data"): generated once by
 * the platform's Python in the backbone image (a container job of its own, no network), checked
 * against the registry's split sizes, hashed, and moved into `.backbone-data/<dataset>-<recipe>/`,
 * where every later run on the host finds them. Two runs generating at once each write their own
 * directory and one rename wins; the other's copy is thrown away.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ActivityDeps } from '../activityDeps';
import { runJobOnHost } from '../containerJobs/runContainerJob';
import { requireServing } from '../serving/servingFailed';
import { readJobOutputJson, JobOutputError } from '../../storage/jobOutputs';
import { touchCache } from '../../storage/jobsRetention';
import type { BackboneDatasetSpec } from '../../datasets/builtin/backbone/backboneDatasets';
import {
  BACKBONE_PACKAGE_DIR,
  BB_PLATFORM_MOUNT,
  backboneEnv,
  generatorCommand,
  generatorRecipe,
} from '../../docker/backboneJob';
import { BACKBONE_TORCH_IMAGE_REF } from '../../contracts/platformImages';
import { appendRunLogs } from '../../db/queries/runLogs';

export const BACKBONE_CACHE_DIR = '.backbone-data';
const HASH_FILE = 'files.sha256';
const GENERATOR_TIMEOUT_MS = 30 * 60_000;

export type BackboneData = { ok: true; dir: string; hash: string } | { ok: false; failure: string };

export async function ensureBackboneData(
  deps: ActivityDeps,
  jobsDir: string,
  spec: BackboneDatasetSpec,
  runId: string,
): Promise<BackboneData> {
  const dir = path.join(jobsDir, BACKBONE_CACHE_DIR, `${spec.id}-${await generatorRecipe()}`);
  const cached = await readFile(path.join(dir, HASH_FILE), 'utf8').catch(() => null);
  if (cached) {
    await touchCache(dir);
    return { ok: true, dir, hash: cached.trim() };
  }

  const settings = requireServing(deps.serving, 'container settings');
  const jobKey = `bbdata-${spec.id}`;
  const outputDir = path.join(jobsDir, runId, jobKey);
  await rm(outputDir, { recursive: true, force: true });
  const summary = await runJobOnHost(deps, {
    runId,
    jobKey,
    imageRef: BACKBONE_TORCH_IMAGE_REF,
    command: generatorCommand(spec.generator, spec.id),
    env: backboneEnv(settings.containers.cpus, '/tmp'),
    workingDir: '/output',
    inputs: [{ hostPath: BACKBONE_PACKAGE_DIR, containerPath: BB_PLATFORM_MOUNT }],
    outputDirOnHost: outputDir,
    network: 'none',
    limits: { cpus: settings.containers.cpus, memoryMb: settings.containers.memoryMb, timeoutMs: GENERATOR_TIMEOUT_MS },
  });
  if (summary.outcome !== 'succeeded')
    return { ok: false, failure: `the platform could not generate dataset ${spec.id}: ${summary.reason}` };

  let described: unknown;
  try {
    described = await readJobOutputJson(outputDir, 'dataset.json');
  } catch (error) {
    if (error instanceof JobOutputError)
      return {
        ok: false,
        failure: `the generator of dataset ${spec.id} left no usable dataset.json: ${error.message}`,
      };
    throw error;
  }
  const splits = (described as { splits?: Record<string, number> }).splits ?? {};
  for (const split of ['train', 'val', 'test'] as const)
    if (splits[split] !== spec.splits[split])
      return {
        ok: false,
        failure: `the generator of dataset ${spec.id} wrote ${splits[split] ?? 'no'} ${split} items; the registry lists ${spec.splits[split]}`,
      };

  const hash = await hashDatasetFiles(outputDir);
  await writeFile(path.join(outputDir, HASH_FILE), `${hash}\n`);
  await rm(path.join(outputDir, 'job.json'), { force: true });
  await mkdir(path.dirname(dir), { recursive: true });
  try {
    await rename(outputDir, dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
    // Another run generated it first: its copy stands (the same bytes), ours goes.
    await rm(outputDir, { recursive: true, force: true });
  }
  const stored = (await readFile(path.join(dir, HASH_FILE), 'utf8')).trim();
  await appendRunLogs(deps.db, [
    {
      runId,
      level: 'info',
      message: `generated dataset ${spec.id} on this host in ${(summary.durationMs / 1000).toFixed(1)} s: ${stored}`,
      dedupeKey: `bbdata:${spec.id}`,
    },
  ]);
  return { ok: true, dir, hash: stored };
}

/** sha256 over every regular file's name and bytes, in name order (dataset.json included). */
export async function hashDatasetFiles(dir: string): Promise<string> {
  const hash = createHash('sha256');
  const names = (await readdir(dir)).filter((n) => n !== HASH_FILE && n !== 'job.json').sort();
  for (const name of names) {
    const info = await stat(path.join(dir, name));
    if (!info.isFile()) continue;
    hash.update(`${name}\0${info.size}\0`);
    for await (const chunk of createReadStream(path.join(dir, name))) hash.update(chunk as Buffer);
  }
  return `sha256:${hash.digest('hex')}`;
}
