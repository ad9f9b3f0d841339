/**
 * The `metrics.json` a custom evaluation image writes (seed: TI-ONE custom evaluation), checked
 * before anything of it is stored: `{"metrics": [{"name": "accuracy", "value": 0.85}, …]}` with
 * 1–64 entries, names of 1–64 characters each used once, values finite numbers. What is wrong is
 * said together with what was expected, since the image's author reads it in the run's error.
 */
import { describeJsonValue } from './jsonValue';
export const METRICS_FILE = 'metrics.json';
export const MAX_METRICS_FILE_BYTES = 2 ** 20;
export const MAX_CUSTOM_METRICS = 64;
const MAX_NAME = 64;

export const EXPECTED_METRICS =
  'expected {"metrics": [{"name": "accuracy", "value": 0.85}, …]}: 1–64 entries, each a unique name of 1–64 characters and a finite number';

export interface CustomMetric {
  name: string;
  value: number;
}

export type CustomMetricsParse =
  { ok: true; metrics: CustomMetric[]; primary: CustomMetric } | { ok: false; problem: string };

/** `primaryMetric`: the entry that is the dataset's score; the first one when not named. */
export function parseCustomMetrics(value: unknown, primaryMetric?: string): CustomMetricsParse {
  const refuse = (problem: string): CustomMetricsParse => ({ ok: false, problem: `${problem}; ${EXPECTED_METRICS}` });
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return refuse(`${METRICS_FILE} is ${describeJsonValue(value)}, not an object`);
  const list = (value as { metrics?: unknown }).metrics;
  if (!Array.isArray(list))
    return refuse(
      `${METRICS_FILE} has ${list === undefined ? 'no "metrics"' : `"metrics" as ${describeJsonValue(list)}`}`,
    );
  if (list.length === 0) return refuse(`${METRICS_FILE} lists no metrics`);
  if (list.length > MAX_CUSTOM_METRICS) return refuse(`${METRICS_FILE} lists ${list.length} metrics`);
  const metrics: CustomMetric[] = [];
  const seen = new Set<string>();
  for (const [i, entry] of list.entries()) {
    const at = `metrics[${i}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
      return refuse(`${at} is ${describeJsonValue(entry)}, not an object`);
    const { name, value: v } = entry as { name?: unknown; value?: unknown };
    // Characters as the schema counts primaryMetric's: code points, so a name it accepts can be found here.
    const length = typeof name === 'string' ? [...name].length : 0;
    if (typeof name !== 'string' || length === 0 || length > MAX_NAME)
      return refuse(
        `${at}.name is ${typeof name === 'string' ? `${length} characters long` : describeJsonValue(name)}`,
      );
    if (seen.has(name)) return refuse(`${at}.name "${name}" is listed twice`);
    seen.add(name);
    if (typeof v !== 'number' || !Number.isFinite(v))
      return refuse(
        `${at}.value (${name}) is ${typeof v === 'number' ? String(v) : describeJsonValue(v)}, not a finite number`,
      );
    metrics.push({ name, value: v });
  }
  const primary = primaryMetric === undefined ? metrics[0]! : metrics.find((m) => m.name === primaryMetric);
  if (!primary)
    return {
      ok: false,
      problem: `${METRICS_FILE} has no entry named "${primaryMetric}", the evaluation's primaryMetric (it lists ${metrics.map((m) => m.name).join(', ')})`,
    };
  return { ok: true, metrics, primary };
}
