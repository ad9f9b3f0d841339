/**
 * The domain table (contracts/domain.ts DOMAIN_RULES) applied to an evaluation: what its form must
 * and must not hold, and which actions it has. Create checks the whole evaluation; an edit checks
 * the fields it sends against the evaluation they will make; a launch checks the stored evaluation
 * again (rules change, and evaluations written before a rule existed may break it) and refuses a
 * verification where the domain has none. Every message ends "(rule of domain …)".
 */
import type { FieldError } from '../../contracts/problem';
import { DOMAIN_RULES, type Domain, type ModelType } from '../../contracts/domain';
import { HttpProblem, statusTitle } from '../http/problems';
import type { BackboneInput } from '../../contracts/evaluation';
import type { BackboneTasks } from '../../contracts/backbone';
import { backboneTaskErrors } from './backboneRules';

/** The evaluation as the rules read it: `apiKeySet` is whether a key is (or will be) stored. */
export interface RuledEvaluation {
  domain: Domain;
  deployment: { method: string; onlineModelName?: string };
  apiKeySet: boolean;
  robustness: boolean;
  modelInfo: { type?: ModelType | null };
  /** CV and Audio's evaluation tasks (null or absent: none given). */
  backbone?: BackboneInput | { tasks: BackboneTasks } | null;
}

export type RuledField = 'domain' | 'deployment' | 'robustness' | 'modelInfo' | 'backbone';

const ofDomain = (domain: Domain) => `(rule of domain ${domain})`;

/** Every rule of the table the evaluation breaks; only the fields in `fields` when given (an edit). */
export function domainRuleErrors(e: RuledEvaluation, fields?: ReadonlySet<RuledField>): FieldError[] {
  const rules = DOMAIN_RULES[e.domain];
  const checks = (field: RuledField) => !fields || fields.has(field);
  const suffix = ofDomain(e.domain);
  const errors: FieldError[] = [];
  if (rules.unavailable && checks('domain'))
    errors.push({ field: 'domain', message: `${rules.unavailable} ${suffix}` });

  if (checks('deployment')) {
    const method = e.deployment.method as (typeof rules.deploymentMethods)[number];
    if (!rules.deploymentMethods.includes(method))
      errors.push({
        field: 'deployment.method',
        message: `must be ${rules.deploymentMethods.join(' or ')} ${suffix}`,
      });
    else if (method === 'api') {
      if (rules.apiRequires.includes('onlineModelName') && !e.deployment.onlineModelName)
        errors.push({
          field: 'deployment.onlineModelName',
          message: `is required: an API evaluation names the model its endpoint serves ${suffix}`,
        });
      if (rules.apiRequires.includes('apiKey') && !e.apiKeySet)
        errors.push({
          field: 'deployment.apiKey',
          message: `is required: an API evaluation gives its endpoint's key ${suffix}`,
        });
    }
  }

  if (checks('modelInfo')) {
    const type = e.modelInfo.type ?? null;
    if (rules.modelTypes.length === 0 && type !== null)
      errors.push({ field: 'modelInfo.type', message: `must be left out: the form has no model type ${suffix}` });
    else if (rules.modelTypes.length > 0 && type === null)
      errors.push({ field: 'modelInfo.type', message: `is required: one of ${rules.modelTypes.join(', ')} ${suffix}` });
    else if (type !== null && rules.modelTypes.length > 0 && !rules.modelTypes.includes(type))
      errors.push({ field: 'modelInfo.type', message: `must be ${rules.modelTypes.join(' or ')} ${suffix}` });
  }

  if (checks('robustness') && e.robustness && !rules.robustness)
    errors.push({ field: 'robustness', message: `must be false: the domain evaluates accuracy only ${suffix}` });
  if (checks('backbone')) errors.push(...backboneTaskErrors(e.domain, e.backbone, suffix));
  return errors;
}

/**
 * At launch: a verification where the domain has none is refused, and so is an evaluation that
 * breaks the table as stored (each reason named; editing the evaluation fixes it).
 */
export function refuseLaunchByDomain(e: RuledEvaluation, kind: 'verification' | 'formal'): void {
  if (kind === 'verification' && !DOMAIN_RULES[e.domain].verification)
    throw new HttpProblem(
      409,
      statusTitle(409),
      `domain ${e.domain} has no inference verification: launch a formal run (POST /v1/evaluations/{id}/runs) ${ofDomain(e.domain)}`,
    );
  const errors = domainRuleErrors(e);
  if (errors.length > 0)
    throw new HttpProblem(
      409,
      statusTitle(409),
      `the run cannot be launched: ${errors.map((x) => `${x.field} ${x.message}`).join('; ')}; edit the evaluation (PATCH /v1/evaluations/{id})`,
      errors,
    );
}
