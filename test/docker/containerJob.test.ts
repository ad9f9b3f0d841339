/**
 * Container jobs on the test run's real Docker engine, run in the code sandbox's image (this
 * machine's Python) with a program of the test's own as entrypoint: outputs written and read back,
 * each way a job ends (exit 0, exit N, wall clock, OOM, stop), adoption of a job a lost worker
 * left, and the host reaper removing a job whose run has ended. After every test no job container
 * is left on the engine.
 */
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type Dockerode from 'dockerode';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CODE_SANDBOX_IMAGE_REF, ensureCodeSandboxImage } from '../../docker/codeSandboxImage';
import { runContainerJob } from '../../docker/containerJob';
import { containerJobName, containerJobSpec, JOB_ROLE, type ContainerJobSpec } from '../../docker/containerJobSpec';
import { LABEL_ROLE } from '../../docker/containerSpec';
import { connectDocker } from '../../docker/engine';
import { reapServingContainers } from '../../docker/servingContainers';
import { JobOutputError, readJobOutputJson } from '../../storage/jobOutputs';
import { requireEnv } from '../support/env';

let docker: Dockerode;
let scratch: string;
let counter = 0;

beforeAll(async () => {
  docker = connectDocker(requireEnv('DOCKER_HOST'));
  await ensureCodeSandboxImage(docker);
  scratch = await mkdtemp(path.join(os.tmpdir(), 'proctor-jobs-'));
  // The job runs as nobody: it must reach its directories under this one.
  await chmod(scratch, 0o755);
  await mkdir(path.join(scratch, 'input'));
  await writeFile(path.join(scratch, 'input', 'dataset.jsonl'), '{}\n');
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function jobContainers(): Promise<string[]> {
  const found = await docker.listContainers({ all: true, filters: { label: [`${LABEL_ROLE}=${JOB_ROLE}`] } });
  return found.map((c) => c.Names[0] ?? c.Id);
}

afterEach(async () => {
  expect(await jobContainers(), 'job containers left on the engine').toEqual([]);
});

/** A job running `program` (Python) with an output directory of its own. */
async function pythonJob(program: string, o: Partial<ContainerJobSpec> = {}): Promise<ContainerJobSpec> {
  const outputDirOnHost = path.join(scratch, `out-${++counter}`);
  await mkdir(outputDirOnHost);
  await chmod(outputDirOnHost, 0o777);
  return {
    runId: 'run-jobs-test',
    jobKey: `job-${counter}-${process.pid}`,
    hostId: 'test-host',
    imageRef: CODE_SANDBOX_IMAGE_REF,
    entrypoint: ['/usr/local/bin/python3', '-u', '-c', program],
    outputDirOnHost,
    limits: { timeoutMs: 30_000, memoryMb: 128, tmpMb: 8 },
    ...o,
  };
}

async function waitRunning(name: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const info = await docker
      .getContainer(name)
      .inspect()
      .catch(() => null);
    if (info?.State.Running) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${name} never ran`);
}

describe('a container job', () => {
  it('runs to completion, its outputs read back through the guarded reader', async () => {
    const spec = await pythonJob(
      [
        'import json, os',
        'print("scoring", flush=True)',
        'json.dump({"score": 0.75}, open("/output/metrics.json", "w"))',
        'os.symlink("/etc/passwd", "/output/leak.json")',
        'print("inputs:", sorted(os.listdir("/input")))',
        'try:\n    open("/input/x", "w")\nexcept OSError as e:\n    print("input read-only", e.errno)',
        'try:\n    open("/etc/x", "w")\nexcept OSError as e:\n    print("root read-only", e.errno)',
        'print("uid", os.getuid())',
      ].join('\n'),
      { inputs: [{ hostPath: path.join(scratch, 'input'), containerPath: '/input' }] },
    );
    const result = await runContainerJob(docker, spec);
    expect(result, result.reason).toMatchObject({ outcome: 'succeeded', exitCode: 0, adopted: false });
    expect(result.lastLines).toContain("inputs: ['dataset.jsonl']");
    expect(result.reason).toBe('the job exited with code 0');
    expect(result.lastLines).toContain('scoring');
    expect(result.lastLines).toContain('input read-only 30');
    expect(result.lastLines).toContain('root read-only 30');
    expect(result.lastLines).toContain('uid 65534');
    expect(await readJobOutputJson(spec.outputDirOnHost, 'metrics.json')).toEqual({ score: 0.75 });
    const leak = readJobOutputJson(spec.outputDirOnHost, 'leak.json');
    await expect(leak).rejects.toBeInstanceOf(JobOutputError);
    await expect(leak).rejects.toThrow(/leads outside the job's output directory/);
  });

  it('has no network by default', async () => {
    const spec = await pythonJob(
      'import socket\ntry:\n    socket.create_connection(("1.1.1.1", 53), timeout=2)\n    print("connected")\nexcept OSError:\n    print("no network")',
    );
    const result = await runContainerJob(docker, spec);
    expect(result.lastLines).toEqual(['no network']);
  });

  it('that exits non-zero says so with its exit code and last lines', async () => {
    const spec = await pythonJob(
      'import sys\nprint("loading")\nprint("bad config: no datasets", file=sys.stderr)\nsys.exit(3)',
    );
    const result = await runContainerJob(docker, spec);
    expect(result).toMatchObject({ outcome: 'failed', exitCode: 3 });
    expect(result.reason).toMatch(/^the job exited with code 3\. Its last lines of output:\n/);
    expect(result.reason).toContain('bad config: no datasets');
  });

  it('that hangs is killed at its wall-clock limit, and the reason says so', async () => {
    const spec = await pythonJob('import time\nprint("working", flush=True)\ntime.sleep(120)', {
      limits: { timeoutMs: 1_500, memoryMb: 128, tmpMb: 8 },
    });
    const started = Date.now();
    const result = await runContainerJob(docker, spec);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(result.outcome).toBe('timed_out');
    expect(result.reason).toMatch(/did not finish within its wall-clock limit of 1500 ms/);
    expect(result.reason).toContain('working');
  });

  it('that allocates past its memory limit is reported OOM-killed', async () => {
    const spec = await pythonJob('blocks = []\nwhile True:\n    blocks.append(bytearray(8 * 2**20))', {
      limits: { timeoutMs: 30_000, memoryMb: 48, tmpMb: 4 },
    });
    const result = await runContainerJob(docker, spec);
    expect(result.outcome).toBe('out_of_memory');
    expect(result.reason).toMatch(/more memory than its limit of 48 MB \(OOMKilled\)/);
  });

  it('stopped mid-job is killed and removed within a couple of seconds', async () => {
    const spec = await pythonJob('import time\ntime.sleep(120)');
    const abort = new AbortController();
    const running = runContainerJob(docker, spec, { signal: abort.signal });
    running.catch(() => {});
    await waitRunning(containerJobName(spec.runId, spec.jobKey));
    const stoppedAt = Date.now();
    abort.abort(new Error('run stopped'));
    await expect(running).rejects.toThrow('run stopped');
    expect(Date.now() - stoppedAt).toBeLessThan(2_500);
    expect(await jobContainers()).toEqual([]);
  });

  it('left running by a lost worker is adopted: one container, one result', async () => {
    const spec = await pythonJob(
      'import json, time\nprint("first attempt", flush=True)\ntime.sleep(1.5)\njson.dump({"n": 1}, open("/output/out.json", "w"))',
    );
    // What a worker killed mid-job leaves: the job's container, started and never waited for.
    const orphan = await docker.createContainer(containerJobSpec(spec));
    await orphan.start();
    const seen = new Set<string>();
    const watch = setInterval(() => void jobContainers().then((names) => names.forEach((n) => seen.add(n))), 100);
    const result = await runContainerJob(docker, spec).finally(() => clearInterval(watch));
    expect(result).toMatchObject({ outcome: 'succeeded', adopted: true, containerId: orphan.id });
    expect(result.lastLines).toEqual(['first attempt']);
    expect([...seen]).toEqual([`/${containerJobName(spec.runId, spec.jobKey)}`]);
    expect(await readJobOutputJson(spec.outputDirOnHost, 'out.json')).toEqual({ n: 1 });
  });

  it('that exited while no worker watched has its result taken, not run again', async () => {
    const spec = await pythonJob(
      'import os, sys\nopen("/output/runs", "a").write("x")\nprint("done once")\nsys.exit(4)',
    );
    const orphan = await docker.createContainer(containerJobSpec(spec));
    await orphan.start();
    await orphan.wait();
    const result = await runContainerJob(docker, spec);
    expect(result).toMatchObject({ outcome: 'failed', exitCode: 4, adopted: true });
    expect(result.reason).toContain('done once');
    expect(await readdir(spec.outputDirOnHost)).toEqual(['runs']);
    expect(await readFile(path.join(spec.outputDirOnHost, 'runs'), 'utf8')).toBe('x');
  });

  it('whose environment died with the earlier attempt is adopted only if it exited 0', async () => {
    const program =
      'import sys\nopen("/output/runs", "a").write("x")\nprint("ran", flush=True)\nsys.exit(0 if len(sys.argv) > 1 else 5)';
    // Exited non-zero: perhaps for want of what died with that attempt, so it runs again.
    const failed = await pythonJob(program);
    const orphan = await docker.createContainer(containerJobSpec(failed));
    await orphan.start();
    await orphan.wait();
    const rerun = await runContainerJob(docker, failed, { adoptOnlySucceeded: true });
    expect(rerun).toMatchObject({ outcome: 'failed', exitCode: 5, adopted: false });
    expect(rerun.containerId).not.toBe(orphan.id);
    expect(await readFile(path.join(failed.outputDirOnHost, 'runs'), 'utf8')).toBe('xx');

    // Exited 0: its outputs stand.
    const succeeded = await pythonJob(program, { command: ['ok'] });
    const done = await docker.createContainer(containerJobSpec(succeeded));
    await done.start();
    await done.wait();
    const adopted = await runContainerJob(docker, succeeded, { adoptOnlySucceeded: true });
    expect(adopted).toMatchObject({ outcome: 'succeeded', adopted: true, containerId: done.id });
    expect(await readFile(path.join(succeeded.outputDirOnHost, 'runs'), 'utf8')).toBe('x');
  });

  it('killed at its wall clock by an attempt that died before removing it is adopted as timed out', async () => {
    const spec = await pythonJob('import time\nprint("slow", flush=True)\ntime.sleep(120)', {
      limits: { timeoutMs: 500, memoryMb: 128, tmpMb: 8 },
    });
    const orphan = await docker.createContainer(containerJobSpec(spec));
    await orphan.start();
    await new Promise((r) => setTimeout(r, 800));
    await orphan.kill({ signal: 'SIGKILL' });
    await orphan.wait();
    const result = await runContainerJob(docker, spec);
    expect(result).toMatchObject({ outcome: 'timed_out', exitCode: 137, adopted: true });
    expect(result.reason).toContain('slow');
  });
});

describe("the host's reaper", () => {
  it('removes job containers of runs no longer active and keeps those of active runs', async () => {
    const ended = await pythonJob('import time\ntime.sleep(120)', { runId: 'run-ended', hostId: 'reaper-host' });
    const active = await pythonJob('import time\ntime.sleep(120)', { runId: 'run-active', hostId: 'reaper-host' });
    const endedContainer = await docker.createContainer(containerJobSpec(ended));
    await endedContainer.start();
    const activeContainer = await docker.createContainer(containerJobSpec(active));
    try {
      const removed = await reapServingContainers(docker, 'reaper-host', async (runId) => runId === 'run-active');
      expect(removed).toEqual([{ runId: 'run-ended', containerId: endedContainer.id }]);
      expect(await jobContainers()).toEqual([`/${containerJobName(active.runId, active.jobKey)}`]);
    } finally {
      await activeContainer.remove({ force: true });
    }
  });
});
