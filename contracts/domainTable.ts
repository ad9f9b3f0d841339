/**
 * The domain table as GET /v1/domains serves it: every rule of contracts/domain.ts, the upload
 * layout of contracts/uploadLayout.ts and the backbone tasks of contracts/backbone.ts, in one
 * view, so clients (the console among them) build each domain's form without a copy of the rules.
 * Built from those tables, never written out again.
 */
import { Type, type Static } from '@sinclair/typebox';
import { literalUnion } from './literalUnion';
import {
  DOMAIN_RULES,
  DOMAINS,
  Domain,
  MODEL_NAME_RULES,
  MODEL_TYPES,
  PRIVATE_PROTOCOL_BY_DOMAIN,
  type Domain as DomainName,
} from './domain';
import { ADAPTATIONS, ADAPTATIONS_BY_TASK, BACKBONE_TASKS, METRIC_BY_TASK, TASKS_BY_DOMAIN } from './backbone';
import { BACKBONE_METRICS } from './dataset';
import { UPLOAD_LAYOUTS, UploadLayout } from './uploadLayout';
import { nullable } from './common';

export const DOMAIN_LABELS: Readonly<Record<DomainName, string>> = Object.freeze({
  nlp: 'NLP',
  cv: 'CV',
  multimodal: 'Multimodal',
  audio: 'Audio',
  safety: 'Safety',
});

export const DomainTaskView = Type.Object({
  task: literalUnion(BACKBONE_TASKS),
  adaptations: Type.Array(literalUnion(ADAPTATIONS), { description: 'the methods the task offers, the default first' }),
  metric: literalUnion(BACKBONE_METRICS, { description: "the headline metric of the task's datasets" }),
});

export const DomainView = Type.Object({
  domain: Domain,
  label: Type.String(),
  deploymentMethods: Type.Array(literalUnion(['api', 'private', 'predictions'])),
  apiRequires: Type.Array(literalUnion(['onlineModelName', 'apiKey']), {
    description: 'what an API deployment must give besides its endpoint',
  }),
  modelTypes: Type.Array(literalUnion(MODEL_TYPES), {
    description: 'the model types the form offers; empty: none may be given',
  }),
  verification: Type.Boolean({ description: 'whether the domain has inference verification' }),
  robustness: Type.Boolean({ description: 'whether robustness may be evaluated besides accuracy' }),
  unavailable: nullable(Type.String(), { description: "why the domain's evaluations are refused, or null" }),
  modelName: Type.Object({
    pattern: Type.String({ description: 'the regular expression a model name must match (its source)' }),
    rule: Type.String({ description: 'the rule in words, as a 400 says it' }),
  }),
  privateProtocol: nullable(literalUnion(['func', 'run-script', 'finetune']), {
    description:
      'what a private deployment speaks: func (a model server answering POST /func), run-script (bash run.sh TASK IP PORT), finetune (the platform fine-tunes heads on the uploaded backbone); null: no private deployment',
  }),
  upload: nullable(UploadLayout, { description: "what a private deployment's upload holds; null: no uploads" }),
  tasks: Type.Array(DomainTaskView, {
    description: 'CV and Audio: the evaluation tasks (backbone.tasks) with their adaptation methods; empty elsewhere',
  }),
});
export type DomainView = Static<typeof DomainView>;

export const DomainTable = Type.Object({ items: Type.Array(DomainView, { description: 'one per domain' }) });
export type DomainTable = Static<typeof DomainTable>;

export function domainTable(): DomainTable {
  return {
    items: DOMAINS.map((domain) => {
      const rules = DOMAIN_RULES[domain];
      const tasks = domain === 'cv' || domain === 'audio' ? TASKS_BY_DOMAIN[domain] : [];
      return {
        domain,
        label: DOMAIN_LABELS[domain],
        deploymentMethods: [...rules.deploymentMethods],
        apiRequires: [...rules.apiRequires],
        modelTypes: [...rules.modelTypes],
        verification: rules.verification,
        robustness: rules.robustness,
        unavailable: rules.unavailable,
        modelName: { pattern: MODEL_NAME_RULES[domain].pattern.source, rule: MODEL_NAME_RULES[domain].rule },
        privateProtocol: PRIVATE_PROTOCOL_BY_DOMAIN[domain],
        upload: UPLOAD_LAYOUTS[domain],
        tasks: tasks.map((task) => ({
          task,
          adaptations: [...ADAPTATIONS_BY_TASK[task]],
          metric: METRIC_BY_TASK[task],
        })),
      };
    }),
  };
}
