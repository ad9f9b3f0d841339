/** The serving container's create options: pure, so every field is checked here. */
import { describe, expect, it } from 'vitest';
import { servingContainerSpec, type ServingContainerInput } from '../../docker/containerSpec';

const INPUT: ServingContainerInput = {
  runId: '0d9c6f2e-1b7a-4c1e-9b1e-5a3c2d1e0f9a',
  hostId: 'gpu-host-1',
  imageRef: 'proctor/nlp-serving:1',
  uploadDirOnHost: '/srv/proctor/uploads/ev1/v3',
  network: 'host',
  port: 41234,
  cpus: 2,
  memoryMb: 16_384,
  gpu: null,
};

describe('servingContainerSpec', () => {
  it('confines a host-network container: read-only upload and root, no capabilities, fixed limits', () => {
    expect(servingContainerSpec(INPUT)).toEqual({
      name: 'proctor-run-0d9c6f2e-1b7a-4c1e-9b1e-5a3c2d1e0f9a',
      Image: 'proctor/nlp-serving:1',
      User: '65534:65534',
      Env: ['PORT=41234', 'BIND=127.0.0.1'],
      Labels: { 'proctor.run': INPUT.runId, 'proctor.host': 'gpu-host-1', 'proctor.role': 'model-serving' },
      HostConfig: {
        Binds: ['/srv/proctor/uploads/ev1/v3:/workspace:ro'],
        NanoCpus: 2_000_000_000,
        Memory: 16_384 * 2 ** 20,
        MemorySwap: 16_384 * 2 ** 20,
        PidsLimit: 4096,
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges'],
        Privileged: false,
        ReadonlyRootfs: true,
        Tmpfs: { '/tmp': 'rw,nosuid,nodev,size=64m' },
        RestartPolicy: { Name: 'no' },
        AutoRemove: false,
        LogConfig: { Type: 'json-file', Config: { 'max-size': '20m', 'max-file': '2' } },
        NetworkMode: 'host',
      },
    });
  });

  it('maps a bridge container port to a loopback port the engine picks, and binds every interface inside', () => {
    const spec = servingContainerSpec({ ...INPUT, network: 'bridge', port: 5000 });
    expect(spec.Env).toEqual(['PORT=5000', 'BIND=0.0.0.0']);
    expect(spec.ExposedPorts).toEqual({ '5000/tcp': {} });
    expect(spec.HostConfig).toMatchObject({
      NetworkMode: 'bridge',
      PortBindings: { '5000/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] },
    });
  });

  it('requests GPUs from their driver only when the run was granted some', () => {
    expect(servingContainerSpec({ ...INPUT, gpu: { driver: 'nvidia', count: 4 } }).HostConfig!.DeviceRequests).toEqual([
      { Driver: 'nvidia', Count: 4, Capabilities: [['gpu']] },
    ]);
    expect(
      servingContainerSpec({ ...INPUT, gpu: { driver: 'nvidia', count: 0 } }).HostConfig!.DeviceRequests,
    ).toBeUndefined();
    expect(servingContainerSpec(INPUT).HostConfig!.DeviceRequests).toBeUndefined();
    expect(servingContainerSpec(INPUT).HostConfig!.PortBindings).toBeUndefined();
  });

  it('sizes /tmp as asked and fractional CPUs exactly', () => {
    const spec = servingContainerSpec({ ...INPUT, cpus: 0.5, tmpMb: 512 });
    expect(spec.HostConfig).toMatchObject({ NanoCpus: 500_000_000, Tmpfs: { '/tmp': 'rw,nosuid,nodev,size=512m' } });
  });

  it('refuses a run id that cannot name a container and an upload path that cannot be mounted', () => {
    expect(() => servingContainerSpec({ ...INPUT, runId: '../x' })).toThrow(/cannot name a container/);
    expect(() => servingContainerSpec({ ...INPUT, uploadDirOnHost: 'relative/dir' })).toThrow(/absolute path/);
    expect(() => servingContainerSpec({ ...INPUT, uploadDirOnHost: '/a:/etc' })).toThrow(/without ':'/);
  });
});
