/**
 * Every step that turned one sample's answer into its score, kept per sample for judge metrics
 * (and for the exact-match fallback that stands in when no judge is configured), shown with the
 * sample's result, in the Excel report and by the debug call.
 */
export type ScoringStep =
  /** Preprocessing of the answer: the op and what it left. */
  | { step: 'preprocess'; op: string; output: string }
  /** The messages sent to the judge, exactly. */
  | { step: 'prompt'; messages: { role: 'system' | 'user'; content: string }[] }
  /** The judge's reply as received (null when no reply came), and what it took. */
  | { step: 'judge'; model: string; reply: string | null; attempts: number; latencyMs: number; error?: string }
  /** Postprocessing of the reply: the op and its result, or why it failed. */
  | { step: 'postprocess'; op: string; output: string | number | null; error?: string }
  /** A judge metric with no judge configured: scored by exact match instead. */
  | { step: 'fallback'; reason: string; metric: 'exact_match' }
  | { step: 'score'; score: number };

/** `rule`: a rule metric (shown by the debug call; runs keep steps for judge metrics only). */
export type ScoringMethod = 'judge' | 'exact_match_fallback' | 'rule';

export interface ScoringTrace {
  method: ScoringMethod;
  steps: ScoringStep[];
  /** In [0, 1]; null when scoring failed. */
  score: number | null;
  /** Why scoring failed (the judge unreachable, a reply no step could read); null when it did not. */
  error: string | null;
  /** Judge calls made for this sample (0 for the fallback). */
  attempts: number;
}
