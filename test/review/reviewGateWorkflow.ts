/**
 * The manual-review gate alone, as the run's workflow drives it (planned as the run begins, waited
 * for after inference, closed before the run closes), for the time-skipping tests: the run's other
 * steps would only add activities to stub.
 */
import { planManualReviewGate } from '../../workflows/manualReview';

export async function reviewGateAlone(runId: string): Promise<'no review' | 'closed'> {
  const gate = await planManualReviewGate(runId);
  if (!gate) return 'no review';
  await gate.wait();
  await gate.close();
  return 'closed';
}
