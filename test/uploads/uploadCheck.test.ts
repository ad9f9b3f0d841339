/**
 * The layout check of an NLP upload on real directories: the seed's demo passes with its
 * parameter scale and GPU limit, and each broken rule is reported (all at once) with the path,
 * a stable rule name and a message saying what to do.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { checkUploadTree } from '../../storage/uploadCheck';
import { DEMO_SERVICE } from './uploadFixtures';

let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'proctor-check-'));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

interface Tree {
  model?: 'dir' | 'file' | null;
  meta?: string | null;
  service?: string | null;
  guniconf?: string | null;
}

async function tree(spec: Tree = {}): Promise<string> {
  const dir = await mkdtemp(path.join(scratch, 't-'));
  const {
    model = 'dir',
    meta = '{"parameter_scale_billion": 7}',
    service = DEMO_SERVICE,
    guniconf = 'workers = 2\n',
  } = spec;
  if (model === 'dir') {
    await mkdir(path.join(dir, 'model'));
    await writeFile(path.join(dir, 'model', 'info'), 'w');
  }
  if (model === 'file') await writeFile(path.join(dir, 'model'), 'w');
  if (meta !== null) await writeFile(path.join(dir, 'meta.json'), meta);
  if (service !== null) await writeFile(path.join(dir, 'service.py'), service);
  if (guniconf !== null) await writeFile(path.join(dir, 'local_guniconf.py'), guniconf);
  return dir;
}

const rules = (report: { problems: { path: string; rule: string }[] }) =>
  report.problems.map((p) => `${p.path}:${p.rule}`);

describe('checkUploadTree (nlp)', () => {
  it('passes the seed demo, with the parameter scale and the GPU limit for it', async () => {
    expect(await checkUploadTree(await tree(), 'nlp')).toEqual({
      ok: true,
      domain: 'nlp',
      problems: [],
      parameterScaleBillion: 7,
      maxGpus: 1,
    });
    expect(
      await checkUploadTree(await tree({ meta: '{"parameter_scale_billion": 13.5, "name": "x"}' }), 'nlp'),
    ).toMatchObject({ ok: true, maxGpus: 4 });
    expect(await checkUploadTree(await tree({ meta: '{"parameter_scale_billion": 70}' }), 'nlp')).toMatchObject({
      ok: true,
      maxGpus: 8,
    });
    expect(await checkUploadTree(await tree({ meta: '{"parameter_scale_billion": 0.5}' }), 'nlp')).toMatchObject({
      ok: true,
      maxGpus: 1,
    });
  });

  it('reports every missing part at once, in the order of the seed’s listing', async () => {
    const report = await checkUploadTree(await tree({ model: null, meta: null, service: null, guniconf: null }), 'nlp');
    expect(report.ok).toBe(false);
    expect(rules(report)).toEqual([
      'model:required',
      'local_guniconf.py:required',
      'meta.json:required',
      'service.py:required',
    ]);
    expect(report.problems[0]!.message).toMatch(/^a model\/ directory is required/);
    expect(report.problems[2]!.message).toMatch(/parameter_scale_billion/);
    expect(report.parameterScaleBillion).toBeNull();
    expect(report.maxGpus).toBeNull();
  });

  it.each([
    ['not JSON', '{"parameter_scale_billion": 7,}', 'json', /^meta\.json is not valid JSON/],
    ['an array', '[7]', 'json', /must be a JSON object/],
    ['null', 'null', 'json', /must be a JSON object/],
    ['no scale', '{"name": "m"}', 'parameter_scale_billion', /must give parameter_scale_billion/],
    ['a string scale', '{"parameter_scale_billion": "7"}', 'parameter_scale_billion', /positive number .*found "7"$/],
    ['zero', '{"parameter_scale_billion": 0}', 'parameter_scale_billion', /found 0$/],
    ['negative', '{"parameter_scale_billion": -1}', 'parameter_scale_billion', /found -1$/],
    ['too large a number', '{"parameter_scale_billion": 1e400}', 'parameter_scale_billion', /found Infinity$/],
  ])('meta.json: %s', async (_what, meta, rule, message) => {
    const report = await checkUploadTree(await tree({ meta }), 'nlp');
    expect(report.problems).toEqual([{ path: 'meta.json', rule, message: expect.stringMatching(message) }]);
    expect(report.parameterScaleBillion).toBeNull();
  });

  it.each([
    ['empty', '', 'empty'],
    ['only whitespace', '\n\n  \n', 'empty'],
    ['without class Service', 'class ServiceBase:\n    pass\n', 'service_class'],
    ['with Service only in a comment', '# class Service goes here\n', 'service_class'],
  ])('service.py: %s', async (_what, service, rule) => {
    expect(rules(await checkUploadTree(await tree({ service }), 'nlp'))).toEqual([`service.py:${rule}`]);
  });

  it('service.py: a class Service with any base passes', async () => {
    expect(
      (await checkUploadTree(await tree({ service: 'import x\n\nclass Service(x.Base):\n    pass\n' }), 'nlp')).ok,
    ).toBe(true);
  });

  it.each([
    ['empty', '', true],
    ['without workers', 'bind = "0.0.0.0:5000"\n', true],
    ['workers = 4', 'workers = 4\n', true],
    ['workers=8 with a comment', 'workers=8  # eight processes\n', true],
    ['the last assignment counting', 'workers = 0\nworkers = 3\n', true],
    ['workers = 0', 'workers = 0\n', false],
    ['workers = -2', 'workers = -2\n', false],
    ['workers = 2.5', 'workers = 2.5\n', false],
    ['workers = "4"', 'workers = "4"\n', false],
    ['an expression', 'import os\nworkers = os.cpu_count()\n', false],
  ])('local_guniconf.py: %s', async (_what, guniconf, ok) => {
    const report = await checkUploadTree(await tree({ guniconf }), 'nlp');
    expect(report.ok).toBe(ok);
    if (!ok)
      expect(report.problems).toEqual([
        {
          path: 'local_guniconf.py',
          rule: 'workers',
          message: expect.stringMatching(/^workers must be a positive whole number/),
        },
      ]);
  });

  it('wants model to be a directory and the files to be regular files; follows links inside the tree', async () => {
    expect(rules(await checkUploadTree(await tree({ model: 'file' }), 'nlp'))).toEqual(['model:directory']);
    const dir = await tree({ service: null });
    await mkdir(path.join(dir, 'service.py'));
    expect(rules(await checkUploadTree(dir, 'nlp'))).toEqual(['service.py:file']);

    const linked = await tree({ model: null, meta: null });
    await mkdir(path.join(linked, 'weights'));
    await symlink('weights', path.join(linked, 'model'));
    await writeFile(path.join(linked, 'real-meta.json'), '{"parameter_scale_billion": 1}');
    await symlink('real-meta.json', path.join(linked, 'meta.json'));
    expect(await checkUploadTree(linked, 'nlp')).toMatchObject({ ok: true, parameterScaleBillion: 1 });

    const dangling = await tree({ service: null });
    await symlink('nowhere.py', path.join(dangling, 'service.py'));
    expect(rules(await checkUploadTree(dangling, 'nlp'))).toEqual(['service.py:required']);
  });

  it('refuses to read a meta.json too large to be one', async () => {
    const report = await checkUploadTree(
      await tree({ meta: `{"parameter_scale_billion": 7, "pad": "${'x'.repeat(1024 * 1024)}"}` }),
      'nlp',
    );
    expect(rules(report)).toEqual(['meta.json:size']);
  });
});

describe('checkUploadTree (multimodal)', () => {
  async function mmTree(files: Record<string, string | 'dir'>): Promise<string> {
    const dir = await mkdtemp(path.join(scratch, 'mm-'));
    for (const [name, content] of Object.entries(files)) {
      if (content === 'dir') await mkdir(path.join(dir, name));
      else await writeFile(path.join(dir, name), content);
    }
    return dir;
  }

  it("passes the seed's layout: checkpoint.pth and run.sh at the top, any other files beside them", async () => {
    const report = await checkUploadTree(
      await mmTree({ 'checkpoint.pth': 'weights', 'run.sh': 'python3 infer.py "$@"\n', 'infer.py': 'print(1)\n' }),
      'multimodal',
    );
    expect(report).toEqual({
      ok: true,
      domain: 'multimodal',
      problems: [],
      parameterScaleBillion: null,
      maxGpus: null,
    });
  });

  it('names every missing or unusable file at once', async () => {
    expect(rules(await checkUploadTree(await mmTree({ 'model.py': 'x' }), 'multimodal'))).toEqual([
      'checkpoint.pth:required',
      'run.sh:required',
    ]);
    expect(
      rules(await checkUploadTree(await mmTree({ 'checkpoint.pth': 'dir', 'run.sh': '  \n' }), 'multimodal')),
    ).toEqual(['checkpoint.pth:file', 'run.sh:empty']);
    const report = await checkUploadTree(await mmTree({ 'checkpoint.pth': '', 'run.sh': 'dir' }), 'multimodal');
    expect(rules(report)).toEqual(['checkpoint.pth:empty', 'run.sh:file']);
    expect(report.problems[1]!.message).toContain('bash run.sh TASK SERVER_IP SERVER_PORT');
  });

  it('does not ask a multimodal upload for the NLP files', async () => {
    const report = await checkUploadTree(await mmTree({ 'checkpoint.pth': 'w', 'run.sh': 'true\n' }), 'multimodal');
    expect(report.problems.map((p) => p.path)).not.toContain('service.py');
  });
});

const SEED_META = {
  model_name: 'resnet_demo',
  is_rgb: true,
  output_channels: [256, 512, 1024, 2048],
  output_dims: [4, 4, 4, 4],
  mean: [123.675, 116.28, 103.53],
  std: [58.395, 57.12, 57.375],
  tasks: {
    classification: { train_batch_size: 128, val_batch_size: 128, out_indices: [3] },
    segmentation: { train_batch_size: 8, val_batch_size: 8, out_indices: [0, 1, 2, 3] },
    semi_supervised_classification: { train_batch_size: 32, val_batch_size: 128, out_indices: [3] },
  },
};
const SEED_ADAPTER =
  'import os\nimport sys\n\ncurrent_dir = os.path.dirname(os.path.abspath(__file__))\nsys.path.append(current_dir)\n\n' +
  'from model.user_model import get_model  # noqa E402\n\n\nclass ModelAdapter:\n    def model_init(self, checkpoint_path):\n' +
  '        model = get_model()\n        return model\n';

async function files(entries: Record<string, string | 'dir'>): Promise<string> {
  const dir = await mkdtemp(path.join(scratch, 'bb-'));
  for (const [name, content] of Object.entries(entries)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    if (content === 'dir') await mkdir(path.join(dir, name));
    else await writeFile(path.join(dir, name), content);
  }
  return dir;
}

describe('checkUploadTree (cv)', () => {
  const cvTree = (over: Record<string, string | 'dir' | null> = {}) => {
    const all: Record<string, string | 'dir' | null> = {
      'meta.json': JSON.stringify(SEED_META),
      'model/checkpoint.pth': 'weights',
      'model/user_model.py': 'def get_model():\n    pass\n',
      'model_adapter.py': SEED_ADAPTER,
      ...over,
    };
    return files(Object.fromEntries(Object.entries(all).filter((e): e is [string, string] => e[1] !== null)));
  };

  it("passes the seed's demo layout (its extra task included)", async () => {
    expect(await checkUploadTree(await cvTree(), 'cv')).toEqual({
      ok: true,
      domain: 'cv',
      problems: [],
      parameterScaleBillion: null,
      maxGpus: null,
    });
  });

  it('names every missing file at once', async () => {
    const dir = await files({ 'README.md': 'x' });
    expect(rules(await checkUploadTree(dir, 'cv'))).toEqual([
      'meta.json:required',
      'model/checkpoint.pth:required',
      'model_adapter.py:required',
    ]);
  });

  it('reports each broken meta.json field, the adapter and the weights together', async () => {
    const meta = {
      model_name: '',
      is_rgb: 'yes',
      output_channels: [256, 0],
      output_dims: [4, 4, 2],
      mean: [1, 2],
      std: [1, 0, 1],
      tasks: {
        classification: { train_batch_size: 0, out_indices: [5] },
        segmentation: { out_indices: [0, 0] },
      },
    };
    const report = await checkUploadTree(
      await cvTree({
        'meta.json': JSON.stringify(meta),
        'model/checkpoint.pth': '',
        'model_adapter.py': 'class Adapter:\n    pass\n',
      }),
      'cv',
    );
    expect(rules(report)).toEqual([
      'meta.json:model_name',
      'meta.json:is_rgb',
      'meta.json:output_channels',
      'meta.json:output_dims',
      'meta.json:mean',
      'meta.json:std',
      'meta.json:tasks.classification.train_batch_size',
      'meta.json:tasks.classification.out_indices',
      'meta.json:tasks.segmentation.out_indices',
      'model/checkpoint.pth:empty',
      'model_adapter.py:adapter_class',
    ]);
    expect(report.problems.find((p) => p.rule === 'tasks.classification.out_indices')?.message).toContain(
      'names level 5',
    );
  });

  it('refuses 3-D levels for segmentation and a ModelAdapter without model_init', async () => {
    const meta = { ...SEED_META, output_dims: [3, 3, 3, 3] };
    const report = await checkUploadTree(
      await cvTree({ 'meta.json': JSON.stringify(meta), 'model_adapter.py': 'class ModelAdapter:\n    pass\n' }),
      'cv',
    );
    expect(rules(report)).toEqual(['meta.json:tasks.segmentation.out_indices', 'model_adapter.py:model_init']);
    expect(report.problems[0]!.message).toContain('4-D feature maps');
  });

  it('says what a meta.json that is not JSON is', async () => {
    expect(rules(await checkUploadTree(await cvTree({ 'meta.json': '{"model_name": ' }), 'cv'))).toEqual([
      'meta.json:json',
    ]);
  });
});

describe('checkUploadTree (audio)', () => {
  const MODEL =
    'from dataclasses import dataclass, field\nimport torch.nn as nn\n\n@dataclass\nclass ExamplePretrainingConfig:\n    sample_rate: int = 16000\n\n' +
    '@dataclass\nclass ExampleConfig:\n    encoder_layers: int = 2\n\nclass ExampleModel(nn.Module):\n    pass\n';
  const CONVERT = 'import torch\n\ndef load_converted_model(ckpt: str):\n    return None, None\n';
  const WRAPPER =
    'import torch.nn as nn\n\nclass MyModel(nn.Module):\n    def __init__(self, load_type, **kwargs):\n        super().__init__()\n\n' +
    '    def forward(self, wavs, padding_mask=None):\n        return wavs\n\n    def get_output_dim(self):\n        return 64\n';

  it('passes the upstream layout with its converted checkpoint', async () => {
    const dir = await files({
      'model.py': MODEL,
      'convert.py': CONVERT,
      'ModelWrapper.py': WRAPPER,
      'checkpoint.pt': 'w',
    });
    expect(await checkUploadTree(dir, 'audio')).toMatchObject({ ok: true, domain: 'audio', problems: [] });
  });

  it('names every missing class, function and file at once', async () => {
    const dir = await files({
      'model.py': 'class ExampleConfig:\n    pass\n',
      'convert.py': 'def convert(x):\n    pass\n',
      'ModelWrapper.py': 'class MyModel:\n    def forward(self, wavs):\n        pass\n',
    });
    const report = await checkUploadTree(dir, 'audio');
    expect(rules(report)).toEqual([
      'model.py:model_classes',
      'model.py:model_classes',
      'convert.py:load_converted_model',
      'ModelWrapper.py:get_output_dim',
      'checkpoint.pt:required',
    ]);
    expect(report.problems.map((p) => p.message).join('\n')).toMatch(/ExamplePretrainingConfig[\s\S]*ExampleModel/);
  });

  it('names all four files when none is there', async () => {
    expect(rules(await checkUploadTree(await files({ 'x.txt': 'x' }), 'audio'))).toEqual([
      'model.py:required',
      'convert.py:required',
      'ModelWrapper.py:required',
      'checkpoint.pt:required',
    ]);
  });
});

describe('checkUploadTree (safety)', () => {
  it('has no upload layout: one problem saying so', async () => {
    expect(await checkUploadTree(await tree(), 'safety')).toMatchObject({
      ok: false,
      domain: 'safety',
      problems: [{ path: '', rule: 'domain' }],
    });
  });
});
