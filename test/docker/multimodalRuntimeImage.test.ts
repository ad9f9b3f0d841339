/**
 * The multimodal runtime image on the test run's real Docker engine, built from this machine's
 * Python with no registry: a run.sh's usual first lines (bash, cd to its own directory with
 * dirname) and a stdlib Python work in it as the unprivileged user with no network, the reference
 * upload (test/fixtures/multimodal-upload) runs in it against a data server on the host, and a
 * second ensure builds nothing.
 */
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type Dockerode from 'dockerode';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseLogFrames } from '../../docker/containerLogs';
import { connectDocker } from '../../docker/engine';
import {
  ensureMultimodalRuntimeImage,
  MULTIMODAL_RUNTIME_COMMANDS,
  MULTIMODAL_RUNTIME_IMAGE_INPUTS_LABEL,
  MULTIMODAL_RUNTIME_IMAGE_REF,
} from '../../docker/multimodalRuntimeImage';
import type { HostPythonImageBuild } from '../../docker/hostPythonImage';
import { requireEnv } from '../support/env';
import type { DatasetItem } from '../../contracts/dataset';
import { startDataServer } from '../../activities/multimodal/dataServer';

const UPLOAD = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/multimodal-upload');

let docker: Dockerode;

beforeAll(async () => {
  docker = connectDocker(requireEnv('DOCKER_HOST'));
});

/** Runs a command in the image as its own user, with no network (unless told) and a read-only root, as a job would. */
async function runInImage(cmd: string[], host: Dockerode.HostConfig = {}): Promise<{ status: number; output: string }> {
  const container = await docker.createContainer({
    Image: MULTIMODAL_RUNTIME_IMAGE_REF,
    Cmd: cmd,
    HostConfig: {
      NetworkMode: 'none',
      ReadonlyRootfs: true,
      Tmpfs: { '/tmp': 'rw,size=16m' },
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      ...host,
    },
  });
  try {
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    const raw = (await container.logs({ stdout: true, stderr: true })) as unknown as Buffer;
    const output = parseLogFrames(raw)
      .map((l) => l.line)
      .join('\n');
    return { status: StatusCode, output };
  } finally {
    await container.remove({ force: true });
  }
}

describe('the multimodal runtime image', () => {
  it('is built from the current inputs, as the unprivileged user, with no entrypoint', async () => {
    await docker
      .getImage(MULTIMODAL_RUNTIME_IMAGE_REF)
      .remove({ force: true })
      .catch((error: { statusCode?: number }) => {
        if (error.statusCode !== 404) throw error;
      });
    const builds: HostPythonImageBuild[] = [];
    expect(await ensureMultimodalRuntimeImage(docker, { onBuilt: (b) => builds.push(b) })).toBe(
      'proctor/multimodal-runtime:1',
    );
    expect(builds).toHaveLength(1);
    const info = await docker.getImage(MULTIMODAL_RUNTIME_IMAGE_REF).inspect();
    expect(info.Id).toBe(builds[0]!.imageId);
    expect(info.Config.Entrypoint ?? null).toBeNull();
    expect(info.Config.Cmd).toEqual(['/bin/bash']);
    expect(info.Config.User).toBe('65534');
    expect(info.Config.Labels?.[MULTIMODAL_RUNTIME_IMAGE_INPUTS_LABEL]).toBe(builds[0]!.inputsHash);
  });

  it("runs a run.sh's first lines: bash, cd to a script's directory with dirname, a stdlib Python", async () => {
    const { status, output } = await runInImage([
      'bash',
      '-c',
      'cd "$(dirname /tmp/x)" && python3 -c "import zlib,json,urllib.request" && echo "ok $PWD"',
    ]);
    expect({ status, output }).toEqual({ status: 0, output: 'ok /tmp' });
  });

  it('has each of its commands on PATH and in /usr/bin, and /bin/sh', async () => {
    const script = [
      'set -e',
      `for c in ${MULTIMODAL_RUNTIME_COMMANDS.join(' ')}; do command -v "$c" >/dev/null; test -x "/usr/bin/$c"; done`,
      '/bin/sh -c "echo sh"',
      'mkdir -p /tmp/a/b && echo hi > /tmp/a/b/f && cat /tmp/a/b/f && ls /tmp/a/b && basename /tmp/a/b/f',
      '/usr/bin/env python3 -c "import os; print(os.getuid())"',
    ].join('\n');
    expect(await runInImage(['/bin/bash', '-c', script])).toEqual({ status: 0, output: 'sh\nhi\nf\nf\n65534' });
  });

  it('runs the reference upload as a job would: bash run.sh t2i IP PORT against a data server on the host', async () => {
    const outputDir = await mkdtemp(path.join(os.tmpdir(), 'mm-runtime-out-'));
    // The job runs as nobody: its output directory must be writable by it.
    await chmod(outputDir, 0o777);
    const items: DatasetItem[] = [
      {
        id: 'p0',
        prompt: 'Draw one green cross on a white background.',
        ground_truth: '{}',
        metadata: { task: 't2i' },
      },
    ];
    const server = await startDataServer({
      dataset: { name: 'mm-t2i-runtime', task: 't2i', items, imageDirInContainer: '/data' },
      io: { checkpointPath: '/model/checkpoint.pth', outputDir: '/output' },
    });
    try {
      const { status, output } = await runInImage(['bash', '/model/run.sh', 't2i', '127.0.0.1', String(server.port)], {
        NetworkMode: 'host',
        Binds: [`${UPLOAD}:/model:ro`, `${outputDir}:/output`],
      });
      expect({ status, output }).toEqual({
        status: 0,
        output: expect.stringMatching(/^t2i mm-t2i-runtime: 1 pictures in /),
      });
      expect(JSON.parse(await readFile(path.join(outputDir, 'output_info.json'), 'utf8'))).toEqual([
        { id: '0', image: '0.png' },
      ]);
      expect((await readFile(path.join(outputDir, '0.png'))).subarray(1, 4).toString()).toBe('PNG');
    } finally {
      await server.close();
      await rm(outputDir, { recursive: true, force: true });
    }
  });

  it('is not rebuilt while its inputs are the same', async () => {
    const before = await docker.getImage(MULTIMODAL_RUNTIME_IMAGE_REF).inspect();
    const builds: HostPythonImageBuild[] = [];
    await ensureMultimodalRuntimeImage(docker, { onBuilt: (b) => builds.push(b) });
    expect(builds).toEqual([]);
    expect((await docker.getImage(MULTIMODAL_RUNTIME_IMAGE_REF).inspect()).Id).toBe(before.Id);
  });
});
