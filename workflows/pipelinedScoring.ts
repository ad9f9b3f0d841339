/**
 * The scoring step that follows each inference batch of a judged dataset (judgeBatch on the judge
 * queue) or a pass@k dataset (scoreCodeBatch in the code sandbox on a container host). Scoring
 * batch k overlaps inference of batch k + 1, so the scorer and the model work at once. At most one
 * batch is scored at a time: it is awaited before the next starts, before continue-as-new and
 * before the dataset closes.
 */
import { isCancellation } from '@temporalio/workflow';
import type { JudgeBatchInput } from '../contracts/workflow';
import { failureReason } from './failureReason';

export interface ScoringStep {
  /** What the step does, for the dataset's abort reason ("judging failed: …"). */
  name: string;
  score(range: JudgeBatchInput): Promise<unknown>;
}

export interface PipelinedScoring {
  /** Waits for the batch being scored, then starts scoring `range`. Returns the waited batch's failure. */
  next(range: JudgeBatchInput): Promise<string | null>;
  /**
   * Waits for the batch being scored. Its failure comes back as a reason that ends the dataset; its
   * cancellation (the dataset was stopped) is thrown.
   */
  settle(): Promise<string | null>;
  /** After a stop: the batch in flight is cancelled with it, and its last writes land before the dataset closes. */
  drain(): Promise<void>;
}

/** The pipeline of a dataset whose batches are scored by `step`; a dataset scored inline passes null. */
export function pipelinedScoring(step: ScoringStep | null): PipelinedScoring {
  // The batch in flight, settled to its error (or null) so it never rejects unobserved.
  let inFlight: Promise<unknown> | null = null;

  async function settle(): Promise<string | null> {
    if (!inFlight) return null;
    const error = await inFlight;
    inFlight = null;
    if (error === null) return null;
    if (isCancellation(error)) throw error;
    return `${step!.name} failed: ${failureReason(error)}`;
  }

  return {
    settle,
    async next(range) {
      if (!step) return null;
      const failed = await settle();
      inFlight = step.score(range).then(
        () => null,
        (error: unknown) => error,
      );
      return failed;
    },
    async drain() {
      if (inFlight) await inFlight;
    },
  };
}
