import { createHash } from 'node:crypto';

/** API keys are stored only as this hash (SHA-256, hex); the API hashes a presented key the same way. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}
