/**
 * A multimodal private deployment as its owner makes one: an evaluation on the preloaded multimodal
 * runtime image, an upload token, and the reference upload (test/fixtures/multimodal-upload: a
 * checkpoint.pth, a run.sh and the Python that solves the built-in datasets) uploaded with the real
 * `proctor` CLI. `runSh` replaces its run.sh to make a deployment that misbehaves; `files` adds
 * files beside it.
 */
import { cp, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestApi } from './apiServer';
import { uploadWithCli } from './privateModel';
import { generateMmShapesVqa, MM_SHAPES_VQA_ID } from '../../datasets/builtin/multimodal/mmShapesVqa';
import { renderBuiltinImage } from '../../datasets/builtin/multimodal/builtinImages';
import { nlpEvaluationBody, uniqueModelName } from './evaluationBodies';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const MULTIMODAL_FIXTURE = path.join(ROOT, 'test/fixtures/multimodal-upload');

export async function multimodalImageId(api: TestApi, key: string): Promise<string> {
  const res = await api.request('GET', '/v1/images?source=platform&domain=multimodal', { key });
  if (res.status !== 200) throw new Error(`could not list images: ${res.status} ${res.text}`);
  const image = (res.body.items as { id: string; name: string }[]).find((i) => i.name === 'proctor-multimodal-runtime');
  if (!image) throw new Error(`no preloaded proctor-multimodal-runtime image in ${res.text}`);
  return image.id;
}

export interface MultimodalModelOptions {
  datasets: string[];
  /** Replaces the reference run.sh. */
  runSh?: string;
  /** More files at the top of the upload, by name. */
  files?: Record<string, string>;
  robustness?: boolean;
}

export async function createMultimodalModel(
  api: TestApi,
  key: string,
  o: MultimodalModelOptions,
): Promise<{ evaluationId: string; version: number }> {
  const created = await api.request('POST', '/v1/evaluations', {
    key,
    body: nlpEvaluationBody({
      domain: 'multimodal',
      modelName: uniqueModelName('Mm.'),
      datasets: o.datasets,
      robustness: o.robustness ?? false,
      deployment: {
        method: 'private',
        imageId: await multimodalImageId(api, key),
        priority: 'medium',
        gpuType: 'cpu',
        gpuCount: 1,
      },
    }),
  });
  if (created.status !== 201) throw new Error(`could not create the evaluation: ${created.status} ${created.text}`);
  const evaluationId = created.body.id as string;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'proctor-mm-model-'));
  await cp(MULTIMODAL_FIXTURE, dir, { recursive: true });
  if (o.runSh !== undefined) await writeFile(path.join(dir, 'run.sh'), o.runSh);
  for (const [name, content] of Object.entries(o.files ?? {})) await writeFile(path.join(dir, name), content);
  return { evaluationId, version: await uploadWithCli(api, key, evaluationId, dir) };
}

/**
 * A custom vqa dataset as its owner would register it: the first `n` built-in questions under ids
 * of its own, with their pictures (renamed) as base64 PNGs and nothing but the data model's metadata.
 */
export function customVqa(n: number): { jsonl: string; pictures: Record<string, string> } {
  const pictures: Record<string, string> = {};
  const lines = generateMmShapesVqa()
    .slice(0, n)
    .map((item, i) => {
      const images = (item.metadata!.images as string[]).map((name) => {
        const renamed = `q${i}-${name}`;
        pictures[renamed] = renderBuiltinImage(MM_SHAPES_VQA_ID, name).toString('base64');
        return renamed;
      });
      return JSON.stringify({
        id: `mine-${i}`,
        prompt: item.prompt,
        ground_truth: item.ground_truth,
        ...(item.choices ? { choices: item.choices } : {}),
        metadata: { task: 'vqa', images, questionType: item.metadata!.questionType },
      });
    });
  return { jsonl: lines.join('\n'), pictures };
}
