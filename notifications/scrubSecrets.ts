/**
 * Mails carry text that came from elsewhere: a dataset's error, a run's stop reason, a reviewer's
 * words. The code that writes those already removes the secrets it knows of; this is the second
 * line of defence, by shape, for anything credential-like that got through.
 */
import { UPLOAD_TOKEN_PREFIX } from '../contracts/upload';

const REDACTED = '[redacted]';

const SHAPES: [RegExp, string][] = [
  // Authorization headers quoted in an error.
  [/\b(Bearer|Basic)(\s+)[^\s"',;]+/gi, `$1$2${REDACTED}`],
  // OpenAI-style model API keys (sk-…, sk-proj-…).
  [/\bsk-[A-Za-z0-9_-]{16,}/g, REDACTED],
  // Proctor API keys (stack/bootstrap.ts) and upload tokens.
  [/\bpk_[A-Za-z0-9_-]{16,}/g, REDACTED],
  [new RegExp(`\\b${UPLOAD_TOKEN_PREFIX}[A-Za-z0-9_-]{16,}`, 'g'), REDACTED],
  // Credentials in a URL: scheme://user:password@host.
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@:]+:[^\s/@]+@/gi, `$1${REDACTED}@`],
  // Keys passed as query parameters.
  [/([?&](?:api[_-]?key|key|token|access_token|password)=)[^&\s"']+/gi, `$1${REDACTED}`],
];

export function scrubSecrets(text: string): string {
  let out = text;
  for (const [shape, replacement] of SHAPES) out = out.replace(shape, replacement);
  return out;
}
