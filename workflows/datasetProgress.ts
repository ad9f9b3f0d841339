import type { DatasetWorkflowInput } from '../contracts/workflow';

/**
 * Where an execution of a dataset's workflow picks up each pass: the clean pass at `clean`, the
 * robustness pass at `perturbed`. Executions continued as new before the input had
 * `robustnessPosition` carried the robustness pass's progress past the clean pass's end, as
 * `nextPosition = total + k`; those are read as they were written.
 */
export function resumePositions(input: DatasetWorkflowInput, total: number): { clean: number; perturbed: number } {
  const next = input.nextPosition ?? 0;
  if (input.robustnessPosition !== undefined) return { clean: next, perturbed: input.robustnessPosition };
  if (next > total) return { clean: total, perturbed: next - total };
  return { clean: next, perturbed: 0 };
}
