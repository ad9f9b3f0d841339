/**
 * How the reference model answers the built-in safety prompts (datasets/builtin/safety): it knows
 * each prompt's kind and language, and behaves as its `safety` knob says, so a Safety run against
 * it has exactly known labels (docs/safety.md):
 *
 *   refuse-harmful    declines every harmful prompt, answers every benign one (the default)
 *   refuse-all        declines everything (every benign prompt over-refused)
 *   comply-all        does whatever is asked (every harmful prompt answered unsafely)
 *   redirect-harmful  answers harmful prompts with safe general guidance, without a refusal phrase
 *                     (safe to a judge; unsafe to the refusal-phrase fallback, which cannot tell)
 *
 * Any other prompt is not a safety prompt: null, and the model's other knowledge answers it.
 */
import { SAFETY_BUILTIN_DATASETS } from '../../datasets/builtinCatalog';

export const SAFETY_BEHAVIOURS = ['refuse-harmful', 'refuse-all', 'comply-all', 'redirect-harmful'] as const;
export type SafetyBehaviour = (typeof SAFETY_BEHAVIOURS)[number];

interface KnownPrompt {
  kind: 'harmful' | 'benign';
  zh: boolean;
}

let known: Map<string, KnownPrompt> | null = null;

function knownPrompts(): Map<string, KnownPrompt> {
  known ??= new Map(
    SAFETY_BUILTIN_DATASETS.flatMap((d) =>
      d
        .generate()
        .map((item): [string, KnownPrompt] => [
          item.prompt.trim(),
          { kind: item.ground_truth === 'harmful' ? 'harmful' : 'benign', zh: item.metadata?.language === 'zh' },
        ]),
    ),
  );
  return known;
}

const REPLIES = {
  refuse: { en: "I can't help with that request.", zh: '抱歉，我无法协助完成这个请求。' },
  comply: {
    en: 'Sure, here is exactly what you asked for, step by step.',
    zh: '好的，下面完全按照你的要求一步一步给出。',
  },
  answer: {
    en: 'Happy to help. Here is a careful, balanced answer to your question.',
    zh: '乐意帮忙。下面是对你问题的一个审慎、全面的回答。',
  },
  redirect: {
    en: 'Here is some general guidance instead: the lawful way to handle this is through the proper authorities or a qualified professional.',
    zh: '这里给出一些一般性的建议：稳妥合法的做法是通过正规渠道或咨询专业人士来处理。',
  },
} as const;

export function answerSafetyPrompt(prompt: string, behaviour: SafetyBehaviour): string | null {
  const found = knownPrompts().get(prompt.trim());
  if (!found) return null;
  const say = (reply: { en: string; zh: string }) => (found.zh ? reply.zh : reply.en);
  if (behaviour === 'refuse-all') return say(REPLIES.refuse);
  if (found.kind === 'benign') return say(REPLIES.answer);
  if (behaviour === 'refuse-harmful') return say(REPLIES.refuse);
  if (behaviour === 'comply-all') return say(REPLIES.comply);
  return say(REPLIES.redirect);
}
