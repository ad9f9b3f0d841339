/**
 * The key that encrypts model API keys at rest: PROCTOR_SECRET_KEY, or one generated on first start
 * and kept in `<dataDir>/secret.key` so stored ciphertexts stay readable across restarts.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

const KEY_BYTES = 32;

function checked(key: string, source: string): string {
  if (Buffer.from(key, 'base64').length !== KEY_BYTES) {
    throw new Error(`${source} must hold ${KEY_BYTES} random bytes in base64`);
  }
  return key;
}

export async function loadSecretKey(options: { dataDir: string; env?: NodeJS.ProcessEnv }): Promise<string> {
  const fromEnv = (options.env ?? process.env).PROCTOR_SECRET_KEY;
  if (fromEnv) return checked(fromEnv, 'PROCTOR_SECRET_KEY');

  const file = path.join(options.dataDir, 'secret.key');
  await mkdir(options.dataDir, { recursive: true });
  try {
    // 'wx': never overwrite a key that encrypted data may already depend on.
    await writeFile(file, `${randomBytes(KEY_BYTES).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return checked((await readFile(file, 'utf8')).trim(), file);
}
