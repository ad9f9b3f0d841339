/**
 * A container job's create options: pure, so the confinement and the GPU request are checked here
 * field by field. A job granted GPUs (a backbone fine-tune on a GPU type, a multimodal run.sh) asks
 * the engine for them as device requests of the type's driver, exactly as a serving container does
 * (containerSpec.test.ts); a CPU type (no driver) or a count of zero asks for none.
 */
import { describe, expect, it } from 'vitest';
import { containerJobSpec, type ContainerJobSpec } from '../../docker/containerJobSpec';
import { servingContainerSpec } from '../../docker/containerSpec';

const JOB: ContainerJobSpec = {
  runId: '5b0e2a9c-7d1f-4e3a-8c2b-1f0e9d8c7b6a',
  jobKey: 'finetune-cv-classification',
  hostId: 'gpu-host-1',
  imageRef: 'proctor/backbone-torch:1',
  command: ['python3', '-m', 'proctor_backbone.cv', '/output/job.json'],
  env: ['PYTHONPATH=/platform', 'HOME=/output'],
  workingDir: '/output',
  inputs: [
    { hostPath: '/srv/proctor/uploads/ev1/v2', containerPath: '/upload' },
    { hostPath: '/srv/proctor/datasets/cv-shapes', containerPath: '/data' },
  ],
  outputDirOnHost: '/srv/proctor/jobs/run1/finetune',
  limits: { cpus: 4, memoryMb: 8192 },
};

describe('containerJobSpec', () => {
  it('confines the job: read-only inputs and root, one writable output, no network, no capabilities, fixed limits', () => {
    expect(containerJobSpec(JOB)).toEqual({
      name: `proctor-job-${JOB.runId}-finetune-cv-classification`,
      Image: 'proctor/backbone-torch:1',
      User: '65534:65534',
      Env: ['PYTHONPATH=/platform', 'HOME=/output'],
      Cmd: ['python3', '-m', 'proctor_backbone.cv', '/output/job.json'],
      Labels: {
        'proctor.run': JOB.runId,
        'proctor.host': 'gpu-host-1',
        'proctor.role': 'job',
        'proctor.job': 'finetune-cv-classification',
      },
      WorkingDir: '/output',
      Tty: false,
      OpenStdin: false,
      AttachStdin: false,
      NetworkDisabled: true,
      HostConfig: {
        Binds: [
          '/srv/proctor/uploads/ev1/v2:/upload:ro',
          '/srv/proctor/datasets/cv-shapes:/data:ro',
          '/srv/proctor/jobs/run1/finetune:/output:rw',
        ],
        NetworkMode: 'none',
        ReadonlyRootfs: true,
        Tmpfs: { '/tmp': 'rw,nosuid,nodev,size=64m' },
        IpcMode: 'private',
        Memory: 8192 * 2 ** 20,
        MemorySwap: 8192 * 2 ** 20,
        NanoCpus: 4_000_000_000,
        PidsLimit: 1024,
        Ulimits: [{ Name: 'core', Soft: 0, Hard: 0 }],
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges'],
        Privileged: false,
        RestartPolicy: { Name: 'no' },
        AutoRemove: false,
        LogConfig: { Type: 'json-file', Config: { 'max-size': '20m', 'max-file': '2' } },
      },
    });
  });

  it("requests GPUs from the type's driver, as a serving container does, only when granted some", () => {
    const gpu = { driver: 'nvidia', count: 2 };
    const job = containerJobSpec({ ...JOB, gpu }).HostConfig!;
    expect(job.DeviceRequests).toEqual([{ Driver: 'nvidia', Count: 2, Capabilities: [['gpu']] }]);
    const serving = servingContainerSpec({
      runId: JOB.runId,
      hostId: JOB.hostId,
      imageRef: 'proctor/nlp-serving:1',
      uploadDirOnHost: '/srv/proctor/uploads/ev1/v2',
      network: 'host',
      port: 41234,
      cpus: 4,
      memoryMb: 8192,
      gpu,
    }).HostConfig!;
    expect(job.DeviceRequests).toEqual(serving.DeviceRequests);
    // The GPUs come only as device requests: no devices, no privilege, the same confinement.
    expect(job).toMatchObject({ Privileged: false, CapDrop: ['ALL'], ReadonlyRootfs: true, NetworkMode: 'none' });
    expect(job.Devices).toBeUndefined();

    expect(
      containerJobSpec({ ...JOB, gpu: { driver: 'nvidia', count: 0 } }).HostConfig!.DeviceRequests,
    ).toBeUndefined();
    expect(containerJobSpec({ ...JOB, gpu: null }).HostConfig!.DeviceRequests).toBeUndefined();
    expect(containerJobSpec(JOB).HostConfig!.DeviceRequests).toBeUndefined();
  });

  it('refuses an input mounted inside the output directory and paths that cannot be mounted', () => {
    expect(() => containerJobSpec({ ...JOB, inputs: [{ hostPath: '/srv/x', containerPath: '/output/x' }] })).toThrow(
      /cannot be mounted inside the output directory/,
    );
    expect(() => containerJobSpec({ ...JOB, outputDirOnHost: 'relative' })).toThrow(/absolute path/);
    expect(() => containerJobSpec({ ...JOB, jobKey: '../x' })).toThrow(/cannot name a container/);
  });
});
