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

describe('checkUploadTree (other domains)', () => {
  it.each(['cv', 'audio'])('%s: not supported yet, one problem saying so', async (domain) => {
    expect(await checkUploadTree(await tree(), domain)).toEqual({
      ok: false,
      domain,
      problems: [
        {
          path: '',
          rule: 'domain',
          message: `the layout check for the ${domain} domain is not supported yet; uploads are checked for nlp and multimodal only`,
        },
      ],
      parameterScaleBillion: null,
      maxGpus: null,
    });
  });
});
