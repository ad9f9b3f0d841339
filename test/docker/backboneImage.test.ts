/**
 * The backbone image on the test run's real Docker engine: made by debootstrap from the Debian
 * mirror (or imported from the root file system cached by an earlier run), it runs PyTorch (a
 * matrix product and a convolution's backward pass with known gradients), NumPy and espeak-ng as
 * uid 65534 with no network and a read-only root, as a fine-tuning job does; a second ensure
 * builds nothing, and an engine without the image imports the cached root file system without
 * running debootstrap again.
 */
import { existsSync } from 'node:fs';
import type Dockerode from 'dockerode';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  BACKBONE_IMAGE_INPUTS_LABEL,
  BACKBONE_IMAGE_PACKAGES_LABEL,
  BACKBONE_IMAGE_RECIPE_LABEL,
  BACKBONE_TORCH_IMAGE_REF,
  backboneRecipeKey,
  ensureBackboneImage,
  type BackboneImageBuild,
} from '../../docker/backboneImage';
import { parseLogFrames } from '../../docker/containerLogs';
import { connectDocker } from '../../docker/engine';
import { PLATFORM_IMAGES } from '../../contracts/platformImages';
import { BACKBONE_IMAGE_SETUP_MS, backboneImageForTests } from '../support/backboneImage';
import { requireEnv } from '../support/env';

let docker: Dockerode;
const builds: BackboneImageBuild[] = [];

beforeAll(async () => {
  docker = connectDocker(requireEnv('DOCKER_HOST'));
  await backboneImageForTests((b) => builds.push(b));
}, BACKBONE_IMAGE_SETUP_MS);

/** Runs a command in the image as a job would: its own user, no network, read-only root, a small /tmp. */
async function runInImage(cmd: string[]): Promise<{ status: number; output: string }> {
  const container = await docker.createContainer({
    Image: BACKBONE_TORCH_IMAGE_REF,
    Cmd: cmd,
    NetworkDisabled: true,
    HostConfig: {
      NetworkMode: 'none',
      ReadonlyRootfs: true,
      Tmpfs: { '/tmp': 'rw,nosuid,nodev,size=16m' },
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      Memory: 2 * 2 ** 30,
      NanoCpus: 2e9,
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

const TORCH_CHECK = `
import json, os, socket
import numpy, torch
a = torch.tensor([[1., 2.], [3., 4.]])
b = torch.tensor([[5., 6.], [7., 8.]])
# A 3x3 convolution of ones over a 4x4 input of ones: the sum of its 2x2 output has gradient 1 at
# the input's corners, 4 in its centre, and 4 for every weight (each sees four windows of ones).
x = torch.ones(1, 1, 4, 4, requires_grad=True)
conv = torch.nn.Conv2d(1, 1, 3, bias=False)
torch.nn.init.ones_(conv.weight)
conv(x).sum().backward()
try:
    open('/usr/written', 'w')
    root = 'writable'
except OSError as e:
    root = e.strerror
interfaces = sorted(line.split(':')[0].strip() for line in open('/proc/net/dev').readlines()[2:])
print(json.dumps({
    'torch': torch.__version__, 'numpy': numpy.__version__, 'uid': os.getuid(), 'cwd': os.getcwd(),
    'matmul': (a @ b).tolist(), 'npdot': numpy.dot(a.numpy(), b.numpy()).tolist(),
    'inputGrad': x.grad[0, 0].tolist(), 'weightGrad': conv.weight.grad.flatten().tolist(),
    'root': root, 'interfaces': interfaces,
    'blas': os.path.realpath('/usr/lib/x86_64-linux-gnu/libblas.so.3'),
}))
`;

describe('the backbone image', () => {
  it('is labelled with its recipe and installed versions, runs as 65534 in /output with no entrypoint', async () => {
    const info = await docker.getImage(BACKBONE_TORCH_IMAGE_REF).inspect();
    const labels = info.Config.Labels ?? {};
    expect(labels[BACKBONE_IMAGE_RECIPE_LABEL]).toBe(backboneRecipeKey());
    expect(labels[BACKBONE_IMAGE_INPUTS_LABEL]).toMatch(/^[0-9a-f]{64}$/);
    expect(labels[BACKBONE_IMAGE_PACKAGES_LABEL]).toMatch(/^python3=3\.11\.[^,]+,python3-torch=1\.13\.1\+[^,]+,/);
    expect(info.Config.User).toBe('65534');
    expect(info.Config.WorkingDir).toBe('/output');
    expect(info.Config.Entrypoint ?? null).toBeNull();
    expect(info.Config.Env).toEqual(expect.arrayContaining(['PYTHONDONTWRITEBYTECODE=1', 'PYTHONUNBUFFERED=1']));
    // Debian's CPU-only PyTorch with its dependencies, trimmed: far from a CUDA wheel's gigabytes.
    expect(info.Size).toBeLessThan(1.2 * 2 ** 30);
    for (const b of builds) expect(b.imageId).toBe(info.Id);
    expect(PLATFORM_IMAGES.find((i) => i.runRef === BACKBONE_TORCH_IMAGE_REF)?.domains).toEqual(['cv', 'audio']);
  });

  it('runs PyTorch and NumPy as uid 65534 with no network and a read-only root', async () => {
    const { status, output } = await runInImage(['python3', '-c', TORCH_CHECK]);
    expect(status, output).toBe(0);
    const result = JSON.parse(output.trim().split('\n').at(-1)!) as Record<string, unknown>;
    expect(result).toMatchObject({
      uid: 65534,
      cwd: '/output',
      matmul: [
        [19, 22],
        [43, 50],
      ],
      npdot: [
        [19, 22],
        [43, 50],
      ],
      inputGrad: [
        [1, 2, 2, 1],
        [2, 4, 4, 2],
        [2, 4, 4, 2],
        [1, 2, 2, 1],
      ],
      weightGrad: Array(9).fill(4),
      root: 'Read-only file system',
      interfaces: ['lo'],
    });
    expect(result.torch).toMatch(/^1\.13\./);
    // OpenBLAS, not the reference BLAS Debian falls back to: about six times faster matrix products.
    expect(result.blas).toMatch(/openblas/);
  });

  it('runs espeak-ng, which writes a spoken word as a WAV file', async () => {
    const { status, output } = await runInImage([
      'sh',
      '-c',
      'espeak-ng --version && espeak-ng -w /tmp/yes.wav yes 2>/dev/null && python3 -c "' +
        "import wave; w = wave.open('/tmp/yes.wav'); print('wav', w.getframerate(), w.getnframes())" +
        '"',
    ]);
    expect(status, output).toBe(0);
    expect(output).toMatch(/eSpeak NG text-to-speech: 1\.51/);
    const [, rate, frames] = /^wav (\d+) (\d+)$/m.exec(output) ?? [];
    expect(Number(rate)).toBe(22050);
    expect(Number(frames)).toBeGreaterThan(22050 / 10);
  });

  it('is not made again when the engine has it', async () => {
    const before = await docker.getImage(BACKBONE_TORCH_IMAGE_REF).inspect();
    const again: BackboneImageBuild[] = [];
    expect(await ensureBackboneImage(docker, { onBuilt: (b) => again.push(b) })).toBe(BACKBONE_TORCH_IMAGE_REF);
    expect(again).toEqual([]);
    expect((await docker.getImage(BACKBONE_TORCH_IMAGE_REF).inspect()).Id).toBe(before.Id);
  });

  it('is imported from the cached root file system, without debootstrap, by an engine that lacks it', async () => {
    const before = await docker.getImage(BACKBONE_TORCH_IMAGE_REF).inspect();
    // A tag of its own: other test files run jobs in the image meanwhile, so it cannot be removed.
    const ref = `proctor/backbone-torch:cache-check-${process.pid}`;
    const again: BackboneImageBuild[] = [];
    try {
      expect(await ensureBackboneImage(docker, { ref, onBuilt: (b) => again.push(b) })).toBe(ref);
      expect(again).toHaveLength(1);
      expect(again[0]!.debootstrapMs).toBeNull();
      expect(existsSync(again[0]!.tarPath)).toBe(true);
      const after = await docker.getImage(ref).inspect();
      expect(after.Config.Labels?.[BACKBONE_IMAGE_INPUTS_LABEL]).toBe(
        before.Config.Labels?.[BACKBONE_IMAGE_INPUTS_LABEL],
      );
      process.stderr.write(
        `[backbone image] cached import ${(again[0]!.importMs / 1000).toFixed(1)} s, image ${(after.Size / 2 ** 20).toFixed(0)} MiB, tar ${(again[0]!.tarBytes / 2 ** 20).toFixed(0)} MiB\n`,
      );
    } finally {
      await docker
        .getImage(ref)
        .remove()
        .catch(() => undefined);
    }
  }, 300_000);
});
