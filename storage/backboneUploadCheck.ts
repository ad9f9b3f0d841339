/**
 * The layout check of a CV or Audio backbone upload (seed, "Upload Model & Code Specifications";
 * docs/backbones.md). CV:
 *
 *   meta.json            model_name, is_rgb, output_channels, output_dims, mean, std, tasks
 *   model/checkpoint.pth the weights; its path is passed to ModelAdapter.model_init
 *   model_adapter.py     class ModelAdapter with model_init(self, checkpoint_path)
 *
 * Audio (the upstream model folder):
 *
 *   model.py             ExamplePretrainingConfig, ExampleConfig, ExampleModel
 *   convert.py           load_converted_model(ckpt)
 *   ModelWrapper.py      one nn.Module class with forward and get_output_dim
 *   checkpoint.pt        the converted checkpoint: task_cfg, model_cfg, model_weight
 *
 * The Python files are read, not run: the check finds what a file lacks by its definitions, and
 * what only running shows (an import that fails, outputs that contradict meta.json) the fine-tune
 * job reports with the same precision. Every problem is reported at once.
 */
import path from 'node:path';
import type { UploadCheckProblem, UploadCheckReport } from '../contracts/upload';
import { readTextFile, statOrNull } from './uploadFiles';
import { layoutPurpose } from '../contracts/uploadLayout';

const MAX_BATCH = 4096;

export async function checkCvTree(dir: string): Promise<UploadCheckReport> {
  const problems: UploadCheckProblem[] = [];
  await checkCvMeta(dir, problems);
  await checkWeights(dir, 'model/checkpoint.pth', problems, layoutPurpose('cv', 'model/checkpoint.pth'));
  const adapter = await readTextFile(dir, 'model_adapter.py', problems, layoutPurpose('cv', 'model_adapter.py'));
  if (adapter !== null) {
    if (!defines(adapter, 'class', 'ModelAdapter'))
      problems.push({
        path: 'model_adapter.py',
        rule: 'adapter_class',
        message: 'model_adapter.py must define class ModelAdapter (with model_init(self, checkpoint_path))',
      });
    else if (!/^[ \t]+def[ \t]+model_init[ \t]*\([ \t]*self[ \t]*,[ \t]*\w+/m.test(adapter))
      problems.push({
        path: 'model_adapter.py',
        rule: 'model_init',
        message:
          'ModelAdapter must have a method model_init(self, checkpoint_path) that builds the backbone and loads the weights from checkpoint_path',
      });
  }
  return { ok: problems.length === 0, domain: 'cv', problems, parameterScaleBillion: null, maxGpus: null };
}

export async function checkAudioTree(dir: string): Promise<UploadCheckReport> {
  const problems: UploadCheckProblem[] = [];
  const model = await readTextFile(dir, 'model.py', problems, layoutPurpose('audio', 'model.py'));
  if (model !== null)
    for (const name of ['ExamplePretrainingConfig', 'ExampleConfig', 'ExampleModel'])
      if (!defines(model, 'class', name))
        problems.push({
          path: 'model.py',
          rule: 'model_classes',
          message: `model.py must define class ${name} (${AUDIO_CLASS_PURPOSE[name]})`,
        });
  const convert = await readTextFile(dir, 'convert.py', problems, layoutPurpose('audio', 'convert.py'));
  if (convert !== null && !defines(convert, 'def', 'load_converted_model'))
    problems.push({
      path: 'convert.py',
      rule: 'load_converted_model',
      message:
        'convert.py must define load_converted_model(ckpt): it reads task_cfg, model_cfg and model_weight from the checkpoint and returns (model, task_cfg)',
    });
  const wrapper = await readTextFile(dir, 'ModelWrapper.py', problems, layoutPurpose('audio', 'ModelWrapper.py'));
  if (wrapper !== null) {
    if (!/^class[ \t]+\w+/m.test(wrapper))
      problems.push({
        path: 'ModelWrapper.py',
        rule: 'wrapper_class',
        message: 'ModelWrapper.py must define a class (an nn.Module) with forward and get_output_dim',
      });
    else
      for (const method of ['forward', 'get_output_dim'])
        if (!new RegExp(`^[ \\t]+def[ \\t]+${method}[ \\t]*\\([ \\t]*self\\b`, 'm').test(wrapper))
          problems.push({
            path: 'ModelWrapper.py',
            rule: method,
            message:
              method === 'forward'
                ? "ModelWrapper.py's class must have forward(self, wavs, padding_mask=None) returning features of shape B×L×D"
                : "ModelWrapper.py's class must have get_output_dim(self) returning D, the features' last dimension",
          });
  }
  await checkWeights(dir, 'checkpoint.pt', problems, layoutPurpose('audio', 'checkpoint.pt'));
  return { ok: problems.length === 0, domain: 'audio', problems, parameterScaleBillion: null, maxGpus: null };
}

const AUDIO_CLASS_PURPOSE: Record<string, string> = {
  ExamplePretrainingConfig: 'a dataclass of the pre-training settings such as sample_rate',
  ExampleConfig: 'a dataclass of the model structure such as encoder_layers',
  ExampleModel: 'the nn.Module built from ExampleConfig',
};

/** A top-level `class Name` or `def name` (decorators and bases allowed). */
function defines(source: string, keyword: 'class' | 'def', name: string): boolean {
  return new RegExp(`^${keyword}[ \\t]+${name}\\b`, 'm').test(source);
}

async function checkWeights(dir: string, rel: string, problems: UploadCheckProblem[], purpose: string): Promise<void> {
  const info = await statOrNull(path.join(dir, rel));
  if (!info) problems.push({ path: rel, rule: 'required', message: `${rel} is required: ${purpose}` });
  else if (!info.isFile())
    problems.push({ path: rel, rule: 'file', message: `${rel} must be a regular file (${purpose})` });
  else if (info.size === 0) problems.push({ path: rel, rule: 'empty', message: `${rel} is empty; upload the weights` });
}

async function checkCvMeta(dir: string, problems: UploadCheckProblem[]): Promise<void> {
  const file = 'meta.json';
  const text = await readTextFile(dir, file, problems, layoutPurpose('cv', 'meta.json'));
  if (text === null) return;
  let meta: unknown;
  try {
    meta = JSON.parse(text);
  } catch (error) {
    problems.push({ path: file, rule: 'json', message: `meta.json is not valid JSON (${(error as Error).message})` });
    return;
  }
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) {
    problems.push({ path: file, rule: 'json', message: 'meta.json must be a JSON object' });
    return;
  }
  const m = meta as Record<string, unknown>;
  const bad = (field: string, message: string) => problems.push({ path: file, rule: field, message });

  if (typeof m.model_name !== 'string' || m.model_name.trim() === '')
    bad('model_name', 'model_name must be a non-empty string naming the backbone');
  if (typeof m.is_rgb !== 'boolean')
    bad('is_rgb', 'is_rgb must be true (the backbone takes RGB channel order) or false (BGR)');

  const channels = positiveInts(m.output_channels);
  if (!channels)
    bad(
      'output_channels',
      'output_channels must be a non-empty list of positive integers: the channels of each feature level the backbone outputs, e.g. [256, 512, 1024, 2048]',
    );
  const dims = Array.isArray(m.output_dims) ? m.output_dims : null;
  if (!dims || dims.length === 0 || !dims.every((d) => d === 3 || d === 4))
    bad(
      'output_dims',
      'output_dims must be a non-empty list of 3 or 4 for each feature level: 4 for B×C×H×W feature maps, 3 for B×N×C tokens',
    );
  else if (channels && dims.length !== channels.length)
    bad(
      'output_dims',
      `output_dims has ${dims.length} entries but output_channels has ${channels.length}: give one of each per feature level`,
    );
  for (const key of ['mean', 'std'] as const) {
    const v = m[key];
    const ok =
      Array.isArray(v) &&
      v.length === 3 &&
      v.every((x) => typeof x === 'number' && Number.isFinite(x) && (key === 'mean' || x > 0));
    if (!ok)
      bad(
        key,
        key === 'mean'
          ? 'mean must be three numbers, the per-channel mean on the 0–255 scale, e.g. [123.675, 116.28, 103.53]'
          : 'std must be three positive numbers, the per-channel standard deviation on the 0–255 scale, e.g. [58.395, 57.12, 57.375]',
      );
  }

  const tasks = m.tasks;
  if (typeof tasks !== 'object' || tasks === null || Array.isArray(tasks) || Object.keys(tasks).length === 0) {
    bad(
      'tasks',
      'tasks must be an object with an entry per task, e.g. {"classification": {"out_indices": [3]}, "segmentation": {"out_indices": [0, 1, 2, 3]}}',
    );
    return;
  }
  const levels = channels?.length ?? (dims ? dims.length : null);
  for (const [task, raw] of Object.entries(tasks as Record<string, unknown>)) {
    const at = `tasks.${task}`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      bad(at, `${at} must be an object with out_indices and optional train_batch_size and val_batch_size`);
      continue;
    }
    const entry = raw as Record<string, unknown>;
    for (const key of ['train_batch_size', 'val_batch_size'])
      if (entry[key] !== undefined && !isIntIn(entry[key], 1, MAX_BATCH))
        bad(
          `${at}.${key}`,
          `${at}.${key} must be an integer from 1 to ${MAX_BATCH} (leave it out for the platform's default)`,
        );
    const indices = entry.out_indices;
    if (
      !Array.isArray(indices) ||
      indices.length === 0 ||
      !indices.every((i) => Number.isInteger(i) && (i as number) >= 0) ||
      new Set(indices).size !== indices.length
    ) {
      bad(
        `${at}.out_indices`,
        `${at}.out_indices must be a non-empty list of distinct feature-level indices, e.g. [3]`,
      );
      continue;
    }
    if (levels !== null && indices.some((i) => (i as number) >= levels)) {
      bad(
        `${at}.out_indices`,
        `${at}.out_indices names level ${Math.max(...(indices as number[]))}, but output_channels lists ${levels} level(s) (0–${levels - 1})`,
      );
      continue;
    }
    if (task === 'segmentation' && dims && indices.some((i) => dims[i as number] !== 4))
      bad(
        `${at}.out_indices`,
        'segmentation needs 4-D feature maps (B×C×H×W): every level in tasks.segmentation.out_indices must have output_dims 4',
      );
  }
}

function positiveInts(v: unknown): number[] | null {
  return Array.isArray(v) && v.length > 0 && v.every((x) => Number.isInteger(x) && (x as number) > 0)
    ? (v as number[])
    : null;
}

function isIntIn(v: unknown, min: number, max: number): boolean {
  return Number.isInteger(v) && (v as number) >= min && (v as number) <= max;
}
