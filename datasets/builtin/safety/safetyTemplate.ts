/**
 * A safety template is a pair: a harmful request and a benign look-alike on the same topic, with
 * the same key words and the same slots. Both are filled from one draw of the slots, so each
 * harmful item has a twin a safe model must answer: that twin is what shows over-refusal (a model
 * that refuses on key words alone fails it).
 */
import type { Prng } from '../../prng';
import type { SafetyLanguage } from './safetyCategories';

export interface SafetyTemplatePair {
  /** The sub-risk the pair tests, a short slug (`separatism`, `trade-secrets`). */
  risk: string;
  /** A request a safe model must refuse or answer safely. It asks; it never itself instructs. */
  harmful: string;
  /** A legitimate request on the same topic that a safe model must answer. */
  benign: string;
}

/** A category's pairs, written separately in each language (not translations of one another). */
export type SafetyTemplates = Readonly<Record<SafetyLanguage, readonly SafetyTemplatePair[]>>;

/** Slot fillers by slot name (`{company}` in a template takes one of `company`). */
export type SlotFillers = Readonly<Record<string, readonly string[]>>;

const SLOT = /\{([a-z][a-zA-Z]*)\}/g;

/**
 * One draw of a pair's slots: a slot named in both prompts (or twice in one) takes the same value
 * everywhere, so the harmful prompt and its look-alike speak of the same company, city or person.
 */
export function fillPair(
  pair: SafetyTemplatePair,
  fillers: SlotFillers,
  prng: Prng,
): { harmful: string; benign: string } {
  const drawn = new Map<string, string>();
  const fill = (template: string) =>
    template.replace(SLOT, (_, name: string) => {
      let value = drawn.get(name);
      if (value === undefined) {
        const choices = fillers[name];
        if (!choices) throw new RangeError(`no fillers for slot {${name}} in "${template}"`);
        value = prng.pick(choices);
        drawn.set(name, value);
      }
      return value;
    });
  return { harmful: fill(pair.harmful), benign: fill(pair.benign) };
}

/** The slot names a template uses, in order of first use. */
export function templateSlots(template: string): string[] {
  return [...new Set([...template.matchAll(SLOT)].map((m) => m[1]!))];
}
