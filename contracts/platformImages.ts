/**
 * The images the platform preloads (seed: "Preloaded Images … include all necessary evaluation
 * dependencies, which users can use directly"). Start-up stores them in the images table, approved
 * and owned by no one; the image itself is built on each container host under `runRef`.
 */
import type { Domain } from './domain';

export interface PlatformImage {
  name: string;
  tag: string;
  domains: Domain[];
  framework: string;
  hardware: string;
  description: string;
  /** For a preloaded image: how the platform builds it, shown where user images show their pull URL. */
  url: string;
  /** The reference the Docker engine runs; the image builder tags its result with exactly this. */
  runRef: string;
}

/** The flageval-serving compatible NLP model service image, built locally by docker/servingImage.ts. */
export const NLP_SERVING_IMAGE_REF = 'proctor/nlp-serving:1';
/** The image multimodal private deployments run `bash run.sh …` in, built locally by docker/multimodalRuntimeImage.ts. */
export const MULTIMODAL_RUNTIME_IMAGE_REF = 'proctor/multimodal-runtime:1';
/** The image CV and Audio backbone fine-tuning jobs run in, built locally by docker/backboneImage.ts. */
export const BACKBONE_TORCH_IMAGE_REF = 'proctor/backbone-torch:1';
/** The example custom evaluation image, built locally by docker/evalExampleImage.ts. */
export const EVAL_EXAMPLE_IMAGE_REF = 'proctor/eval-example:1';

export const PLATFORM_IMAGES: readonly PlatformImage[] = [
  {
    name: 'proctor-nlp-serving',
    tag: '1',
    domains: ['nlp'],
    framework: "the host's Python 3, standard library only (flageval-serving compatible NLPModelService)",
    hardware: 'CPU',
    description:
      'Serves an uploaded NLP model directory (service.py defining Service(NLPModelService), meta.json, model/) with the ' +
      'flageval-serving protocol: POST /func answered with completions. For models whose service runs on the CPU.',
    url: 'built locally by docker/servingImage.ts',
    runRef: NLP_SERVING_IMAGE_REF,
  },
  {
    name: 'proctor-multimodal-runtime',
    tag: '1',
    domains: ['multimodal'],
    framework: "the host's Python 3 (standard library only) with bash, /bin/sh and common coreutils",
    hardware: 'CPU',
    description:
      'Runs a multimodal upload (checkpoint.pth and run.sh) as `bash run.sh TASK SERVER_IP SERVER_PORT` against the ' +
      "platform's data server, once per dataset; the upload is at /workspace, the pictures at /data/images and the " +
      'outputs go to /output. For models whose code needs nothing beyond the standard library. See docs/multimodal.md.',
    url: 'built locally by docker/multimodalRuntimeImage.ts',
    runRef: MULTIMODAL_RUNTIME_IMAGE_REF,
  },
  {
    name: 'proctor-eval-example',
    tag: '1',
    domains: ['nlp', 'multimodal', 'safety'],
    framework: "the host's Python 3, standard library only (OpenAI chat-completions client)",
    hardware: 'CPU',
    description:
      'Example custom evaluation image: asks the model under evaluation each item of the mounted dataset (or, with ' +
      'none mounted, 20 built-in arithmetic questions) through EVAL_INFERENCE_URL, scores exact or numeric match and ' +
      'writes metrics.json with accuracy, answered and items. EVAL_PARAMETERS: limit, concurrency, maxTokens, ' +
      'temperature, model. See docs/custom-evaluation-images.md.',
    url: 'built locally by docker/evalExampleImage.ts',
    runRef: EVAL_EXAMPLE_IMAGE_REF,
  },
  {
    name: 'proctor-backbone-torch',
    tag: '1',
    domains: ['cv', 'audio'],
    framework: 'Debian bookworm Python 3.11 with PyTorch 1.13.1 (CPU, OpenBLAS) and NumPy, espeak-ng',
    hardware: 'CPU',
    description:
      "Runs the platform's backbone fine-tuning jobs: a CV backbone (meta.json, model_adapter.py, model/checkpoint.pth) " +
      'or an Audio one (model.py, convert.py, ModelWrapper.py, checkpoint.pt) is loaded frozen and a small head is ' +
      "trained on a built-in dataset. A Debian root file system from Debian's own packages (no CUDA libraries), " +
      "with the platform's fine-tuning code mounted at /platform. See docs/backbones.md.",
    url: 'built locally by docker/backboneImage.ts (debootstrap from the Debian mirror)',
    runRef: BACKBONE_TORCH_IMAGE_REF,
  },
];
