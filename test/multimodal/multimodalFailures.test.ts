/**
 * Multimodal private deployments that misbehave, through HTTP on real workers and the real Docker
 * engine. Each verification run has the three built-in datasets, and its run.sh misbehaves in a
 * different way per task; every broken dataset fails with a reason that names what went wrong
 * (its items failed with it), the others go on, and no container outlives the run. The job's wall
 * clock is 8 s here, so a run.sh that hangs is killed quickly.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { connectDocker } from '../../docker/engine';
import { ensureImage } from '../../docker/ensureImage';
import { LABEL_RUN } from '../../docker/containerSpec';
import { MULTIMODAL_RUNTIME_IMAGE_REF } from '../../contracts/platformImages';
import { MM_SHAPES_VQA_ID } from '../../datasets/builtin/multimodal/mmShapesVqa';
import { MM_SHAPES_RETRIEVAL_ID } from '../../datasets/builtin/multimodal/mmShapesRetrieval';
import { MM_SHAPES_T2I_ID } from '../../datasets/builtin/multimodal/mmShapesT2i';
import type { RunView } from '../../contracts/run';
import { requireEnv } from '../support/env';
import { useServingSettings, waitForRunEnd } from '../support/privateModel';
import { createMultimodalModel } from '../support/multimodalModel';
import { useTestStack } from '../support/testStack';
import { runLogMessages } from '../support/customImageEvaluations';

const HOST_ID = `mm-faults-host-${process.pid}`;
useServingSettings({ hostId: HOST_ID });
process.env.PROCTOR_MULTIMODAL_JOB_TIMEOUT_SECONDS = '8';
const docker = connectDocker(requireEnv('DOCKER_HOST'));
beforeAll(async () => {
  await ensureImage(docker, MULTIMODAL_RUNTIME_IMAGE_REF);
}, 300_000);
const stack = useTestStack({ api: true, workers: ['runs', 'inference', 'containers'] });

const ALL = [MM_SHAPES_VQA_ID, MM_SHAPES_RETRIEVAL_ID, MM_SHAPES_T2I_ID];

/** A run.sh whose behaviour per task is a few lines of Python (argv: task, ip, port; OUT: the output dir). */
function runShWith(python: string): Record<string, string> {
  return {
    runSh: ['set -e', 'cd "$(dirname "$0")"', 'python3 behave.py "$@"', ''].join('\n'),
    behave: [
      'import json, os, sys, time, urllib.request',
      'task, ip, port = sys.argv[1], sys.argv[2], sys.argv[3]',
      'def get(p): return json.load(urllib.request.urlopen("http://%s:%s%s" % (ip, port, p)))',
      'OUT = get("/io_info")["output_dir"]',
      'meta = get("/meta_info")',
      python,
    ].join('\n'),
  };
}

async function verify(key: string, behaviour: string): Promise<RunView> {
  const { runSh, behave } = runShWith(behaviour);
  const { evaluationId } = await createMultimodalModel(stack.api, key, {
    datasets: ALL,
    runSh,
    files: { 'behave.py': behave! },
  });
  const res = await stack.api.request('POST', `/v1/evaluations/${evaluationId}/verifications`, {
    key,
    body: { samplesPerDataset: 2 },
  });
  expect(res.status, res.text).toBe(202);
  const run = await waitForRunEnd(stack.api, key, res.body.runId as string, 240_000);
  const left = await docker.listContainers({ all: true, filters: { label: [`${LABEL_RUN}=${run.runId}`] } });
  expect(left).toEqual([]);
  return run;
}

function dataset(run: RunView, id: string) {
  return run.datasets.find((d) => d.dataset === id)!;
}

describe('a multimodal run.sh that misbehaves', () => {
  it('garbage JSON, a mis-shaped matrix, a non-zero exit: each fails its dataset with the reason', async () => {
    const { apiKey: key } = await stack.api.createUser();
    const run = await verify(
      key,
      [
        'get("/get_data?index=0" + ("&type=text" if task == "retrieval" else ""))',
        'if task == "vqa": open(os.path.join(OUT, meta["name"] + ".json"), "w").write("{not json")',
        'if task == "retrieval":',
        "    header = \"{'descr': '<f4', 'fortran_order': False, 'shape': (3, 1), }\"",
        '    header += " " * (63 - len(header) % 64) + "\\n"',
        '    open(os.path.join(OUT, meta["name"] + ".npy"), "wb").write(b"\\x93NUMPY\\x01\\x00" + len(header).to_bytes(2, "little") + header.encode() + bytes(12))',
        'if task == "t2i":',
        '    print("out of memory on the imaginary GPU", file=sys.stderr)',
        '    sys.exit(3)',
      ].join('\n'),
    );
    expect(run.status).toBe('failed');
    const vqa = dataset(run, MM_SHAPES_VQA_ID);
    expect(vqa).toMatchObject({ status: 'failed', total: 2, done: 2, failed: 2 });
    expect(vqa.error).toMatch(/mm-shapes-vqa\.json/);
    expect(vqa.error).toMatch(/JSON/);
    const retrieval = dataset(run, MM_SHAPES_RETRIEVAL_ID);
    expect(retrieval.status).toBe('failed');
    expect(retrieval.error).toMatch(/mm-shapes-retrieval\.npy/);
    expect(retrieval.error).toMatch(/3×1/);
    const t2i = dataset(run, MM_SHAPES_T2I_ID);
    expect(t2i.status).toBe('failed');
    expect(t2i.error).toMatch(/exited with code 3/);
    expect(t2i.error).toContain('out of memory on the imaginary GPU');
    const logs = await runLogMessages(stack.api, key, run.runId);
    expect(logs.some((l) => l.includes('out of memory on the imaginary GPU'))).toBe(true);
  }, 300_000);

  it('a hang is killed at the wall clock, one that never asks for data and one that writes nothing are named', async () => {
    const { apiKey: key } = await stack.api.createUser();
    const run = await verify(
      key,
      [
        'if task == "vqa": time.sleep(600)',
        'if task == "retrieval": sys.exit(0)',
        'if task == "t2i": get("/get_data?index=0")',
      ].join('\n'),
    );
    expect(run.status).toBe('failed');
    expect(dataset(run, MM_SHAPES_VQA_ID).error).toMatch(/timed out|wall.clock/i);
    expect(dataset(run, MM_SHAPES_RETRIEVAL_ID).error).toMatch(/without asking the data server/);
    const t2i = dataset(run, MM_SHAPES_T2I_ID);
    expect(t2i.error).toMatch(/output_info\.json/);
    expect(t2i).toMatchObject({ status: 'failed', done: 2, failed: 2 });
  }, 300_000);
});
