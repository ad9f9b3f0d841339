/**
 * The layout check of an uploaded tree (seed, "Upload Model & Code Specifications"). For NLP:
 *
 *   model/               the model directory (weights, tokenizer, config), passed to global_init
 *   local_guniconf.py    the service configuration; `workers = N` sets the inference processes
 *   meta.json            {"parameter_scale_billion": 7}
 *   service.py           defines class Service(NLPModelService)
 *
 * CV and Audio backbones: storage/backboneUploadCheck.ts. For Multimodal (the data-server protocol,
 * docs/multimodal.md):
 *
 *   checkpoint.pth       the weights the user's code loads (its path comes from the data server's io_info)
 *   run.sh               run as `bash run.sh TASK SERVER_IP SERVER_PORT`
 *   …                    any other files the code needs
 *
 * Every problem is reported at once, each with the path, the rule and what to do about it, so one
 * round trip tells the user everything to fix. Links inside the tree are followed (they were
 * checked to stay inside when the tree was stored).
 */
import path from 'node:path';
import { maxGpusForScale, type UploadCheckProblem, type UploadCheckReport } from '../contracts/upload';
import { readTextFile, statOrNull } from './uploadFiles';
import { checkAudioTree, checkCvTree } from './backboneUploadCheck';
import { layoutPurpose } from '../contracts/uploadLayout';

export async function checkUploadTree(dir: string, domain: string): Promise<UploadCheckReport> {
  if (domain === 'multimodal') return checkMultimodalTree(dir);
  if (domain === 'cv') return checkCvTree(dir);
  if (domain === 'audio') return checkAudioTree(dir);
  if (domain !== 'nlp') {
    return {
      ok: false,
      domain,
      problems: [
        {
          path: '',
          rule: 'domain',
          message: `the ${domain} domain takes no upload (its evaluations call an API); uploads are checked for nlp, multimodal, cv and audio`,
        },
      ],
      parameterScaleBillion: null,
      maxGpus: null,
    };
  }
  const problems: UploadCheckProblem[] = [];
  await checkModelDir(dir, problems);
  await checkGunicornConf(dir, problems);
  const parameterScaleBillion = await checkMeta(dir, problems);
  await checkService(dir, problems);
  return {
    ok: problems.length === 0,
    domain,
    problems,
    parameterScaleBillion,
    maxGpus: parameterScaleBillion === null ? null : maxGpusForScale(parameterScaleBillion),
  };
}

async function checkMultimodalTree(dir: string): Promise<UploadCheckReport> {
  const problems: UploadCheckProblem[] = [];
  const checkpoint = await statOrNull(path.join(dir, 'checkpoint.pth'));
  if (!checkpoint) {
    problems.push({
      path: 'checkpoint.pth',
      rule: 'required',
      message: `checkpoint.pth is required at the top of the upload: ${layoutPurpose('multimodal', 'checkpoint.pth')}`,
    });
  } else if (!checkpoint.isFile()) {
    problems.push({
      path: 'checkpoint.pth',
      rule: 'file',
      message: 'checkpoint.pth must be a regular file holding the weights, not a directory',
    });
  } else if (checkpoint.size === 0) {
    problems.push({
      path: 'checkpoint.pth',
      rule: 'empty',
      message: 'checkpoint.pth is empty; upload the weights file',
    });
  }
  const script = await readTextFile(dir, 'run.sh', problems, layoutPurpose('multimodal', 'run.sh'));
  if (script !== null && script.trim() === '') {
    problems.push({
      path: 'run.sh',
      rule: 'empty',
      message: 'run.sh is empty; it must start your inference, e.g. `python3 infer.py "$1" "$2" "$3"`',
    });
  }
  return { ok: problems.length === 0, domain: 'multimodal', problems, parameterScaleBillion: null, maxGpus: null };
}

async function checkModelDir(dir: string, problems: UploadCheckProblem[]): Promise<void> {
  const info = await statOrNull(path.join(dir, 'model'));
  if (!info) {
    problems.push({
      path: 'model',
      rule: 'required',
      message: `a model/ directory is required: ${layoutPurpose('nlp', 'model')}`,
    });
  } else if (!info.isDirectory()) {
    problems.push({
      path: 'model',
      rule: 'directory',
      message: 'model must be a directory holding the model files, not a file',
    });
  }
}

async function checkGunicornConf(dir: string, problems: UploadCheckProblem[]): Promise<void> {
  const file = 'local_guniconf.py';
  const text = await readTextFile(dir, file, problems, layoutPurpose('nlp', 'local_guniconf.py'));
  if (text === null) return;
  // Python runs the file top to bottom, so the last assignment is the one gunicorn sees.
  const assignments = [...text.matchAll(/^workers[ \t]*=[ \t]*([^#\r\n]*?)[ \t]*(?:#.*)?$/gm)];
  const value = assignments.at(-1)?.[1];
  if (value === undefined) return;
  const workers = /^[0-9_]+$/.test(value) ? Number(value.replaceAll('_', '')) : NaN;
  if (!Number.isSafeInteger(workers) || workers < 1) {
    problems.push({
      path: file,
      rule: 'workers',
      message: `workers must be a positive whole number written out, e.g. \`workers = 4\`; found \`workers = ${value.slice(0, 80)}\``,
    });
  }
}

/** The parameter scale when meta.json gives a valid one, null otherwise (with the problem recorded). */
async function checkMeta(dir: string, problems: UploadCheckProblem[]): Promise<number | null> {
  const file = 'meta.json';
  const text = await readTextFile(dir, file, problems, layoutPurpose('nlp', 'meta.json'));
  if (text === null) return null;
  let meta: unknown;
  try {
    meta = JSON.parse(text);
  } catch (error) {
    problems.push({
      path: file,
      rule: 'json',
      message: `meta.json is not valid JSON (${(error as Error).message}); write e.g. {"parameter_scale_billion": 7}`,
    });
    return null;
  }
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) {
    problems.push({
      path: file,
      rule: 'json',
      message: 'meta.json must be a JSON object, e.g. {"parameter_scale_billion": 7}',
    });
    return null;
  }
  const scale = (meta as Record<string, unknown>).parameter_scale_billion;
  if (typeof scale !== 'number' || !Number.isFinite(scale) || scale <= 0) {
    problems.push({
      path: file,
      rule: 'parameter_scale_billion',
      message:
        scale === undefined
          ? 'meta.json must give parameter_scale_billion, the model size in billions of parameters, e.g. {"parameter_scale_billion": 7}'
          : `parameter_scale_billion must be a positive number (the model size in billions of parameters, e.g. 7 or 0.5); found ${typeof scale === 'number' ? String(scale) : JSON.stringify(scale)}`,
    });
    return null;
  }
  return scale;
}

async function checkService(dir: string, problems: UploadCheckProblem[]): Promise<void> {
  const file = 'service.py';
  const text = await readTextFile(dir, file, problems, layoutPurpose('nlp', 'service.py'));
  if (text === null) return;
  if (text.trim() === '') {
    problems.push({
      path: file,
      rule: 'empty',
      message: 'service.py is empty; it must define class Service(NLPModelService) with global_init and infer',
    });
  } else if (!/^[ \t]*class[ \t]+Service\b/m.test(text)) {
    problems.push({
      path: file,
      rule: 'service_class',
      message:
        'service.py must define a class named Service (class Service(NLPModelService): with global_init(self, model_path) and infer(self, req))',
    });
  }
}
