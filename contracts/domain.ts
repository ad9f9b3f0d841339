import { type Static } from '@sinclair/typebox';
import { literalUnion } from './literalUnion';

/** The five evaluation domains of the platform. */
export const DOMAINS = ['nlp', 'cv', 'multimodal', 'audio', 'safety'] as const;
export const Domain = literalUnion(DOMAINS, { description: `one of ${DOMAINS.join(', ')}` });
export type Domain = Static<typeof Domain>;

export type ModelType = 'base' | 'sft' | 'backbone';
export const MODEL_TYPES = ['base', 'sft', 'backbone'] as const;

/**
 * Each domain's rules, as the seeds state them (docs/domains.md): the form's fields and the actions
 * the domain has. The API enforces this table at create, edit, verification and launch; every
 * violation names its field and the rule, which ends "(rule of domain …)".
 */
export interface DomainRules {
  /** How the domain's models are reached. `predictions` (uploaded answers, docs/evaluation-modes.md) is listed where the domain's datasets score text. */
  deploymentMethods: readonly ('api' | 'private' | 'predictions')[];
  /** What an API deployment must give besides its endpoint (the seed's "required" online model name and API key). */
  apiRequires: readonly ('onlineModelName' | 'apiKey')[];
  /** The model types the form offers (`modelInfo.type`, required); empty: the domain's form has none, and none may be given. */
  modelTypes: readonly ModelType[];
  /** Whether the domain has the inference-verification action (1–3 random samples before a formal run). */
  verification: boolean;
  /** Whether the domain's evaluation dimension offers robustness besides accuracy. */
  robustness: boolean;
  /** Why the domain's evaluations cannot run on this platform yet, or null; such evaluations are refused when created. */
  unavailable: string | null;
}

const LOWERCASE_NAME = {
  pattern: /^[a-z][a-z0-9-]{1,30}[a-z0-9]$/,
  rule: 'must be 3–32 characters of lowercase letters, digits and hyphens, start with a lowercase letter and end with a lowercase letter or digit',
};
const MIXED_CASE_NAME = {
  pattern: /^[A-Za-z][A-Za-z0-9._-]{1,126}[A-Za-z0-9]$/,
  rule: 'must be 3–128 characters of letters, digits, hyphens, underscores and dots, start with a letter and end with a letter or digit',
};

/**
 * Model-name rules differ by domain (seed: NLP and Audio take 3–32 lowercase letters, digits and
 * hyphens; CV and Multimodal take 3–128 letters, digits, '-', '_' and '.'). Safety follows NLP.
 */
export const MODEL_NAME_RULES: Record<Domain, { pattern: RegExp; rule: string }> = {
  nlp: LOWERCASE_NAME,
  audio: LOWERCASE_NAME,
  safety: LOWERCASE_NAME,
  cv: MIXED_CASE_NAME,
  multimodal: MIXED_CASE_NAME,
};

export const DOMAIN_RULES: Readonly<Record<Domain, DomainRules>> = Object.freeze({
  // English guide, "NLP": API (endpoint required; online model name and key optional) or private; robustness optional; base or SFT.
  nlp: {
    deploymentMethods: ['api', 'private', 'predictions'],
    apiRequires: [],
    modelTypes: ['base', 'sft'],
    verification: true,
    robustness: true,
    unavailable: null,
  },
  // English guide, "Multimodal": the API form's table makes the online model name and key required.
  multimodal: {
    deploymentMethods: ['api', 'private', 'predictions'],
    apiRequires: ['onlineModelName', 'apiKey'],
    modelTypes: ['base', 'sft'],
    verification: true,
    robustness: true,
    unavailable: null,
  },
  // English guide, "CV": private backbone only, robustness optional, model type Backbone.
  cv: {
    deploymentMethods: ['private'],
    apiRequires: [],
    modelTypes: ['backbone'],
    verification: true,
    robustness: true,
    unavailable: null,
  },
  // English guide, "Audio": private backbone, accuracy only, no model type, no verification action.
  audio: {
    deploymentMethods: ['private'],
    apiRequires: [],
    modelTypes: [],
    verification: false,
    robustness: false,
    unavailable: null,
  },
  // Chinese guide, "Safety领域模型评测": API only, accuracy only, no verification, online model name and key required.
  safety: {
    deploymentMethods: ['api'],
    apiRequires: ['onlineModelName', 'apiKey'],
    modelTypes: [],
    verification: false,
    robustness: false,
    unavailable: null,
  },
});

/** Which deployment methods each domain's form offers (predictions aside). */
const formMethods = (d: Domain) =>
  DOMAIN_RULES[d].deploymentMethods.filter((m): m is 'api' | 'private' => m !== 'predictions');
export const DEPLOYMENT_METHODS_BY_DOMAIN: Record<Domain, readonly ('api' | 'private')[]> = {
  nlp: formMethods('nlp'),
  cv: formMethods('cv'),
  multimodal: formMethods('multimodal'),
  audio: formMethods('audio'),
  safety: formMethods('safety'),
};

/**
 * What a private deployment of each domain speaks (docs/multimodal.md, docs/backbones.md): `func`, a
 * long-lived model server answering POST /func (NLP); `run-script`, a job `bash run.sh TASK IP PORT`
 * that asks the platform's data server for its items and writes its answers as files (Multimodal);
 * `finetune`, a job of the platform's own Python that loads the uploaded backbone, freezes it and
 * fine-tunes a preset head per task and dataset (CV, Audio). Null where the domain has no private
 * deployment.
 */
export const PRIVATE_PROTOCOL_BY_DOMAIN: Record<Domain, 'func' | 'run-script' | 'finetune' | null> = {
  nlp: 'func',
  multimodal: 'run-script',
  cv: 'finetune',
  audio: 'finetune',
  safety: null,
};
