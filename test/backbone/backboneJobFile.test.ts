/**
 * What the platform asks of a fine-tune job (docker/backboneJob.ts), without running one: a
 * verification's one epoch on a subset scoring only the drawn test items, a formal run's ten epochs
 * on everything, CUDA where the run has GPUs, and the command and environment the job is run with.
 */
import { describe, expect, it } from 'vitest';
import {
  backboneCommand,
  backboneEnv,
  backboneJobFile,
  FORMAL_EPOCHS,
  generatorCommand,
  jobSeed,
  VERIFICATION_SUBSET,
} from '../../docker/backboneJob';

describe('backboneJobFile', () => {
  it('verifies in one epoch on a subset, scoring only the drawn test items', () => {
    expect(
      backboneJobFile({
        domain: 'cv',
        task: 'segmentation',
        adaptation: 'upernet',
        mode: 'verification',
        seed: 7,
        gpu: false,
        threads: 2,
        batchSizes: { train: 8 },
        testIndices: [5, 17, 3],
      }),
    ).toEqual({
      domain: 'cv',
      task: 'segmentation',
      adaptation: 'upernet',
      mode: 'verification',
      epochs: 1,
      subset: VERIFICATION_SUBSET,
      seed: 7,
      device: 'auto',
      threads: 2,
      trainBatchSize: 8,
      valBatchSize: null,
      learningRate: null,
      inputSize: null,
      testIndices: [5, 17, 3],
      robustness: false,
    });
  });

  it('trains a formal run on everything, on CUDA when the run has GPUs, with robustness when asked', () => {
    const job = backboneJobFile({
      domain: 'audio',
      task: 'speaker_id',
      adaptation: 'linear',
      mode: 'formal',
      seed: 1,
      gpu: true,
      threads: null,
      testIndices: null,
      robustness: true,
    });
    expect(job).toMatchObject({
      epochs: FORMAL_EPOCHS,
      subset: null,
      device: 'cuda',
      testIndices: null,
      robustness: true,
    });
  });
});

describe('the job command', () => {
  it('runs the package from the read-only mount with a writable home and the CPU share as threads', () => {
    expect(backboneCommand('cv')).toEqual(['python3', '-m', 'proctor_backbone.cv', '/output/job.json']);
    expect(generatorCommand('audiodata', 'audio-keywords')).toEqual([
      'python3',
      '-m',
      'proctor_backbone.audiodata',
      '/output',
      'audio-keywords',
    ]);
    expect(backboneEnv(4)).toEqual([
      'PYTHONPATH=/platform',
      'HOME=/output',
      'PYTHONDONTWRITEBYTECODE=1',
      'PYTHONUNBUFFERED=1',
      'OMP_NUM_THREADS=4',
    ]);
    expect(backboneEnv(null)).not.toContain('OMP_NUM_THREADS=4');
  });

  it('seeds a job from its run and dataset: the same again, another for another dataset', () => {
    const a = jobSeed('run-1', 'cv-shapes');
    expect(jobSeed('run-1', 'cv-shapes')).toBe(a);
    expect(jobSeed('run-1', 'cv-shapes-seg')).not.toBe(a);
    expect(a).toBeGreaterThanOrEqual(0);
    expect(a).toBeLessThan(2 ** 31);
  });
});
