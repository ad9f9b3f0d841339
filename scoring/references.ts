/**
 * The reference texts of one item for the overlap metrics (f1, rouge_l, bleu). A dataset item has
 * one ground_truth string; when a question has several acceptable answers, or a text several
 * reference translations or summaries, the ground_truth is a JSON array of strings:
 *
 *   {"id": "q1", "prompt": "…", "ground_truth": "[\"Denver Broncos\", \"the Broncos\"]"}
 *
 * Keeping this in the string, rather than in metadata, means the item schema, storage and the
 * inference activity carry several references without change. A ground truth is read as an array
 * only when the whole of it (surrounding whitespace aside) parses as a JSON array of at least one
 * string and nothing else; any other text, "[]" or "[1, 2]" included, is one literal reference.
 * exact_match, mc_accuracy and numeric_match never read arrays.
 */
export function referencesOf(groundTruth: string): string[] {
  const text = groundTruth.trim();
  if (!text.startsWith('[') || !text.endsWith(']')) return [groundTruth];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return [groundTruth];
  }
  const isStrings = Array.isArray(parsed) && parsed.length > 0 && parsed.every((r) => typeof r === 'string');
  return isStrings ? (parsed as string[]) : [groundTruth];
}
