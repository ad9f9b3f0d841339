/**
 * The NLP serving image, built on the test run's engine from this machine's Python with no
 * registry: what it is made of and how it is configured, and that it is rebuilt only when its
 * inputs change, also when two processes ask for it at once.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type Dockerode from 'dockerode';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseLogFrames } from '../../docker/containerLogs';
import { SERVING_ROLE, LABEL_ROLE } from '../../docker/containerSpec';
import { connectDocker, readProgress } from '../../docker/engine';
import { ensureImage } from '../../docker/ensureImage';
import { ImagePullError } from '../../docker/containerErrors';
import {
  ensureNlpServingImage,
  IMAGE_INPUTS_LABEL,
  NLP_SERVING_IMAGE_REF,
  type ServingImageBuild,
} from '../../docker/servingImage';
import { tarStream } from '../../docker/tarStream';
import { requireEnv } from '../support/env';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

let docker: Dockerode;

beforeAll(async () => {
  docker = connectDocker(requireEnv('DOCKER_HOST'));
  // A container left by another file would pin an old build (and fail the pruning checks below).
  const left = await docker.listContainers({ all: true, filters: { label: [`${LABEL_ROLE}=${SERVING_ROLE}`] } });
  expect(
    left.map((c) => c.Names[0]),
    'model containers that other test files left behind',
  ).toEqual([]);
});

/** Runs the image's interpreter on a snippet, as the image's own user, and returns what it printed. */
async function pythonInImage(code: string): Promise<string> {
  const container = await docker.createContainer({
    Image: NLP_SERVING_IMAGE_REF,
    Entrypoint: ['/usr/local/bin/python3', '-c', code],
    HostConfig: { NetworkMode: 'none', ReadonlyRootfs: true },
  });
  try {
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    const raw = (await container.logs({ stdout: true, stderr: true })) as unknown as Buffer;
    const output = parseLogFrames(raw)
      .map((l) => l.line)
      .join('\n');
    expect(StatusCode, output).toBe(0);
    return output;
  } finally {
    await container.remove({ force: true });
  }
}

async function removeServingImage(): Promise<void> {
  await docker
    .getImage(NLP_SERVING_IMAGE_REF)
    .remove({ force: true })
    .catch((error: { statusCode?: number }) => {
      if (error.statusCode !== 404) throw error;
    });
}

async function labelledImages(): Promise<Dockerode.ImageInfo[]> {
  return docker.listImages({ all: true, filters: { label: [IMAGE_INPUTS_LABEL] } });
}

describe('the NLP serving image', () => {
  it('is built with its entrypoint, working directory, user and environment, labelled with its inputs', async () => {
    await removeServingImage();
    const builds: ServingImageBuild[] = [];
    expect(await ensureNlpServingImage(docker, { onBuilt: (b) => builds.push(b) })).toBe('proctor/nlp-serving:1');
    expect(builds).toHaveLength(1);
    const info = await docker.getImage(NLP_SERVING_IMAGE_REF).inspect();
    expect(info.Id).toBe(builds[0]!.imageId);
    expect(info.Config.Entrypoint).toEqual(['/usr/local/bin/python3', '-m', 'proctor_serving']);
    expect(info.Config.WorkingDir).toBe('/workspace');
    expect(info.Config.User).toBe('65534');
    expect(info.Config.Env).toEqual(expect.arrayContaining(['PYTHONDONTWRITEBYTECODE=1', 'PYTHONUNBUFFERED=1']));
    expect(info.Config.Labels?.[IMAGE_INPUTS_LABEL]).toBe(builds[0]!.inputsHash);
    expect(info.Config.Labels?.['proctor.image.python']).toMatch(/^3\.\d+\.\d+$/);
  });

  it('holds a working Python with the serving package and the modules models need, and none of the test suite', async () => {
    const printed = await pythonInImage(
      [
        'import json, os, pwd, sys, ssl, sqlite3, ctypes, hashlib, zlib, lzma, bz2, decimal, multiprocessing, http.server',
        'from flageval.serving.service import NLPModelService, NLPEvalRequest, NLPEvalResponse, NLPCompletion',
        'import proctor_serving.server',
        'lib = os.path.dirname(os.__file__)',
        'print(json.dumps({"prefix": sys.prefix, "user": pwd.getpwuid(os.getuid()).pw_name, "uid": os.getuid(),',
        ' "left_out": [d for d in ("test", "idlelib", "tkinter", "ensurepip", "lib2to3", "__pycache__") if os.path.exists(os.path.join(lib, d))],',
        ' "request_fields": list(NLPEvalRequest.__dataclass_fields__)}))',
      ].join('\n'),
    );
    expect(JSON.parse(printed)).toEqual({
      prefix: '/usr/local',
      user: 'nobody',
      uid: 65534,
      left_out: [],
      // flageval-serving's attribute names (test/serving/flagevalCompat.test.ts compares with the package).
      request_fields: [
        'engine',
        'prompt',
        'temperature',
        'max_return_sequences',
        'max_tokens',
        'top_p',
        'echo_prompt',
        'top_k_per_token',
        'stop_sequences',
        'extra',
      ],
    });
  });

  it('is not rebuilt while its inputs are the same', async () => {
    const before = await docker.getImage(NLP_SERVING_IMAGE_REF).inspect();
    const builds: ServingImageBuild[] = [];
    await ensureNlpServingImage(docker, { onBuilt: (b) => builds.push(b) });
    await ensureNlpServingImage(docker, { onBuilt: (b) => builds.push(b) });
    expect(builds).toEqual([]);
    expect((await docker.getImage(NLP_SERVING_IMAGE_REF).inspect()).Id).toBe(before.Id);
  });

  it('is rebuilt when the image under its name was built from other inputs, and the old one is pruned', async () => {
    // A stand-in under the same name, as an older Proctor or another Python would have left it.
    const stale = await docker.importImage(
      tarStream([{ type: 'data', path: '/stale', mode: 0o644, data: Buffer.from('old\n') }]),
      {
        repo: 'proctor/nlp-serving',
        tag: '1',
        changes: [`LABEL ${IMAGE_INPUTS_LABEL}=stale`],
      },
    );
    await readProgress(docker, stale);
    const staleId = (await docker.getImage(NLP_SERVING_IMAGE_REF).inspect()).Id;

    const builds: ServingImageBuild[] = [];
    await ensureNlpServingImage(docker, { onBuilt: (b) => builds.push(b) });
    expect(builds).toHaveLength(1);
    const now = await docker.getImage(NLP_SERVING_IMAGE_REF).inspect();
    expect(now.Id).not.toBe(staleId);
    expect(now.Config.Labels?.[IMAGE_INPUTS_LABEL]).toBe(builds[0]!.inputsHash);
    expect((await labelledImages()).map((i) => i.Id)).toEqual([now.Id]);
  });

  it('comes out whole and single when two processes build it at once', async () => {
    await removeServingImage();
    const build = () =>
      run(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test/docker/buildServingImage.ts')], {
        cwd: ROOT,
        env: process.env,
        timeout: 120_000,
      });
    const outputs = await Promise.all([build(), build()]);
    const results = outputs.map((o) => JSON.parse(o.stdout.trim()) as { ref: string; built: ServingImageBuild | null });
    expect(results.map((r) => r.ref)).toEqual([NLP_SERVING_IMAGE_REF, NLP_SERVING_IMAGE_REF]);
    const now = await docker.getImage(NLP_SERVING_IMAGE_REF).inspect();
    const hashes = results.filter((r) => r.built).map((r) => r.built!.inputsHash);
    expect(hashes.length).toBeGreaterThan(0);
    for (const hash of hashes) expect(now.Config.Labels?.[IMAGE_INPUTS_LABEL]).toBe(hash);
    expect((await labelledImages()).map((i) => i.Id)).toEqual([now.Id]);
  });
});

describe('ensureImage', () => {
  it('builds the platform image rather than pulling it', async () => {
    await removeServingImage();
    expect(await ensureImage(docker, NLP_SERVING_IMAGE_REF)).toBe(NLP_SERVING_IMAGE_REF);
    expect((await docker.getImage(NLP_SERVING_IMAGE_REF).inspect()).Config.Labels?.[IMAGE_INPUTS_LABEL]).toMatch(
      /^[0-9a-f]{64}$/,
    );
  });

  it('takes an image the engine already has as it is', async () => {
    await docker.getImage(NLP_SERVING_IMAGE_REF).tag({ repo: 'proctor-test/present', tag: '1' });
    try {
      expect(await ensureImage(docker, 'proctor-test/present:1')).toBe('proctor-test/present:1');
    } finally {
      await docker.getImage('proctor-test/present:1').remove();
    }
  });

  it('says which image could not be pulled and why', async () => {
    const error = await ensureImage(docker, '127.0.0.1:1/proctor-test/missing:1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImagePullError);
    expect((error as Error).message).toMatch(
      /^could not pull image 127\.0\.0\.1:1\/proctor-test\/missing:1 onto the Docker host unix:\/\/.+: .*connection refused/,
    );
  });
});
