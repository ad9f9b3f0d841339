/**
 * A multimodal private deployment end to end, through HTTP, on real workers and the real Docker
 * engine: the reference upload (test/fixtures/multimodal-upload) is created, uploaded with the CLI,
 * verified on drawn items and run formally on the three built-in datasets, each a `bash run.sh
 * TASK IP PORT` job in the preloaded multimodal runtime image fed by its own data server. The
 * reference reads the pictures itself, so its scores are exact: every question, caption and
 * prompt right. A run.sh that spoils a known part of the reference's outputs scores exactly that
 * much less, with the spoiled items' reasons on their results.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import ExcelJS from 'exceljs';
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
import { allResults, launchRun } from '../support/runThroughApi';
import { createMultimodalModel, customVqa } from '../support/multimodalModel';
import { useTestStack } from '../support/testStack';
import { runLogMessages } from '../support/customImageEvaluations';
import { downloadRunReport } from '../support/runReport';
import { RECORD_HISTORIES, recordHistoryFixture } from '../support/historyFixtures';
import { WORKFLOW_TYPES, workflowIds } from '../../temporal.config';

const HOST_ID = `mm-runs-host-${process.pid}`;
useServingSettings({ hostId: HOST_ID });
const docker = connectDocker(requireEnv('DOCKER_HOST'));
beforeAll(async () => {
  await ensureImage(docker, MULTIMODAL_RUNTIME_IMAGE_REF);
}, 300_000);
const stack = useTestStack({ api: true, workers: ['runs', 'inference', 'containers'] });

const ALL = [MM_SHAPES_VQA_ID, MM_SHAPES_RETRIEVAL_ID, MM_SHAPES_T2I_ID];

function breakdown(run: RunView, dataset: string): Record<string, number> {
  const d = run.datasets.find((x) => x.dataset === dataset)!;
  return Object.fromEntries(d.metrics!.multimodal!.metrics.map((m) => [m.name, m.value]));
}

function why(run: RunView): string {
  return JSON.stringify([run.error, run.datasets.map((d) => [d.dataset, d.status, d.error])]);
}

describe('a multimodal private deployment', () => {
  it('is verified on drawn items and scores exactly 1 on every built-in task in a formal run', async () => {
    const { apiKey: key } = await stack.api.createUser();
    const { evaluationId } = await createMultimodalModel(stack.api, key, { datasets: ALL });

    const verification = await waitForRunEnd(
      stack.api,
      key,
      await launchRun(stack.api, key, evaluationId, 'verification'),
      240_000,
    );
    expect(verification.status, why(verification)).toBe('succeeded');
    for (const d of verification.datasets) {
      expect(d).toMatchObject({ status: 'succeeded', total: 3, done: 3, failed: 0 });
      expect(d.metrics!.score).toBe(1);
    }

    const runId = await launchRun(stack.api, key, evaluationId, 'formal');
    const run = await waitForRunEnd(stack.api, key, runId, 420_000);
    expect(run.status, why(run)).toBe('succeeded');
    expect(run.datasets.map((d) => [d.dataset, d.status, d.total, d.done, d.failed, d.metrics?.score])).toEqual([
      [MM_SHAPES_VQA_ID, 'succeeded', 240, 240, 0, 1],
      [MM_SHAPES_RETRIEVAL_ID, 'succeeded', 120, 120, 0, 1],
      [MM_SHAPES_T2I_ID, 'succeeded', 100, 100, 0, 1],
    ]);
    expect(run.datasets.map((d) => d.metrics!.metric)).toEqual(['vqa_accuracy', 'retrieval_recall', 't2i_check']);
    expect(breakdown(run, MM_SHAPES_VQA_ID)).toMatchObject({
      accuracy: 1,
      'accuracy multiple-choice': 1,
      'accuracy multiple-response': 1,
      'accuracy fill-in-the-blank': 1,
      'accuracy short-answer': 1,
      'accuracy yes-no': 1,
      questions: 240,
    });
    expect(breakdown(run, MM_SHAPES_RETRIEVAL_ID)).toMatchObject({
      'mean recall': 1,
      'image→text R@1': 1,
      'text→image R@1': 1,
      images: 60,
      captions: 120,
    });
    expect(breakdown(run, MM_SHAPES_T2I_ID)).toMatchObject({ passed: 100, prompts: 100 });
    expect(run.overallScore).toBe(1);

    const vqa = await allResults(stack.api, key, runId, MM_SHAPES_VQA_ID);
    expect(vqa).toHaveLength(240);
    expect(vqa.every((r) => r.status === 'scored' && r.score === 1 && r.predict !== null)).toBe(true);
    const t2i = await allResults(stack.api, key, runId, MM_SHAPES_T2I_ID);
    expect(t2i[0]!.predict).toMatch(/^0\.png: /);

    const logs = await runLogMessages(stack.api, key, runId);
    // The upload was checked and the run held its container units, as a model server's run does.
    expect(logs).toContain('upload v1 checked: the multimodal layout is complete');
    expect(logs.some((l) => l.startsWith('container units granted: 1 × '))).toBe(true);
    for (const task of ['vqa', 'retrieval', 't2i'])
      expect(
        logs.some((l) => new RegExp(`^run\\.sh ${task} on dataset mm-shapes-\\w+: the job exited with code 0`).test(l)),
      ).toBe(true);
    const left = await docker.listContainers({ all: true, filters: { label: [`${LABEL_RUN}=${runId}`] } });
    expect(left).toEqual([]);
    // The run-script branch of the dataset workflow, replayed by test/workflows/replay.test.ts.
    if (RECORD_HISTORIES)
      await recordHistoryFixture(
        stack.temporal,
        'dataset-multimodal',
        workflowIds.dataset(runId, MM_SHAPES_VQA_ID),
        WORKFLOW_TYPES.dataset,
      );

    // The report carries the breakdowns beside the per-item results.
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(await downloadRunReport(stack.api.url, key, runId));
    const sheet = workbook.getWorksheet('Multimodal metrics');
    expect(sheet, 'the report has a Multimodal metrics sheet').toBeDefined();
    const measures = (sheet!.getSheetValues().filter(Boolean) as unknown[][]).map((r) => r.slice(1, 5));
    expect(measures).toContainEqual([MM_SHAPES_RETRIEVAL_ID, 'retrieval', 'text→image R@5', 1]);
    expect(measures).toContainEqual([MM_SHAPES_T2I_ID, 't2i', 'passed', 100]);

    // Built-in datasets only, so the run may go on the multimodal leaderboard, which shows it.
    const submitted = await stack.api.request('POST', `/v1/runs/${runId}/leaderboard`, {
      key,
      body: { mode: 'named' },
    });
    expect(submitted.status, submitted.text).toBe(201);
    const board = await stack.api.request('GET', '/v1/leaderboards/multimodal');
    expect(board.status, board.text).toBe(200);
    const { modelName } = (await stack.api.request('GET', `/v1/evaluations/${evaluationId}`, { key })).body;
    const row = (board.body.rows as { modelName: string; overallScore: number }[]).find(
      (r) => r.modelName === modelName,
    );
    expect(row).toMatchObject({ overallScore: 1 });
  }, 720_000);

  it('scores spoiled outputs exactly that much less, each spoiled item with its reason', async () => {
    const { apiKey: key } = await stack.api.createUser();
    // The reference, then: the first 12 vqa answers replaced by a letter no question offers, and
    // the pictures of prompts 0–4 left out of output_info.json.
    const spoil = [
      'import json, os, sys',
      'task, out = sys.argv[1], sys.argv[2]',
      'if task == "vqa":',
      '    path = os.path.join(out, "mm-shapes-vqa.json")',
      '    answers = json.load(open(path))',
      '    for a in answers[:12]: a["answer"] = "Z"',
      '    json.dump(answers, open(path, "w"))',
      'if task == "t2i":',
      '    path = os.path.join(out, "output_info.json")',
      '    info = json.load(open(path))',
      '    json.dump([e for e in info if str(e["id"]) not in {"0", "1", "2", "3", "4"}], open(path, "w"))',
    ].join('\n');
    const runSh = [
      'set -e',
      'cd "$(dirname "$0")"',
      'bash reference_run.sh "$@"',
      'out=$(python3 -c "import json,urllib.request,sys; print(json.load(urllib.request.urlopen(\'http://%s:%s/io_info\' % (sys.argv[1], sys.argv[2])))[\'output_dir\'])" "$2" "$3")',
      'python3 spoil.py "$1" "$out"',
      '',
    ].join('\n');
    const { readFile } = await import('node:fs/promises');
    const { MULTIMODAL_FIXTURE } = await import('../support/multimodalModel');
    const reference = await readFile(`${MULTIMODAL_FIXTURE}/run.sh`, 'utf8');
    const { evaluationId } = await createMultimodalModel(stack.api, key, {
      datasets: [MM_SHAPES_VQA_ID, MM_SHAPES_T2I_ID],
      runSh,
      files: { 'reference_run.sh': reference, 'spoil.py': spoil },
    });
    const runId = await launchRun(stack.api, key, evaluationId, 'formal');
    const run = await waitForRunEnd(stack.api, key, runId, 420_000);
    expect(run.status, why(run)).toBe('succeeded');
    const [vqa, t2i] = run.datasets;
    expect(vqa).toMatchObject({ status: 'succeeded', done: 240, failed: 0 });
    expect(vqa!.metrics!.score).toBeCloseTo(228 / 240, 12);
    expect(t2i).toMatchObject({ status: 'succeeded', done: 100, failed: 5 });
    expect(t2i!.metrics!.score).toBeCloseTo(95 / 100, 12);

    const wrong = (await allResults(stack.api, key, runId, MM_SHAPES_VQA_ID)).filter((r) => r.score === 0);
    expect(wrong).toHaveLength(12);
    expect(wrong.every((r) => r.predict === 'Z')).toBe(true);
    const missing = (await allResults(stack.api, key, runId, MM_SHAPES_T2I_ID)).filter((r) => r.status === 'failed');
    expect(missing.map((r) => r.error)).toEqual(Array(5).fill(expect.stringMatching(/^no picture: /)));
  }, 720_000);

  it("reaches a custom dataset's pictures: stored with the dataset, written for the job", async () => {
    const { apiKey: key } = await stack.api.createUser();
    const datasetId = `my-pictures-runsh-${process.pid}`;
    const registered = await stack.api.request('POST', '/v1/datasets', {
      key,
      body: {
        id: datasetId,
        name: 'mine',
        domain: 'multimodal',
        task: 'vqa',
        metric: 'vqa_accuracy',
        ...customVqa(10),
      },
    });
    expect(registered.status, registered.text).toBe(201);
    const { evaluationId } = await createMultimodalModel(stack.api, key, { datasets: [datasetId] });
    const run = await waitForRunEnd(
      stack.api,
      key,
      await launchRun(stack.api, key, evaluationId, 'verification'),
      240_000,
    );
    expect(run.status, why(run)).toBe('succeeded');
    expect(run.datasets[0]).toMatchObject({ total: 3, done: 3, failed: 0 });
    expect(run.datasets[0]!.metrics!.score).toBe(1);
  }, 300_000);

  it('measures robustness with a second job on perturbed questions, the pictures unchanged', async () => {
    const { apiKey: key } = await stack.api.createUser();
    const { evaluationId } = await createMultimodalModel(stack.api, key, {
      datasets: [MM_SHAPES_VQA_ID],
      robustness: true,
    });
    const runId = await launchRun(stack.api, key, evaluationId, 'formal');
    const run = await waitForRunEnd(stack.api, key, runId, 420_000);
    expect(run.status, why(run)).toBe('succeeded');
    const [vqa] = run.datasets;
    expect(vqa).toMatchObject({ status: 'succeeded', total: 240, done: 240, failed: 0 });
    expect(vqa!.metrics!.score).toBe(1);
    const robustness = vqa!.metrics!.robustness!;
    expect(robustness).toMatchObject({ n: 240, cleanAccuracy: 1, failed: 0 });
    // The reference reads the templates' exact wording: a perturbed question it cannot parse goes wrong.
    expect(robustness.perturbedAccuracy).toBeLessThan(1);
    expect(robustness.perturbedAccuracy).toBeGreaterThan(0);
    const logs = await runLogMessages(stack.api, key, runId);
    expect(
      logs.some((l) =>
        l.startsWith(`run.sh vqa on dataset ${MM_SHAPES_VQA_ID} (perturbed): the job exited with code 0`),
      ),
    ).toBe(true);
    const left = await docker.listContainers({ all: true, filters: { label: [`${LABEL_RUN}=${runId}`] } });
    expect(left).toEqual([]);
  }, 600_000);
});
