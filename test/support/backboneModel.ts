/**
 * A CV or Audio backbone evaluation as its owner makes one: the preloaded backbone image on a CPU
 * unit, the evaluation's tasks, and one of the fixture uploads (test/fixtures/backbones/<domain>/
 * <name>: the reference backbone, one that ignores its input, and the broken ones) uploaded with
 * the real `proctor` CLI.
 */
import { cp, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestApi } from './apiServer';
import { uploadWithCli } from './privateModel';
import { nlpEvaluationBody, uniqueModelName } from './evaluationBodies';
import type { BackboneTaskChoice } from '../../contracts/backbone';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BACKBONE_FIXTURES = path.join(ROOT, 'test/fixtures/backbones');

export async function backboneImageId(api: TestApi, key: string, domain: 'cv' | 'audio'): Promise<string> {
  const res = await api.request('GET', `/v1/images?source=platform&domain=${domain}`, { key });
  if (res.status !== 200) throw new Error(`could not list images: ${res.status} ${res.text}`);
  const image = (res.body.items as { id: string; name: string }[]).find((i) => i.name === 'proctor-backbone-torch');
  if (!image) throw new Error(`no preloaded proctor-backbone-torch image in ${res.text}`);
  return image.id;
}

export interface BackboneModelOptions {
  domain: 'cv' | 'audio';
  /** A fixture under test/fixtures/backbones/<domain>/. */
  fixture: string;
  datasets: string[];
  tasks: BackboneTaskChoice[];
  /** CV only: also score corrupted test pictures in formal runs. */
  robustness?: boolean;
  /** Files replaced or added in the fixture's copy, by path. */
  files?: Record<string, string>;
}

export async function createBackboneEvaluation(api: TestApi, key: string, o: Omit<BackboneModelOptions, 'fixture'>) {
  const created = await api.request('POST', '/v1/evaluations', {
    key,
    body: nlpEvaluationBody({
      domain: o.domain,
      modelName: o.domain === 'cv' ? uniqueModelName('Cv') : uniqueModelName('audio'),
      datasets: o.datasets,
      robustness: o.robustness ?? false,
      modelInfo: o.domain === 'cv' ? { type: 'backbone' } : {},
      backbone: { tasks: o.tasks },
      deployment: {
        method: 'private',
        imageId: await backboneImageId(api, key, o.domain),
        priority: 'medium',
        gpuType: 'cpu',
        gpuCount: 1,
      },
    }),
  });
  if (created.status !== 201) throw new Error(`could not create the evaluation: ${created.status} ${created.text}`);
  return created.body.id as string;
}

export async function createBackboneModel(
  api: TestApi,
  key: string,
  o: BackboneModelOptions,
): Promise<{ evaluationId: string; version: number }> {
  const evaluationId = await createBackboneEvaluation(api, key, o);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'proctor-backbone-'));
  await cp(path.join(BACKBONE_FIXTURES, o.domain, o.fixture), dir, { recursive: true });
  for (const [name, content] of Object.entries(o.files ?? {})) await writeFile(path.join(dir, name), content);
  return { evaluationId, version: await uploadWithCli(api, key, evaluationId, dir) };
}
