/**
 * What a metric scores against, and the shape every metric's scorer has, so the registry in
 * metrics.ts can hold them side by side.
 */
import type { MetricOptions } from '../contracts/metricOptions';

export interface ScoreReference {
  ground_truth: string;
  choices?: string[];
}

/** A score in [0, 1] for one model output. Options a metric does not read are ignored. */
export type Scorer = (predict: string, reference: ScoreReference, options: MetricOptions) => number;
