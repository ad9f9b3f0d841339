/**
 * The container-job activity on a mocked activity context, with the test run's Docker engine and
 * database: the job's output lands in the run's logs once each, even when a retried attempt adopts
 * a job its lost worker had started copying; the result is small; heartbeats name the job while it
 * runs, and a stop ends the activity cancelled with the container gone within a couple of seconds.
 */
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { asc, eq } from 'drizzle-orm';
import type Dockerode from 'dockerode';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServingDeps } from '../../activities/activityDeps';
import {
  createContainerJobActivities,
  type ContainerJobInput,
  type ContainerJobSummary,
} from '../../activities/containerJobs/runContainerJob';
import { collectContainerLogs } from '../../activities/serving/containerLogs';
import { connectDb, type DbHandle } from '../../db/client';
import { runLogs } from '../../db/schema';
import { CODE_SANDBOX_IMAGE_REF, ensureCodeSandboxImage } from '../../docker/codeSandboxImage';
import { containerJobName, containerJobSpec, JOB_ROLE } from '../../docker/containerJobSpec';
import { LABEL_ROLE } from '../../docker/containerSpec';
import { connectDocker } from '../../docker/engine';
import { readJobOutputJson } from '../../storage/jobOutputs';
import { requireEnv } from '../support/env';
import { insertArithmeticDataset, insertRun, insertUser } from '../support/runFixtures';

const HOST_ID = 'job-activity-host';
let handle: DbHandle;
let docker: Dockerode;
let scratch: string;
let runId: string;
let activities: ReturnType<typeof createContainerJobActivities>;

beforeAll(async () => {
  handle = connectDb(requireEnv('DATABASE_URL'), { max: 2 });
  docker = connectDocker(requireEnv('DOCKER_HOST'));
  await ensureCodeSandboxImage(docker);
  scratch = await mkdtemp(path.join(os.tmpdir(), 'proctor-job-activity-'));
  await chmod(scratch, 0o755);
  const ownerId = await insertUser(handle.db);
  const dataset = await insertArithmeticDataset(handle.db, 1);
  runId = await insertRun(handle.db, { ownerId, endpoint: 'http://127.0.0.1:9/v1', datasets: [dataset] });
  // Only what the activity reads: this host's name and its engine.
  const serving = { containers: { hostId: HOST_ID }, docker, temporal: null } as unknown as ServingDeps;
  activities = createContainerJobActivities({
    db: handle.db,
    logger: pino({ level: 'silent' }),
    secretKey: Buffer.alloc(32),
    serving,
  });
});

afterAll(async () => {
  await handle?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

function job(jobKey: string, program: string): ContainerJobInput {
  return {
    runId,
    jobKey,
    imageRef: CODE_SANDBOX_IMAGE_REF,
    entrypoint: ['/usr/local/bin/python3', '-u', '-c', program],
    outputDirOnHost: path.join(scratch, jobKey),
    limits: { timeoutMs: 30_000, memoryMb: 128, tmpMb: 8 },
  };
}

function runIn(env: MockActivityEnvironment, input: ContainerJobInput): Promise<ContainerJobSummary> {
  return env.run(activities.runContainerJob, input) as Promise<ContainerJobSummary>;
}

async function jobLines(jobKey: string): Promise<string[]> {
  const rows = await handle.db
    .select({ message: runLogs.message })
    .from(runLogs)
    .where(eq(runLogs.runId, runId))
    .orderBy(asc(runLogs.id));
  return rows.map((r) => r.message).filter((m) => m.startsWith(`[job ${jobKey} `));
}

async function jobContainers(): Promise<string[]> {
  const found = await docker.listContainers({ all: true, filters: { label: [`${LABEL_ROLE}=${JOB_ROLE}`] } });
  return found.map((c) => c.Names[0] ?? c.Id);
}

describe('runContainerJob', () => {
  it("copies the job's output into the run's logs and returns a small result", async () => {
    const input = job(
      'metrics',
      'import json, sys\nprint("evaluating")\nprint("a warning", file=sys.stderr)\njson.dump({"accuracy": 1}, open("/output/metrics.json", "w"))',
    );
    const summary = await runIn(new MockActivityEnvironment(), input);
    expect(summary).toEqual({
      outcome: 'succeeded',
      exitCode: 0,
      reason: 'the job exited with code 0',
      outputDir: input.outputDirOnHost,
      hostId: HOST_ID,
      durationMs: expect.any(Number),
      adopted: false,
    });
    expect(await readJobOutputJson(summary.outputDir, 'metrics.json')).toEqual({ accuracy: 1 });
    expect((await jobLines('metrics')).sort()).toEqual([
      '[job metrics stderr] a warning',
      '[job metrics stdout] evaluating',
    ]);
    expect(await jobContainers()).toEqual([]);
  });

  it('adopts the job a lost worker started, recording each line once', async () => {
    const input = job(
      'adopted',
      'import time\nprint("one", flush=True)\nprint("two", flush=True)\ntime.sleep(1.5)\nprint("three", flush=True)',
    );
    // The lost worker: it started the job and copied its first lines, then died.
    await mkdir(input.outputDirOnHost, { mode: 0o777 });
    const orphan = await docker.createContainer(containerJobSpec({ ...input, hostId: HOST_ID }));
    await orphan.start();
    await new Promise((r) => setTimeout(r, 700));
    await collectContainerLogs(handle.db, docker, runId, orphan.id, 'job adopted');
    expect(await jobLines('adopted')).toEqual(['[job adopted stdout] one', '[job adopted stdout] two']);

    const summary = await runIn(new MockActivityEnvironment(), input);
    expect(summary).toMatchObject({ outcome: 'succeeded', adopted: true });
    expect(await jobLines('adopted')).toEqual([
      '[job adopted stdout] one',
      '[job adopted stdout] two',
      '[job adopted stdout] three',
    ]);
    expect(await jobContainers()).toEqual([]);
  });

  it('heartbeats while the job runs, and a stop ends it cancelled with the container gone', async () => {
    const input = job('stopped', 'import time\nprint("started", flush=True)\ntime.sleep(120)');
    const env = new MockActivityEnvironment();
    const beats: unknown[] = [];
    let stoppedAt = 0;
    env.on('heartbeat', (details: unknown) => {
      beats.push(details);
      if (stoppedAt === 0) {
        stoppedAt = Date.now();
        env.cancel();
      }
    });
    const error = await runIn(env, input).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CancelledFailure);
    expect(Date.now() - stoppedAt).toBeLessThan(2_500);
    expect(beats[0]).toEqual({ jobKey: 'stopped', containerId: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(await jobContainers()).not.toContain(`/${containerJobName(runId, 'stopped')}`);
    expect(await jobLines('stopped')).toEqual(['[job stopped stdout] started']);
  });
});
