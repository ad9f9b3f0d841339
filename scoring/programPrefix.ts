/**
 * The program a code item runs when the item carries a prefix (metadata.program_prefix: for
 * HumanEval, the problem's prompt, i.e. its imports, helper functions and the function's signature
 * and docstring): the prefix, then the program taken from the answer (extractProgram.ts).
 *
 * An answer that continues the prompt (the function's body, as a completion model writes it)
 * completes the prefix's function: prompt + completion, what HumanEval's own harness runs. An
 * answer that is the whole function (as a chat model writes it) redefines the prefix's stub, which
 * is a valid function with only a docstring, and still finds the imports and helpers the prefix
 * defines, which some tests call (HumanEval/32's `poly`). So both shapes run as they should,
 * without guessing which one the answer is.
 */
export function withProgramPrefix(program: string, prefix: string | null | undefined): string {
  if (!prefix) return program;
  return prefix.endsWith('\n') ? `${prefix}${program}` : `${prefix}\n${program}`;
}
