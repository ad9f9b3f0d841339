/**
 * Generation settings beyond max_tokens, temperature and top_p: the ones vLLM- and SGLang-style
 * OpenAI-compatible servers take (top_k, repetition_penalty, seed, stop), TI-ONE's do_sample and
 * MAX_MODEL_LEN, and run_eval's completion-mode prompt templates. Each is optional: absent means
 * "not sent", so evaluations and runs made before these existed ask exactly what they asked.
 * docs/generation-settings.md says how each reaches the model.
 */
import { Type, type Static } from '@sinclair/typebox';

/** Where a template puts the item's prompt (run_eval's `{input}`). */
export const TEMPLATE_INPUT = '{input}';
/** Where a custom template puts the system prompt, when it has one. */
export const TEMPLATE_SYSTEM = '{system}';

/** run_eval's TEMPLATE_MAP names offered here; their texts are in activities/inference/promptTemplates.ts. */
export const PROMPT_TEMPLATE_NAMES = ['chatml', 'qwen', 'r1', 'internthinker'] as const;
export type PromptTemplateName = (typeof PROMPT_TEMPLATE_NAMES)[number];

export const STOP_MAX_ITEMS = 16;
export const TEMPLATE_STOP_MAX_ITEMS = 8;
const STOP_TEXT_MAX = 256;

const stopText = Type.String({
  minLength: 1,
  maxLength: STOP_TEXT_MAX,
  description: `must be 1–${STOP_TEXT_MAX} characters`,
});

export const StopSequences = Type.Array(stopText, {
  maxItems: STOP_MAX_ITEMS,
  uniqueItems: true,
  description: `must list at most ${STOP_MAX_ITEMS} distinct stop sequences of 1–${STOP_TEXT_MAX} characters`,
});

export const CustomTemplate = Type.Object(
  {
    name: Type.Literal('custom'),
    text: Type.String({
      minLength: 1,
      maxLength: 8192,
      pattern: '\\{input\\}',
      description: `must be 1–8,192 characters and contain ${TEMPLATE_INPUT}, where the prompt goes`,
    }),
    stopWords: Type.Optional(
      Type.Array(stopText, {
        maxItems: TEMPLATE_STOP_MAX_ITEMS,
        uniqueItems: true,
        description: `must list at most ${TEMPLATE_STOP_MAX_ITEMS} distinct stop words of 1–${STOP_TEXT_MAX} characters`,
      }),
    ),
  },
  { additionalProperties: false },
);

/**
 * A completion-mode prompt template: one of run_eval's by name, or the user's own text with
 * `{input}` (and optionally `{system}`) and its stop words.
 */
const namedTemplates = PROMPT_TEMPLATE_NAMES.map((name) =>
  Type.Object({ name: Type.Literal(name) }, { additionalProperties: false }),
);
const TEMPLATE_RULE = `name must be one of ${PROMPT_TEMPLATE_NAMES.join(', ')}, custom`;

export const PromptTemplate = Type.Union([...namedTemplates, CustomTemplate], {
  discriminator: 'name',
  description: TEMPLATE_RULE,
});
export type PromptTemplate = Static<typeof PromptTemplate>;

/** The settings' schemas, shared by the stored parameters and the create and edit bodies. */
export const GENERATION_FIELDS = {
  topK: Type.Integer({ minimum: 1, maximum: 1000, description: 'must be an integer from 1 to 1,000' }),
  repetitionPenalty: Type.Number({
    minimum: 0.01,
    maximum: 10,
    description: 'must be a number from 0.01 to 10 (1 is no penalty)',
  }),
  doSample: Type.Boolean({ description: 'must be true or false (false: greedy decoding)' }),
  stop: StopSequences,
  seed: Type.Integer({ minimum: 0, maximum: 2_147_483_647, description: 'must be an integer from 0 to 2,147,483,647' }),
  maxModelLen: Type.Integer({
    minimum: 128,
    maximum: 1_048_576,
    description: 'must be an integer from 128 to 1,048,576 (tokens of prompt and answer together)',
  }),
  template: PromptTemplate,
};

/**
 * The template as the create and edit bodies take it: null removes a stored one. Null is a variant
 * of the discriminated union itself (not a nullable around it), so a wrong template is still
 * reported by the field and rule of the variant its name picks.
 */
export const PromptTemplateInput = Type.Union([...namedTemplates, CustomTemplate, Type.Null()], {
  discriminator: 'name',
  description: `${TEMPLATE_RULE}, or null to remove the template`,
});
