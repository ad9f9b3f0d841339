/**
 * The worker process the fault tests run and kill: the real entry point (workers/main.ts) serving
 * the runs and inference queues, which are all a run over an HTTP endpoint needs. The queues are
 * named so the tests do not depend on which other queues a default worker serves.
 */
import { startWorkerProcess, type WorkerProcess } from '../support/workerProcess';

export function startFaultWorker(env: Record<string, string> = {}): Promise<WorkerProcess> {
  return startWorkerProcess({ PROCTOR_WORKER_QUEUES: 'runs,inference', ...env });
}
