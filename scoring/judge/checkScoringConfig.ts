/**
 * Rules of a scoring configuration beyond its schema, each as a field error naming the path:
 * prompt placeholders, patterns that compile and cannot backtrack without end, settings given to a
 * metric that does not read them, datasets the evaluation does not have, and pass_at_k and safety
 * only where they belong: code datasets are scored by running their programs, safety datasets by
 * their rubric, and nothing else is.
 */
import type { FieldError } from '../../contracts/problem';
import {
  CUSTOM_ENV_NAME,
  MAX_CUSTOM_PARAMETERS_BYTES,
  RESERVED_ENV_PREFIXES,
  type MetricConfig,
  type ScoringConfig,
} from '../../contracts/scoringConfig';
import { templateProblems } from './promptTemplate';
import { SAFETY_METRIC } from '../../contracts/dataset';
import { SAFETY_RUBRIC_VERSION } from '../safety/safetyRubric';
import { patternProblems } from './processingSteps';

const JUDGE_ONLY = ['judge', 'systemPrompt', 'prompt', 'preprocess', 'postprocess'] as const;
const OPTION_METRIC: Record<string, string> = {
  absoluteTolerance: 'numeric_match',
  relativeTolerance: 'numeric_match',
  n: 'pass_at_k',
  ks: 'pass_at_k',
};

/** How a dataset id reads inside a field path; the API passes its own rule for keys that are not plain names. */
export type KeyPath = (parent: string, key: string) => string;
const plainKeyPath: KeyPath = (parent, key) => `${parent}.${key}`;

/**
 * `codeDatasets`: those of the evaluation's datasets whose own metric is pass_at_k.
 */
export function checkScoringConfig(
  config: ScoringConfig,
  evaluationDatasets: readonly string[],
  keyPath: KeyPath = plainKeyPath,
  codeDatasets: ReadonlySet<string> = new Set(),
  /** Those whose own metric is safety: labelled under the safety rubric, whose judge an entry may name. */
  safetyDatasets: ReadonlySet<string> = new Set(),
): FieldError[] {
  const errors: FieldError[] = [];
  if (config.default?.metric === 'pass_at_k') {
    errors.push({
      field: 'default.metric',
      message: 'must not be pass_at_k: it scores programs, so it is set per code dataset, not as the default',
    });
  }
  const others = evaluationDatasets.filter((id) => !safetyDatasets.has(id));
  if (config.default?.metric === SAFETY_METRIC && others.length > 0) {
    errors.push({
      field: 'default.metric',
      message: `must not be safety while the evaluation has datasets that are not safety datasets (${others.join(', ')}); set it per safety dataset`,
    });
  }
  if (config.default) errors.push(...checkMetric(config.default, 'default'));
  for (const [datasetId, entry] of Object.entries(config.datasets ?? {})) {
    const path = keyPath('datasets', datasetId);
    if (!evaluationDatasets.includes(datasetId)) {
      errors.push({ field: path, message: `must name a dataset of the evaluation (${evaluationDatasets.join(', ')})` });
      continue;
    }
    const isCode = codeDatasets.has(datasetId);
    if (isCode && entry.metric !== 'pass_at_k') {
      errors.push({
        field: `${path}.metric`,
        message: 'must be pass_at_k: a code dataset is scored by running its programs against its tests',
      });
    } else if (!isCode && entry.metric === 'pass_at_k') {
      errors.push({
        field: `${path}.metric`,
        message:
          'must not be pass_at_k: only code datasets (whose own metric is pass_at_k) are scored by running programs',
      });
    }
    const isSafety = safetyDatasets.has(datasetId);
    if (isSafety && entry.metric !== SAFETY_METRIC) {
      errors.push({
        field: `${path}.metric`,
        message:
          'must be safety: a safety dataset is labelled under the safety rubric (give judge to name the judge it is put to)',
      });
    } else if (!isSafety && entry.metric === SAFETY_METRIC) {
      errors.push({
        field: `${path}.metric`,
        message:
          'must not be safety: only safety datasets (whose own metric is safety) are labelled under the safety rubric',
      });
    }
    errors.push(...checkMetric(entry, path));
  }
  if (config.customImage) errors.push(...checkCustomImage(config, keyPath));
  return errors;
}

/** A custom image scores every dataset itself; what it is given must be its own and bounded. */
function checkCustomImage(config: ScoringConfig, keyPath: KeyPath): FieldError[] {
  const errors: FieldError[] = [];
  const custom = config.customImage!;
  for (const key of ['default', 'datasets'] as const) {
    if (config[key] !== undefined)
      errors.push({
        field: key,
        message:
          'cannot be set with customImage: the custom image evaluates every dataset itself and reports its own metrics',
      });
  }
  for (const name of Object.keys(custom.env ?? {})) {
    const field = `customImage.${keyPath('env', name)}`;
    if (!CUSTOM_ENV_NAME.test(name))
      errors.push({ field, message: 'must be named with capital letters, digits and _, not starting with a digit' });
    else if (RESERVED_ENV_PREFIXES.some((prefix) => name.startsWith(prefix)))
      errors.push({
        field,
        message: `must not start with ${RESERVED_ENV_PREFIXES.join(' or ')}: the platform sets those variables`,
      });
  }
  if (custom.parameters !== undefined) {
    const bytes = Buffer.byteLength(JSON.stringify(custom.parameters));
    if (bytes > MAX_CUSTOM_PARAMETERS_BYTES)
      errors.push({
        field: 'customImage.parameters',
        message: `must be at most ${MAX_CUSTOM_PARAMETERS_BYTES / 1024} KiB as JSON (is ${bytes.toLocaleString('en-US')} bytes)`,
      });
  }
  return errors;
}

function checkMetric(entry: MetricConfig, path: string): FieldError[] {
  const errors: FieldError[] = [];
  if (entry.metric === SAFETY_METRIC) {
    for (const key of JUDGE_ONLY) {
      if (key !== 'judge' && entry[key] !== undefined)
        errors.push({
          field: `${path}.${key}`,
          message: `is not read by metric safety: its judge is asked under the fixed, versioned rubric ${SAFETY_RUBRIC_VERSION} (docs/safety.md)`,
        });
    }
  } else if (entry.metric !== 'judge') {
    for (const key of JUDGE_ONLY) {
      if (entry[key] !== undefined)
        errors.push({ field: `${path}.${key}`, message: `is only read by metric judge, not ${entry.metric}` });
    }
  }
  for (const key of Object.keys(entry.options ?? {})) {
    const reader = OPTION_METRIC[key];
    if (reader && reader !== entry.metric)
      errors.push({
        field: `${path}.options.${key}`,
        message: `is only read by metric ${reader}, not ${entry.metric}`,
      });
  }
  const n = entry.options?.n ?? 1;
  (entry.options?.ks ?? []).forEach((k, i) => {
    if (k > n)
      errors.push({
        field: `${path}.options.ks[${i}]`,
        message: `must be at most options.n (${n}): pass@k needs at least k completions per problem`,
      });
  });
  if (entry.prompt !== undefined) {
    const problem = templateProblems(entry.prompt)[0];
    if (problem) errors.push({ field: `${path}.prompt`, message: problem });
  }
  const steps = [
    ...(entry.preprocess ?? []).map((step, i) => ({ step, at: `${path}.preprocess[${i}]` })),
    ...(entry.postprocess ?? []).map((step, i) => ({ step, at: `${path}.postprocess[${i}]` })),
  ];
  for (const { step, at } of steps) {
    if (typeof step !== 'object') continue;
    if ('regexExtract' in step) {
      const problem = patternProblems(step.regexExtract.pattern, step.regexExtract.flags);
      if (problem) errors.push({ field: `${at}.regexExtract.pattern`, message: problem });
    }
    if ('scale' in step && step.scale.min === step.scale.max)
      errors.push({ field: `${at}.scale.max`, message: 'must differ from scale.min' });
    if ('mapLabels' in step) {
      const labels = Object.keys(step.mapLabels);
      if (labels.length > 64)
        errors.push({
          field: `${at}.mapLabels`,
          message: 'must map 1–64 labels (matched trimmed and case-insensitively) to numbers',
        });
      const bad = labels.find((l) => l.trim() === '' || [...l].length > 128);
      if (bad !== undefined)
        errors.push({
          field: `${at}.mapLabels`,
          message: `must have labels of 1–128 characters that are not blank; ${JSON.stringify(bad.slice(0, 130))} is not`,
        });
    }
  }
  return errors;
}
