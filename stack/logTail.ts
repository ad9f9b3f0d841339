import { readFile } from 'node:fs/promises';

/** The last lines of a log file, for error messages that explain why a server did not start. */
export async function logTail(file: string, lines = 30): Promise<string> {
  try {
    const text = await readFile(file, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return `(no log at ${file})`;
  }
}
