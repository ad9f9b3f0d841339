import { type Static } from '@sinclair/typebox';
import { literalUnion } from './literalUnion';

/** The five evaluation domains of the platform. */
export const DOMAINS = ['nlp', 'cv', 'multimodal', 'audio', 'safety'] as const;
export const Domain = literalUnion(DOMAINS, { description: `one of ${DOMAINS.join(', ')}` });
export type Domain = Static<typeof Domain>;

/**
 * Model-name rules differ by domain (seed: NLP and Audio take 3–32 lowercase letters, digits and
 * hyphens; CV and Multimodal take 3–128 letters, digits, '-', '_' and '.'). Safety follows NLP.
 */
export const MODEL_NAME_RULES: Record<Domain, { pattern: RegExp; rule: string }> = {
  nlp: {
    pattern: /^[a-z][a-z0-9-]{1,30}[a-z0-9]$/,
    rule: 'must be 3–32 characters of lowercase letters, digits and hyphens, start with a lowercase letter and end with a lowercase letter or digit',
  },
  audio: {
    pattern: /^[a-z][a-z0-9-]{1,30}[a-z0-9]$/,
    rule: 'must be 3–32 characters of lowercase letters, digits and hyphens, start with a lowercase letter and end with a lowercase letter or digit',
  },
  safety: {
    pattern: /^[a-z][a-z0-9-]{1,30}[a-z0-9]$/,
    rule: 'must be 3–32 characters of lowercase letters, digits and hyphens, start with a lowercase letter and end with a lowercase letter or digit',
  },
  cv: {
    pattern: /^[A-Za-z][A-Za-z0-9._-]{1,126}[A-Za-z0-9]$/,
    rule: 'must be 3–128 characters of letters, digits, hyphens, underscores and dots, start with a letter and end with a letter or digit',
  },
  multimodal: {
    pattern: /^[A-Za-z][A-Za-z0-9._-]{1,126}[A-Za-z0-9]$/,
    rule: 'must be 3–128 characters of letters, digits, hyphens, underscores and dots, start with a letter and end with a letter or digit',
  },
};

/** Which deployment methods each domain accepts (seed: Safety is API-only; CV and Audio are private-only). */
export const DEPLOYMENT_METHODS_BY_DOMAIN: Record<Domain, readonly ('api' | 'private')[]> = {
  nlp: ['api', 'private'],
  multimodal: ['api', 'private'],
  cv: ['private'],
  audio: ['private'],
  safety: ['api'],
};

/**
 * What a private deployment of each domain speaks (docs/multimodal.md): `func`, a long-lived model
 * server answering POST /func (NLP); `run-script`, a job `bash run.sh TASK IP PORT` that asks the
 * platform's data server for its items and writes its answers as files (Multimodal). Null where
 * the domain has no private deployment the platform can run yet.
 */
export const PRIVATE_PROTOCOL_BY_DOMAIN: Record<Domain, 'func' | 'run-script' | null> = {
  nlp: 'func',
  multimodal: 'run-script',
  cv: null,
  audio: null,
  safety: null,
};
