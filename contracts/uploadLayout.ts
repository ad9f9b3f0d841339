/**
 * What a private deployment's upload holds, per domain (seed, "Upload Model & Code Specifications";
 * docs/uploads.md, docs/multimodal.md, docs/backbones.md). The layout checks
 * (storage/uploadCheck.ts, storage/backboneUploadCheck.ts) take each file's purpose from here for
 * their messages, and GET /v1/domains serves the table, so the console's upload instructions, the
 * checks and the docs say the same thing.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { Domain } from './domain';

export const UploadLayoutFile = Type.Object({
  path: Type.String({ description: "relative to the upload's root, '/'-separated" }),
  kind: Type.Union([Type.Literal('file'), Type.Literal('directory')]),
  what: Type.String({ description: 'what the file is for, as the layout check says it' }),
});
export type UploadLayoutFile = Static<typeof UploadLayoutFile>;

export const UploadLayout = Type.Object({
  files: Type.Array(UploadLayoutFile, { description: 'every one is required; the check reports each one missing' }),
  note: Type.String({ description: 'what else the upload may hold' }),
});
export type UploadLayout = Static<typeof UploadLayout>;

/** Null where the domain has no private deployment (Safety is API only). */
export const UPLOAD_LAYOUTS: Readonly<Record<Domain, UploadLayout | null>> = Object.freeze({
  nlp: {
    files: [
      {
        path: 'model',
        kind: 'directory',
        what: 'the model files (weights, tokenizer, configuration); its path is passed to Service.global_init',
      },
      {
        path: 'local_guniconf.py',
        kind: 'file',
        what: 'the service configuration; it may be empty, or set e.g. `workers = 1` for the number of inference processes',
      },
      { path: 'meta.json', kind: 'file', what: 'the model information, e.g. {"parameter_scale_billion": 7}' },
      {
        path: 'service.py',
        kind: 'file',
        what: 'the service entrance, defining class Service(NLPModelService) with global_init and infer',
      },
    ],
    note: 'The service answers POST /func; a model of up to 7B parameters gets 1 GPU, up to 20B 4, larger 8.',
  },
  multimodal: {
    files: [
      {
        path: 'checkpoint.pth',
        kind: 'file',
        what: 'the weights your code loads (the data server tells run.sh its path through /io_info)',
      },
      {
        path: 'run.sh',
        kind: 'file',
        what: 'the entry point, run as `bash run.sh TASK SERVER_IP SERVER_PORT` (TASK is vqa, retrieval or t2i)',
      },
    ],
    note: 'Any other files your code needs sit beside them.',
  },
  cv: {
    files: [
      {
        path: 'meta.json',
        kind: 'file',
        what: 'the backbone description: model_name, is_rgb, output_channels, output_dims, mean, std and tasks (docs/backbones.md)',
      },
      { path: 'model/checkpoint.pth', kind: 'file', what: 'the backbone weights; model_init receives this path' },
      {
        path: 'model_adapter.py',
        kind: 'file',
        what: 'defines class ModelAdapter whose model_init(self, checkpoint_path) returns the backbone (a torch nn.Module)',
      },
    ],
    note: "The platform freezes the backbone and fine-tunes its own preset head per task; meta.json's tasks give each task's out_indices.",
  },
  audio: {
    files: [
      {
        path: 'model.py',
        kind: 'file',
        what: 'defines the dataclasses ExamplePretrainingConfig and ExampleConfig and the model class ExampleModel (nn.Module)',
      },
      {
        path: 'convert.py',
        kind: 'file',
        what: 'defines load_converted_model(ckpt), which loads the converted checkpoint into ExampleModel',
      },
      {
        path: 'ModelWrapper.py',
        kind: 'file',
        what: 'defines the class the platform runs: __init__(self, load_type, **kwargs), forward(self, wavs, padding_mask=None) giving B×L×D features, and get_output_dim(self)',
      },
      {
        path: 'checkpoint.pt',
        kind: 'file',
        what: 'the converted checkpoint (a dict with task_cfg, model_cfg and model_weight); the wrapper is built with ckpt set to its path',
      },
    ],
    note: 'The platform freezes the encoder and fine-tunes a linear head on its pooled frames per task.',
  },
  safety: null,
});

/** What the file of the domain's layout is for; throws for a path the layout does not list (a programming error). */
export function layoutPurpose(domain: Domain, file: string): string {
  const entry = UPLOAD_LAYOUTS[domain]?.files.find((f) => f.path === file);
  if (!entry) throw new Error(`the ${domain} upload layout lists no ${file}`);
  return entry.what;
}
