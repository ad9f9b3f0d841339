import { describe, expect, it } from 'vitest';
import { resumePositions } from '../../workflows/datasetProgress';

const base = { runId: 'r', datasetId: 'd', batching: { samplesPerBatch: 10, batchesPerExecution: 2 } };

describe('where a dataset execution picks up', () => {
  it('starts both passes at the beginning', () => {
    expect(resumePositions(base, 100)).toEqual({ clean: 0, perturbed: 0 });
  });

  it('resumes the clean pass where the last execution left it', () => {
    expect(resumePositions({ ...base, nextPosition: 40 }, 100)).toEqual({ clean: 40, perturbed: 0 });
    expect(resumePositions({ ...base, nextPosition: 100 }, 100)).toEqual({ clean: 100, perturbed: 0 });
  });

  it('resumes the robustness pass from its own field', () => {
    expect(resumePositions({ ...base, nextPosition: 100, robustnessPosition: 30 }, 100)).toEqual({
      clean: 100,
      perturbed: 30,
    });
  });

  it('reads the robustness pass’s progress that older executions carried past the end (total + k)', () => {
    expect(resumePositions({ ...base, nextPosition: 130 }, 100)).toEqual({ clean: 100, perturbed: 30 });
  });
});
