/**
 * Reaching an engine, and the engine the test set-up and the one-machine stack start when none
 * answers: a dockerd of our own under a directory, stopped by its PID file, even by a process that
 * did not start it and even after it was killed, leaving no process and no mount behind.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startServingContainer } from '../../docker/containerRunner';
import { servingContainerSpec } from '../../docker/containerSpec';
import { connectDocker, DockerUnavailableError, pingDocker } from '../../docker/engine';
import { ensureNlpServingImage } from '../../docker/servingImage';
import { ensureDockerEngine, stopDockerEngine } from '../../stack/dockerEngine';
import { isProcessAlive, waitForExit } from '../../stack/stopProcess';
import { requireEnv } from '../support/env';
import { writeDemoUpload } from './demoUpload';

describe('connectDocker', () => {
  it('reads unix sockets, tcp and https addresses', () => {
    expect(connectDocker('unix:///run/x/docker.sock').modem).toMatchObject({ socketPath: '/run/x/docker.sock' });
    expect(connectDocker('tcp://10.1.2.3:2375').modem).toMatchObject({
      host: '10.1.2.3',
      port: 2375,
      protocol: 'http',
    });
    expect(connectDocker('tcp://docker-host:2376').modem).toMatchObject({
      host: 'docker-host',
      port: 2376,
      protocol: 'https',
    });
    expect(() => connectDocker('ssh://user@host')).toThrow(DockerUnavailableError);
  });

  it('says which engine does not answer and why', async () => {
    const error = await pingDocker(connectDocker('unix:///nonexistent/proctor/docker.sock'), 2_000).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DockerUnavailableError);
    expect((error as Error).message).toBe(
      'the Docker engine at unix:///nonexistent/proctor/docker.sock does not answer: connect ENOENT /nonexistent/proctor/docker.sock',
    );
  });
});

describe('ensureDockerEngine', () => {
  const saved = process.env.DOCKER_HOST;
  const dirs: string[] = [];
  afterEach(async () => {
    process.env.DOCKER_HOST = saved;
    for (const dir of dirs.splice(0)) {
      await stopDockerEngine(dir);
      await rm(dir, { recursive: true, force: true });
    }
  });
  const freshDir = async () => {
    const dir = await mkdtemp(path.join(requireEnv('PROCTOR_TEST_DATA_DIR'), 'engine-'));
    dirs.push(dir);
    return dir;
  };
  const mountsUnder = async (dir: string) =>
    (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').filter((line) => line.split(' ')[4]?.startsWith(dir));
  const pidOf = (file: string) => Number(readFileSync(file, 'utf8').trim());

  it('uses the engine DOCKER_HOST names when it answers, and does not stop it', async () => {
    const engine = await ensureDockerEngine({ dir: await freshDir() });
    expect(engine).toMatchObject({ dockerHost: requireEnv('DOCKER_HOST'), started: false });
    await engine.stop();
    await pingDocker(connectDocker(engine.dockerHost));
  });

  it('starts a dockerd of its own when none answers, and stops it leaving nothing running or mounted', async () => {
    process.env.DOCKER_HOST = 'unix:///nonexistent/proctor/docker.sock';
    const dir = await freshDir();
    const engine = await ensureDockerEngine({ dir });
    expect(engine).toMatchObject({ dockerHost: `unix://${dir}/docker.sock`, started: true });
    await pingDocker(connectDocker(engine.dockerHost));
    const record = JSON.parse(await readFile(path.join(dir, 'engine.json'), 'utf8')) as { execRoot: string };
    const dockerd = pidOf(path.join(dir, 'docker.pid'));
    const containerd = pidOf(path.join(record.execRoot, 'containerd', 'containerd.pid'));
    expect([isProcessAlive(dockerd), isProcessAlive(containerd)]).toEqual([true, true]);

    await engine.stop();
    expect([isProcessAlive(dockerd), isProcessAlive(containerd)]).toEqual([false, false]);
    expect(await mountsUnder(dir)).toEqual([]);
    await expect(pingDocker(connectDocker(engine.dockerHost), 1_000)).rejects.toThrow(DockerUnavailableError);
    await engine.stop();
  });

  it('cleans up after a dockerd that was killed outright: the containers it left running and its mounts', async () => {
    process.env.DOCKER_HOST = 'unix:///nonexistent/proctor/docker.sock';
    const dir = await freshDir();
    const engine = await ensureDockerEngine({ dir });
    const docker = connectDocker(engine.dockerHost);
    const upload = await writeDemoUpload({ init: 'hang' });
    try {
      const imageRef = await ensureNlpServingImage(docker);
      const started = await startServingContainer(docker, (port) =>
        servingContainerSpec({
          runId: 'orphan',
          hostId: 'engine-test',
          imageRef,
          uploadDirOnHost: upload.dir,
          network: 'host',
          port,
          cpus: 1,
          memoryMb: 128,
          gpu: null,
        }),
      );
      const modelPid = (await docker.getContainer(started.containerId).inspect()).State.Pid;
      process.kill(pidOf(path.join(dir, 'docker.pid')), 'SIGKILL');
      await waitForExit(pidOf(path.join(dir, 'docker.pid')), 5_000);
      // The engine is gone; the model it started is not.
      expect(isProcessAlive(modelPid)).toBe(true);

      // As a later test run's set-up does for a run that died: from the directory alone.
      await stopDockerEngine(dir);
      expect(isProcessAlive(modelPid)).toBe(false);
      expect(await mountsUnder(dir)).toEqual([]);
    } finally {
      await upload.remove();
    }
  });
});
