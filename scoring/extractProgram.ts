/**
 * The program in a model's answer to a code-writing prompt. Models answer with a fenced block
 * (often with a sentence before and after), several blocks (an example of use after the
 * solution), or bare code. Rules, the first that applies decides:
 *   1. Fenced blocks (``` or ~~~, any info string): the first one that defines the entry point,
 *      else the first block tagged python/py, else the first block.
 *   2. An unclosed fence (an answer cut off by the token limit): what follows it.
 *   3. No fence: the whole answer.
 * Windows line ends become \n; nothing else is changed, so what runs is what the model wrote.
 */

interface Block {
  info: string;
  code: string;
}

const FENCE = /^ {0,3}(`{3,}|~{3,})[ \t]*([^\n`]*)$/;

export function extractProgram(answer: string, entryPoint?: string): string {
  const text = answer.replace(/\r\n?/g, '\n');
  const lines = text.split('\n');
  const blocks: Block[] = [];
  let open: { fence: string; info: string; body: string[] } | null = null;
  for (const line of lines) {
    if (open) {
      const trimmed = line.trim();
      if (trimmed.startsWith(open.fence[0]!.repeat(open.fence.length)) && /^[`~]+$/.test(trimmed)) {
        blocks.push({ info: open.info, code: open.body.join('\n') });
        open = null;
      } else {
        open.body.push(line);
      }
      continue;
    }
    const start = FENCE.exec(line);
    if (start) open = { fence: start[1]!, info: start[2]!.trim().toLowerCase(), body: [] };
  }
  if (open) blocks.push({ info: open.info, code: open.body.join('\n') });
  if (blocks.length === 0) return ensureNewline(text);
  const name = entryPoint?.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const defines = name ? new RegExp(String.raw`^\s*(?:async\s+)?def\s+${name}\s*\(|^\s*${name}\s*=`, 'm') : null;
  const chosen =
    (defines && blocks.find((b) => defines.test(b.code))) ??
    blocks.find((b) => /^(python3?|py)\b/.test(b.info)) ??
    blocks[0]!;
  return ensureNewline(chosen.code);
}

function ensureNewline(code: string): string {
  return code.endsWith('\n') ? code : `${code}\n`;
}
