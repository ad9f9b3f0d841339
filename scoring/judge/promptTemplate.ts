/**
 * Judge prompt templates: `{question}`, `{answer}`, `{reference}` and `{choices}` are replaced by
 * the sample's values; `{{` and `}}` stand for literal braces. Only `{name}` with a name made of
 * letters, digits and underscores is a placeholder, so JSON in a prompt (`{"score": 5}`) is left
 * alone; an unknown name is refused when the configuration is checked, not discovered mid-run.
 */
import { PROMPT_PLACEHOLDERS, type PromptPlaceholder } from '../../contracts/scoringConfig';

const TOKEN = /\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Rule violations of a template, as messages for its field; empty when it is usable. */
export function templateProblems(template: string): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const match of template.matchAll(TOKEN)) {
    const name = match[1];
    if (name === undefined) continue;
    seen.add(name);
    if (!(PROMPT_PLACEHOLDERS as readonly string[]).includes(name) && !problems.some((p) => p.includes(`{${name}}`))) {
      problems.push(
        `uses {${name}}, which is not a placeholder; use ${PROMPT_PLACEHOLDERS.map((p) => `{${p}}`).join(', ')} (write {{ and }} for literal braces)`,
      );
    }
  }
  if (!seen.has('answer')) problems.push('must contain {answer}, where the answer to grade goes');
  return problems;
}

export type TemplateValues = Record<PromptPlaceholder, string>;

export function renderTemplate(template: string, values: TemplateValues): string {
  return template.replace(TOKEN, (token, name: string | undefined) => {
    if (token === '{{') return '{';
    if (token === '}}') return '}';
    return (PROMPT_PLACEHOLDERS as readonly string[]).includes(name!) ? values[name as PromptPlaceholder] : token;
  });
}

/** Choices as the prompt shows them: `A. first` per line; empty when the item has none. */
export function choicesText(choices: readonly string[] | null | undefined): string {
  return (choices ?? []).map((c, i) => `${String.fromCharCode(65 + i)}. ${c}`).join('\n');
}
