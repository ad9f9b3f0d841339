/**
 * A worker process serves the Temporal SDK's metrics for Prometheus where
 * PROCTOR_WORKER_METRICS_ADDRESS says (docs/operations.md), and refuses to start on a malformed
 * address rather than running without the metrics an operator asked for.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/ports';
import { startWorkerProcess, type WorkerProcess } from '../support/workerProcess';

const processes: WorkerProcess[] = [];

afterAll(async () => {
  for (const worker of processes) await worker.kill('SIGTERM');
});

describe('worker metrics', () => {
  it('serves Prometheus metrics of its task queues on the address given', async () => {
    const port = await freePort();
    const worker = await startWorkerProcess({
      PROCTOR_WORKER_QUEUES: 'runs',
      PROCTOR_WORKER_METRICS_ADDRESS: `127.0.0.1:${port}`,
      PROCTOR_SMTP_URL: '',
    });
    processes.push(worker);
    let text = '';
    // The exporter reports once the worker has polled; give it a moment.
    for (let attempt = 0; attempt < 50 && !/temporal_worker_start|temporal_num_pollers/.test(text); attempt++) {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(res.status).toBe(200);
      text = await res.text();
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    if (process.env.PROCTOR_TEST_SHOW_METRICS)
      console.log([...new Set(text.match(/^temporal_[a-z_]+/gm) ?? [])].sort().join('\n'));
    expect(text).toMatch(/temporal_worker_start|temporal_num_pollers/);
    expect(text).toContain('task_queue="proctor-runs"');
    expect(text).toMatch(/^temporal_worker_task_slots_available\{/m);
  });

  it('refuses a malformed address', async () => {
    await expect(startWorkerProcess({ PROCTOR_WORKER_METRICS_ADDRESS: 'localhost' }, 60_000)).rejects.toThrow(
      /PROCTOR_WORKER_METRICS_ADDRESS must be host:port/,
    );
  });
});
