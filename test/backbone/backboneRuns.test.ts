/**
 * CV and Audio backbones end to end, through HTTP, on real workers and the real Docker engine, CPU
 * only: the reference uploads (test/fixtures/backbones) are created, uploaded with the CLI,
 * verified (one epoch on a small subset) and run formally on the built-in datasets, each dataset a
 * fine-tune job of the platform's Python in the preloaded backbone image. The pre-trained reference
 * scores well above chance on every task; a backbone whose features ignore the input stays within
 * chance; a backbone whose outputs contradict meta.json fails its dataset, not the run, with the
 * job's own words. The results carry the head, epochs and training curve into the run view, the
 * Excel report's Fine-tuning sheet and the domain's leaderboard.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import ExcelJS from 'exceljs';
import { connectDocker } from '../../docker/engine';
import type { RunView } from '../../contracts/run';
import { requireEnv } from '../support/env';
import { useServingSettings, waitForRunEnd } from '../support/privateModel';
import { allResults, launchRun } from '../support/runThroughApi';
import { containersOfRun } from '../support/jobContainers';
import { createBackboneModel } from '../support/backboneModel';
import { backboneImageForTests, BACKBONE_IMAGE_SETUP_MS } from '../support/backboneImage';
import { useTestStack } from '../support/testStack';
import { runLogMessages } from '../support/customImageEvaluations';
import { downloadRunReport } from '../support/runReport';
import { FINE_TUNING_SHEET } from '../../activities/report/excelReport';
import { workflowIds } from '../../temporal.config';

const HOST_ID = `backbone-runs-host-${process.pid}`;
useServingSettings({ hostId: HOST_ID });
// A fine-tune job loads PyTorch and holds a dataset's features: more than a model server's share.
Object.assign(process.env, { PROCTOR_CONTAINER_MEMORY_MB: '3072', PROCTOR_CONTAINER_CPUS: '2' });
const docker = connectDocker(requireEnv('DOCKER_HOST'));
beforeAll(async () => {
  await backboneImageForTests();
}, BACKBONE_IMAGE_SETUP_MS);
const stack = useTestStack({ api: true, workers: ['runs', 'inference', 'containers'] });

function metric(run: RunView, dataset: string, name: string): number {
  const d = run.datasets.find((x) => x.dataset === dataset)!;
  const found = d.metrics?.backbone?.metrics.find((m) => m.name === name);
  if (!found) throw new Error(`no ${name} for ${dataset} in ${JSON.stringify(d.metrics)}`);
  return found.value;
}

function why(run: RunView): string {
  return JSON.stringify([run.error, run.datasets.map((d) => [d.dataset, d.status, d.error])]);
}

describe('a CV backbone', () => {
  it('is verified in one epoch, then fine-tuned on every task well above chance', async () => {
    const { apiKey: key } = await stack.api.createUser();
    const { evaluationId } = await createBackboneModel(stack.api, key, {
      domain: 'cv',
      fixture: 'reference',
      datasets: ['cv-shapes', 'cv-shapes-retrieval', 'cv-shapes-seg'],
      tasks: [{ task: 'classification' }, { task: 'retrieval', adaptation: 'knn' }, { task: 'segmentation' }],
      robustness: true,
    });

    const verification = await waitForRunEnd(
      stack.api,
      key,
      await launchRun(stack.api, key, evaluationId, 'verification'),
      600_000,
    );
    expect(verification.status, why(verification)).toBe('succeeded');
    for (const d of verification.datasets) {
      expect(d).toMatchObject({ status: 'succeeded', total: 3, done: 3, failed: 0 });
      // One epoch of head training; k-NN retrieval trains none.
      expect(d.metrics!.backbone!.epochs).toBe(d.dataset === 'cv-shapes-retrieval' ? 0 : 1);
    }

    const runId = await launchRun(stack.api, key, evaluationId, 'formal');
    const run = await waitForRunEnd(stack.api, key, runId, 1_200_000);
    expect(run.status, why(run)).toBe('succeeded');
    expect(run.datasets.map((d) => [d.dataset, d.status, d.total, d.done, d.failed])).toEqual([
      ['cv-shapes', 'succeeded', 320, 320, 0],
      ['cv-shapes-retrieval', 'succeeded', 200, 200, 0],
      ['cv-shapes-seg', 'succeeded', 32, 32, 0],
    ]);
    expect(run.datasets.map((d) => d.metrics!.metric)).toEqual(['top1_accuracy', 'recall_at_1', 'mean_iou']);
    // Chance: 1/8 top-1, 1/10 recall@1; mean IoU of a head that paints everything background ≈ 0.17.
    expect(metric(run, 'cv-shapes', 'top1')).toBeGreaterThan(0.45);
    expect(metric(run, 'cv-shapes-retrieval', 'recall@1')).toBeGreaterThan(0.35);
    expect(metric(run, 'cv-shapes-seg', 'mIoU')).toBeGreaterThan(0.25);
    const cls = run.datasets[0]!;
    // Every test item is one row scoring 1 or 0, so the dataset's score is its top-1.
    expect(cls.metrics!.score).toBeCloseTo(metric(run, 'cv-shapes', 'top1'), 6);
    expect(cls.metrics!.backbone).toMatchObject({
      task: 'classification',
      adaptation: 'linear',
      epochs: 10,
      samples: { train: 800, val: 160, test: 320 },
    });
    expect(cls.metrics!.backbone!.curve.map((c) => c.epoch)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(run.datasets[2]!.metrics!.score).toBe(metric(run, 'cv-shapes-seg', 'mIoU'));
    // Robustness: every test item again on a corrupted picture, the same head answering.
    for (const d of run.datasets) {
      expect(d.metrics!.robustness, d.dataset).toMatchObject({ n: d.total, failed: 0 });
      expect(d.metrics!.robustness!.perturbedAccuracy).toBeGreaterThan(0.2);
    }
    expect(run.datasets[0]!.metrics!.robustness!.cleanAccuracy).toBeCloseTo(metric(run, 'cv-shapes', 'top1'), 6);

    const rows = await allResults(stack.api, key, runId, 'cv-shapes');
    expect(rows).toHaveLength(320);
    expect(rows.every((r) => r.status === 'scored' && (r.score === 0 || r.score === 1))).toBe(true);
    expect(new Set(rows.map((r) => r.predict))).toEqual(
      new Set(['circle', 'square', 'triangle', 'star', 'cross', 'ring', 'crescent', 'arrow']),
    );

    const logs = await runLogMessages(stack.api, key, runId);
    expect(logs).toContain('upload v1 checked: the cv layout is complete');
    // Each epoch of each trained head once, however often the logs were copied (k-NN trains none).
    const epochLines = logs.filter((l) => /^epoch \d+\/10:/.test(l));
    expect(epochLines).toHaveLength(2 * 10);
    expect(await containersOfRun(docker, runId)).toEqual([]);

    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(await downloadRunReport(stack.api.url, key, runId));
    const sheet = workbook.getWorksheet(FINE_TUNING_SHEET)!;
    const values = sheet.getSheetValues().filter(Boolean) as unknown[][];
    expect(values[0]!.slice(1, 4)).toEqual(['Dataset', 'Task', 'Adaptation']);
    expect(values.some((r) => r[1] === 'cv-shapes-seg' && r[12] === 'mIoU')).toBe(true);
    expect(values.filter((r) => r[1] === 'cv-shapes' && typeof r[2] === 'number')).toHaveLength(10);
  }, 1_800_000);

  it('stays at chance when its features ignore the picture, and a backbone contradicting meta.json fails its dataset', async () => {
    const { apiKey: key } = await stack.api.createUser();
    const noise = await createBackboneModel(stack.api, key, {
      domain: 'cv',
      fixture: 'noise',
      datasets: ['cv-shapes'],
      tasks: [{ task: 'classification' }],
    });
    const broken = await createBackboneModel(stack.api, key, {
      domain: 'cv',
      fixture: 'broken-shape',
      datasets: ['cv-shapes'],
      tasks: [{ task: 'classification' }],
    });
    const [noiseRun, brokenRun] = await Promise.all([
      launchRun(stack.api, key, noise.evaluationId, 'formal').then((id) => waitForRunEnd(stack.api, key, id, 900_000)),
      launchRun(stack.api, key, broken.evaluationId, 'verification').then((id) =>
        waitForRunEnd(stack.api, key, id, 600_000),
      ),
    ]);
    expect(noiseRun.status, why(noiseRun)).toBe('succeeded');
    // 320 items at p = 1/8: 40 expected, beyond 0.25 is more than five standard deviations out.
    expect(metric(noiseRun, 'cv-shapes', 'top1')).toBeLessThan(0.25);
    expect(brokenRun.datasets[0]).toMatchObject({ status: 'failed' });
    expect(brokenRun.datasets[0]!.error).toMatch(/^output_contract: .*output_channels/);
  }, 1_200_000);
});

describe('an Audio backbone', () => {
  it('is fine-tuned on keyword spotting and speaker identification well above chance, and ranked on the Audio board', async () => {
    const { apiKey: key } = await stack.api.createUser();
    const { evaluationId } = await createBackboneModel(stack.api, key, {
      domain: 'audio',
      fixture: 'reference',
      datasets: ['audio-keywords', 'audio-speakers'],
      tasks: [{ task: 'keyword_spotting' }, { task: 'speaker_id' }],
    });
    // The Audio form has no verification action (docs/domains.md).
    const verification = await stack.api.request('POST', `/v1/evaluations/${evaluationId}/verifications`, {
      key,
      body: {},
    });
    expect(verification.status).toBe(409);

    const runId = await launchRun(stack.api, key, evaluationId, 'formal');
    const run = await waitForRunEnd(stack.api, key, runId, 900_000);
    expect(run.status, why(run)).toBe('succeeded');
    expect(run.datasets.map((d) => [d.dataset, d.status, d.total, d.done, d.failed, d.metrics?.metric])).toEqual([
      ['audio-keywords', 'succeeded', 160, 160, 0, 'top1_accuracy'],
      ['audio-speakers', 'succeeded', 160, 160, 0, 'top1_accuracy'],
    ]);
    // Chance: 1/10 and 1/8.
    expect(metric(run, 'audio-keywords', 'accuracy')).toBeGreaterThan(0.6);
    expect(metric(run, 'audio-speakers', 'accuracy')).toBeGreaterThan(0.5);
    expect(run.datasets[0]!.metrics!.score).toBeCloseTo(metric(run, 'audio-keywords', 'accuracy'), 6);
    expect(run.datasets[1]!.metrics!.backbone).toMatchObject({ head: 'mean-pool+linear', epochs: 10 });

    // The board's window opens as the run's workflow ends, just after the run's status.
    await stack.api.deps.temporal.workflow.getHandle(workflowIds.run(runId)).result();
    const suite = await stack.api.request('PUT', '/v1/leaderboards/audio/suite', {
      key: stack.api.adminKey,
      body: { name: 'audio backbones', datasets: ['audio-keywords', 'audio-speakers'] },
    });
    expect([200, 201], suite.text).toContain(suite.status);
    const submitted = await stack.api.request('POST', `/v1/runs/${runId}/leaderboard`, {
      key,
      body: { mode: 'named' },
    });
    expect(submitted.status, submitted.text).toBe(201);
    const board = await stack.api.request('GET', '/v1/leaderboards/audio');
    expect(board.status).toBe(200);
    const modelName = (await stack.api.request('GET', `/v1/evaluations/${evaluationId}`, { key })).body.modelName;
    const row = (board.body.rows as { modelName: string; overallScore: number }[]).find(
      (r) => r.modelName === modelName,
    );
    expect(row, board.text).toBeDefined();
    expect(row!.overallScore).toBeCloseTo(run.overallScore!, 6);
  }, 1_200_000);

  it('stays at chance on noise, and a checkpoint without model_cfg fails its dataset with the reason', async () => {
    const { apiKey: key } = await stack.api.createUser();
    const [noise, broken] = await Promise.all(
      (['noise', 'broken-checkpoint'] as const).map((fixture) =>
        createBackboneModel(stack.api, key, {
          domain: 'audio',
          fixture,
          datasets: ['audio-keywords'],
          tasks: [{ task: 'keyword_spotting' }],
        }),
      ),
    );
    const [noiseRun, brokenRun] = await Promise.all(
      [noise!, broken!].map(async (m) =>
        waitForRunEnd(stack.api, key, await launchRun(stack.api, key, m.evaluationId, 'formal'), 900_000),
      ),
    );
    expect(noiseRun.status, why(noiseRun)).toBe('succeeded');
    // 160 items at p = 1/10: beyond 0.2 is more than four standard deviations out.
    expect(metric(noiseRun, 'audio-keywords', 'accuracy')).toBeLessThan(0.2);
    expect(brokenRun.datasets[0]).toMatchObject({ status: 'failed' });
    expect(brokenRun.datasets[0]!.error).toMatch(/^checkpoint: .*model_cfg/);
  }, 1_200_000);
});
