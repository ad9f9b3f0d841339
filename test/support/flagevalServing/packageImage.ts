/**
 * A user's image that serves with the real flageval-serving package, as a team would build it
 * (`pip install flageval-serving` in their image, entrypoint `flageval-serving … run`): the
 * platform's multimodal runtime image (this machine's Python and a shell) with the pinned package
 * and its dependencies from the test venv, built on the engine with no registry. Its entrypoint
 * runs the package's production server (gunicorn, gevent workers) on the workspace the platform
 * mounts, bound where the platform says (PORT, BIND) through GUNICORN_CMD_ARGS, which gunicorn
 * reads over the upload's local_guniconf.py.
 */
import { execFile } from 'node:child_process';
import { copyFile, cp, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import os from 'node:os';
import path from 'node:path';
import type Dockerode from 'dockerode';
import { ensureMultimodalRuntimeImage, MULTIMODAL_RUNTIME_IMAGE_REF } from '../../../docker/multimodalRuntimeImage';
import { ensureFlagevalServingVenv } from './venv';

const run = promisify(execFile);
const SITE_PACKAGES = '/opt/flageval-serving/site-packages';
/** The shared libraries the compiled wheels (gevent, greenlet, …) link beyond the image's own. */
const LIBS = '/opt/flageval-serving/lib';

const ENTRYPOINT = [
  'cd /workspace',
  'export GUNICORN_CMD_ARGS="--bind=${BIND:-0.0.0.0}:${PORT:-5000}"',
  "exec python3 -c 'import sys; from flageval.serving.cli import main; sys.exit(main())' --service service:Service run --stage production model",
].join(' && ');

/** Builds the image under `ref` (once per process and engine) and resolves to it. */
export async function ensureFlagevalPackageImage(docker: Dockerode, ref: string): Promise<string> {
  const [venv] = await Promise.all([ensureFlagevalServingVenv(), ensureMultimodalRuntimeImage(docker)]);
  const context = await mkdtemp(path.join(os.tmpdir(), 'flageval-image-'));
  try {
    const lib = path.join(venv.dir, 'lib');
    const python = (await readdir(lib)).find((d) => d.startsWith('python'))!;
    await cp(path.join(lib, python, 'site-packages'), path.join(context, 'site-packages'), {
      recursive: true,
      filter: (source) =>
        !source.includes(`${path.sep}__pycache__`) && !/site-packages[/\\](pip|setuptools)/.test(source),
    });
    await copyLinkedLibraries(path.join(context, 'site-packages'), path.join(context, 'lib'));
    await writeFile(
      path.join(context, 'Dockerfile'),
      [
        `FROM ${MULTIMODAL_RUNTIME_IMAGE_REF}`,
        `COPY site-packages ${SITE_PACKAGES}`,
        `COPY lib ${LIBS}`,
        `ENV PYTHONPATH=${SITE_PACKAGES} LD_LIBRARY_PATH=${LIBS}:$LD_LIBRARY_PATH`,
        'WORKDIR /workspace',
        `ENTRYPOINT ["/bin/sh", "-c", ${JSON.stringify(ENTRYPOINT)}]`,
        'CMD []',
        '',
      ].join('\n'),
    );
    const stream = await docker.buildImage(
      { context, src: ['Dockerfile', 'site-packages', 'lib'] },
      { t: ref, rm: true },
    );
    const events = await new Promise<{ error?: string; errorDetail?: { message?: string } }[]>((resolve, reject) =>
      docker.modem.followProgress(stream, (error: Error | null, output: unknown[]) =>
        error ? reject(error) : resolve(output as never),
      ),
    );
    const failed = events.find((e) => e.error || e.errorDetail);
    if (failed) throw new Error(`building ${ref} failed: ${failed.error ?? failed.errorDetail?.message}`);
    return ref;
  } finally {
    await rm(context, { recursive: true, force: true });
  }
}

/** Copies the libraries the site-packages' shared objects need (as ldd resolves them here), libc aside. */
async function copyLinkedLibraries(sitePackages: string, into: string): Promise<void> {
  await mkdir(into, { recursive: true });
  const objects: string[] = [];
  const walk = async (dir: string) => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (/\.so(\.|$)/.test(entry.name)) objects.push(full);
    }
  };
  await walk(sitePackages);
  const libraries = new Map<string, string>();
  for (const object of objects) {
    const { stdout } = await run('ldd', [object]).catch(() => ({ stdout: '' }));
    for (const [, name, file] of stdout.matchAll(/^\s*(\S+) => (\/\S+)/gm))
      if (!name!.startsWith('libc.so') && !name!.startsWith('ld-linux')) libraries.set(name!, file!);
  }
  for (const [name, file] of libraries) await copyFile(file, path.join(into, name));
}
