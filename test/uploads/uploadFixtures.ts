/**
 * What the upload tests start from: a private NLP evaluation (with an approved platform image to
 * name), tokens, tar archives built entry by entry (including the malicious ones a real tar tool
 * would not write), the demo tree of the seed, and raw HTTP calls with a streamed body.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pack, type Headers } from 'tar-stream';
import type { TestApi } from '../support/apiServer';
import { nlpEvaluationBody, platformImageId } from '../support/evaluationBodies';
import { requireEnv } from '../support/env';

/** A fresh upload directory for this test file's API; call before startApi. */
export function useFreshUploadDir(settings: Record<string, string> = {}): string {
  const dir = path.join(requireEnv('PROCTOR_TEST_DATA_DIR'), `uploads-${randomUUID().slice(0, 8)}`);
  Object.assign(process.env, { PROCTOR_UPLOAD_DIR: dir, ...settings });
  return dir;
}

/** The preloaded NLP image, so a private deployment has something valid to name (the catalog's, not a row of our own: other files count platform images). */
export async function platformImage(api: TestApi): Promise<string> {
  return platformImageId(api, api.adminKey);
}

export function privateDeployment(imageId: string): Record<string, unknown> {
  return { method: 'private', imageId, priority: 'high', gpuType: 'cpu', gpuCount: 1 };
}

export async function createPrivateEvaluation(api: TestApi, key: string, imageId: string): Promise<string> {
  const res = await api.request('POST', '/v1/evaluations', {
    key,
    body: nlpEvaluationBody({ deployment: privateDeployment(imageId) }),
  });
  if (res.status !== 201) throw new Error(`could not create a private evaluation: ${res.status} ${res.text}`);
  return res.body.id as string;
}

export async function issueToken(api: TestApi, key: string, evaluationId: string): Promise<string> {
  const res = await api.request('POST', `/v1/evaluations/${evaluationId}/upload-token`, { key });
  if (res.status !== 201) throw new Error(`could not issue an upload token: ${res.status} ${res.text}`);
  return res.body.token as string;
}

export interface TarEntry {
  name: string;
  type?: Headers['type'];
  content?: string | Buffer;
  linkname?: string;
  mode?: number;
}

/** A tar archive of exactly these entries, names and types as given. */
export async function tarOf(entries: TarEntry[], options: { endMarker?: boolean } = {}): Promise<Buffer> {
  const archive = pack();
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const chunk of archive) chunks.push(Buffer.from(chunk));
  })();
  for (const entry of entries) {
    const type = entry.type ?? 'file';
    const content = entry.content === undefined ? undefined : Buffer.from(entry.content);
    await new Promise<void>((resolve, reject) => {
      const header: Headers = {
        name: entry.name,
        type,
        mode: entry.mode ?? (type === 'directory' ? 0o755 : 0o644),
        mtime: new Date('2025-01-02T03:04:05Z'),
      };
      if (entry.linkname !== undefined) header.linkname = entry.linkname;
      if (type === 'file') header.size = content?.byteLength ?? 0;
      archive.entry(header, type === 'file' ? (content ?? Buffer.alloc(0)) : undefined, (error) =>
        error ? reject(error) : resolve(),
      );
    });
  }
  archive.finalize();
  await collected;
  const whole = Buffer.concat(chunks);
  // Without the end-of-archive marker: what a stream cut short at an entry boundary looks like.
  return options.endMarker === false ? whole.subarray(0, whole.byteLength - 1024) : whole;
}

export const DEMO_SERVICE = `from flageval.serving.service import NLPModelService, NLPEvalRequest, NLPEvalResponse, NLPCompletion


class Service(NLPModelService):
    def global_init(self, model_path: str):
        print("Initial model with path", model_path)

    def infer(self, req: NLPEvalRequest) -> NLPEvalResponse:
        return NLPEvalResponse(completions=[NLPCompletion(text='Hello, world!', tokens='Hello, world!')])
`;

/** The seed's demo/ tree, as tar entries. */
export function demoEntries(overrides: { meta?: string; service?: string; guniconf?: string } = {}): TarEntry[] {
  return [
    { name: 'model/', type: 'directory' },
    { name: 'model/info', content: 'weights go here\n' },
    { name: 'local_guniconf.py', content: overrides.guniconf ?? 'workers = 1\n' },
    { name: 'meta.json', content: overrides.meta ?? '{"parameter_scale_billion": 7}\n' },
    { name: 'service.py', content: overrides.service ?? DEMO_SERVICE },
  ];
}

/** The demo tree written to a directory on disk, for the CLI. */
export async function writeDemoTree(dir: string): Promise<void> {
  await mkdir(path.join(dir, 'model'), { recursive: true });
  for (const entry of demoEntries()) {
    if (entry.type === 'directory') continue;
    await writeFile(path.join(dir, entry.name), entry.content!);
  }
}

export function uploadHeaders(token: string, contentType = 'application/x-tar'): Record<string, string> {
  return { authorization: `Bearer ${token}`, 'content-type': contentType };
}

/** Every file and directory under `dir`, relative, sorted: to show that nothing changed. */
export async function listTree(dir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(path.join(dir, rel));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    for (const name of names) {
      const child = rel ? `${rel}/${name}` : name;
      found.push(child);
      await walk(child).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOTDIR') throw error;
      });
    }
  };
  await walk('');
  return found.sort();
}

/** Everything under the upload directory but the (shared, long-lived) staging root itself. */
export async function storedTree(uploadDir: string): Promise<string[]> {
  return (await listTree(uploadDir)).filter((entry) => entry !== '.staging');
}
