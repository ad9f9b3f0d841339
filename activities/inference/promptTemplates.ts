/**
 * Completion-mode prompt templates: the item's prompt wrapped in a model family's turn markers, as
 * run_eval's TEMPLATE_MAP has them, with the stop words that end the model's turn. A chat endpoint
 * needs none (the server applies the model's own chat template); a completions endpoint sees raw
 * text, so without a template an instruction-tuned model reads the prompt as text to continue.
 *
 * Only `{input}` (and, in a custom template, `{system}`) is replaced, once per occurrence in the
 * template; braces anywhere else, and anything in the prompt itself, stay as they are.
 */
import {
  TEMPLATE_INPUT,
  TEMPLATE_SYSTEM,
  type PromptTemplate,
  type PromptTemplateName,
} from '../../contracts/generation';

interface BuiltinTemplate {
  /** The text before the prompt, given the system prompt (or none). */
  before(system: string | undefined): string;
  /** The text after the prompt: the user turn's end and the opening of the assistant's. */
  after: string;
  stopWords: readonly string[];
}

const IM_STOP = ['<|im_end|>', '<|endoftext|>'] as const;
const imSystem = (system: string) => `<|im_start|>system\n${system}<|im_end|>\n`;
const IM_AFTER = '<|im_end|>\n<|im_start|>assistant\n';

const INTERNTHINKER_SYSTEM =
  'You are an expert reasoner with extensive experience in mathematical and code competitions. You approach problems through systematic thinking and rigorous reasoning. Your response should reflect deep understanding and precise logical thinking, making your solution path and reasoning clear to others. Please put your thinking process within <think>...</think> tags.';

/**
 * A system prompt replaces the template's own (qwen, internthinker), opens a system turn where the
 * template has none (chatml), or follows the begin-of-sentence token (r1, as DeepSeek-R1's chat
 * template places it).
 */
const BUILTIN: Record<PromptTemplateName, BuiltinTemplate> = {
  chatml: {
    before: (system) => `${system ? imSystem(system) : ''}<|im_start|>user\n`,
    after: IM_AFTER,
    stopWords: IM_STOP,
  },
  qwen: {
    before: (system) => `${imSystem(system ?? 'You are a helpful assistant.')}<|im_start|>user\n`,
    after: IM_AFTER,
    stopWords: IM_STOP,
  },
  r1: {
    before: (system) => `<｜begin▁of▁sentence｜>${system ?? ''}<｜User｜>`,
    after: '<｜Assistant｜><think>\n',
    stopWords: ['<｜end▁of▁sentence｜>'],
  },
  internthinker: {
    before: (system) => `${imSystem(system ?? INTERNTHINKER_SYSTEM)}<|im_start|>user\n`,
    after: IM_AFTER,
    stopWords: IM_STOP,
  },
};

export interface TemplatedPrompt {
  text: string;
  stopWords: string[];
}

/** The text a completions endpoint is sent for `prompt`, and the template's stop words. */
export function applyTemplate(
  template: PromptTemplate,
  prompt: string,
  systemPrompt: string | undefined,
): TemplatedPrompt {
  const system = systemPrompt === '' ? undefined : systemPrompt;
  if (template.name === 'custom') {
    const text = template.text
      .split(TEMPLATE_INPUT)
      .map((piece) => piece.split(TEMPLATE_SYSTEM).join(system ?? ''))
      .join(prompt);
    return { text, stopWords: [...(template.stopWords ?? [])] };
  }
  const builtin = BUILTIN[template.name];
  return { text: `${builtin.before(system)}${prompt}${builtin.after}`, stopWords: [...builtin.stopWords] };
}

/** The run's stop sequences and the template's stop words, each once, the run's first. */
export function mergeStops(stop: readonly string[] | undefined, stopWords: readonly string[]): string[] {
  return [...new Set([...(stop ?? []), ...stopWords])];
}
