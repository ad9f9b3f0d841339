/**
 * Who an endpoint's provider sees: the base URL requests go to and the API key they carry. Two
 * runs with the same base URL and key draw on the same rate limit at the provider, so they share
 * one budget here. The key is known only by its fingerprint, an HMAC under the platform's secret
 * key: stable across processes, useless to anyone who reads the table without that key.
 */
import { createHmac } from 'node:crypto';

export interface EndpointIdentity {
  baseUrl: string;
  keyFingerprint: string;
}

/** The fingerprint of "no key". */
export const NO_KEY = 'none';

/** Scheme and host lower-case (URL does that), default port dropped, no query, no trailing slash. */
export function normaliseBaseUrl(baseUrl: string): string {
  const u = new URL(baseUrl);
  return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`;
}

export function keyFingerprint(secretKey: Buffer, apiKey: string | null | undefined): string {
  if (!apiKey) return NO_KEY;
  return createHmac('sha256', secretKey)
    .update('proctor endpoint budget\u0000')
    .update(apiKey)
    .digest('hex')
    .slice(0, 24);
}

export function endpointIdentity(
  secretKey: Buffer,
  baseUrl: string,
  apiKey: string | null | undefined,
): EndpointIdentity {
  return { baseUrl: normaliseBaseUrl(baseUrl), keyFingerprint: keyFingerprint(secretKey, apiKey) };
}
