/**
 * Formal runs with judge metrics, end to end through HTTP on real workers: the run-and-inference
 * workers in this process, the judge queue in a worker process of its own (so its log can be read
 * whole), the reference model, and stand-in judges. Scores come from the judge, every step is
 * stored and shown (results and the Excel report); a judge that is down and a judge that answers
 * garbage fail their samples with reasons and the run still ends, every sample counted once; a
 * judge metric with no judge falls back to exact match; the judge key is nowhere but the judge.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import ExcelJS from 'exceljs';
import { launchAndWaitForEnd } from '../support/runThroughApi';
import { uniqueModelName } from '../support/evaluationBodies';
import { startWorkerProcess, type WorkerProcess } from '../support/workerProcess';
import { startJudgeStandIn } from '../support/judgeStandIn';
import { TERMINAL_STATUSES, type RunView } from '../../contracts/run';
import type { ScoringTrace } from '../../contracts/scoringTrace';
import { workflowIds } from '../../temporal.config';
import { downloadRunReport } from '../support/runReport';
import { useTestStack } from '../support/testStack';

const stack = useTestStack({ api: true, workers: ['runs', 'inference'], model: { skill: 1 }, judge: true });

// The judge queue is served by a worker process of its own, whose output the tests read.
let judgeWorker: WorkerProcess;
beforeAll(async () => {
  judgeWorker = await startWorkerProcess({ PROCTOR_WORKER_QUEUES: 'judge', PROCTOR_LOG_LEVEL: 'debug' });
});
afterAll(async () => {
  await judgeWorker?.kill('SIGTERM');
});

/** A custom dataset of `size` sums the reference model answers; returns its id. */
async function sumsDataset(key: string, size: number): Promise<string> {
  const id = `js-${randomUUID().slice(0, 8)}`;
  const jsonl = Array.from({ length: size }, (_, i) =>
    JSON.stringify({
      id: `q${i}`,
      prompt: `Compute ${10 + i} + ${3 + i}. Reply with the number only.`,
      ground_truth: String(13 + 2 * i),
    }),
  ).join('\n');
  const res = await stack.api.request('POST', '/v1/datasets', {
    key,
    body: { id, name: id, domain: 'nlp', task: 'sums', metric: 'exact_match', jsonl: `${jsonl}\n` },
  });
  expect(res.status, res.text).toBe(201);
  return id;
}

async function evaluationWith(key: string, datasets: string[], scoring: unknown): Promise<string> {
  const res = await stack.api.request('POST', '/v1/evaluations', {
    key,
    body: {
      domain: 'nlp',
      modelName: uniqueModelName('judged'),
      datasets,
      robustness: false,
      modelInfo: { type: 'sft' },
      acknowledgeNoTestAnnotations: true,
      deployment: { method: 'api', endpoint: stack.model.url, onlineModelName: 'proctor-reference', apiMode: 'chat' },
    },
  });
  expect(res.status, res.text).toBe(201);
  const put = await stack.api.request('PUT', `/v1/evaluations/${res.body.id}/scoring`, { key, body: scoring });
  expect(put.status, put.text).toBe(200);
  return res.body.id as string;
}

const runToEnd = (key: string, evaluationId: string): Promise<RunView> =>
  launchAndWaitForEnd(stack.api, key, evaluationId, 110_000);

type Result = {
  id: string;
  dataset: string;
  status: string;
  score: number | null;
  error: string | null;
  scoring?: ScoringTrace | null;
};

async function results(key: string, runId: string): Promise<Result[]> {
  const res = await stack.api.request('GET', `/v1/runs/${runId}/results?limit=1000`, { key });
  expect(res.status, res.text).toBe(200);
  return res.body.items as Result[];
}

/** Every sample of every dataset exactly once, none left pending, counts in step with the results. */
function accountedOnce(view: RunView, items: Result[]): void {
  for (const d of view.datasets) {
    const mine = items.filter((i) => i.dataset === d.dataset);
    expect(new Set(mine.map((i) => i.id)).size, d.dataset).toBe(d.total);
    expect(mine, d.dataset).toHaveLength(d.total);
    expect(
      mine.filter((i) => i.status === 'pending'),
      d.dataset,
    ).toEqual([]);
    expect(d.done, d.dataset).toBe(d.total);
    expect(d.failed, d.dataset).toBe(mine.filter((i) => i.status === 'failed').length);
  }
}

describe('formal runs with a judge metric', () => {
  it('scores by the judge, keeps every step, shows it in results and the report, and keeps the key secret', async () => {
    const { apiKey: key } = await stack.api.createUser();
    const judged = await sumsDataset(key, 12);
    const ruled = await sumsDataset(key, 5);
    const secret = `sk-judge-${randomUUID()}`;
    const evaluationId = await evaluationWith(key, [judged, ruled], {
      datasets: {
        [judged]: {
          metric: 'judge',
          judge: {
            baseUrl: stack.judge.url,
            model: 'stand-in-judge',
            apiKey: secret,
            prices: { inputPerMillion: 1_000_000, outputPerMillion: 500_000 },
          },
          preprocess: ['trim'],
        },
        [ruled]: { metric: 'exact_match' },
      },
      limits: { maxJudgingConcurrency: 3, maxJudgingRetryPerQ: 2 },
    });
    stack.judge.requests.length = 0;
    stack.judge.setKnobs({ fail500FirstTries: 1 });
    const view = await runToEnd(key, evaluationId);
    stack.judge.resetKnobs();

    expect(view.status).toBe('succeeded');
    const items = await results(key, view.runId);
    accountedOnce(view, items);
    // The judge's tokens, apart from the model's: the stand-in reports 1 + 1 per answered call, one
    // answered call per sample (the failed first tries bill nothing), at its prices (1 and 0.5 a token).
    const judgedView = view.datasets.find((d) => d.dataset === judged)!;
    expect(judgedView.judgeUsage).toEqual({ promptTokens: 12, completionTokens: 12, cost: 18, currency: null });
    expect(view.datasets.find((d) => d.dataset === ruled)!.judgeUsage).toBeNull();
    expect(view.judgeUsage).toEqual(judgedView.judgeUsage);
    expect(view.usage.samples).toBe(17);
    const judgedItems = items.filter((i) => i.dataset === judged);
    // The reference model is always right, and the stand-in gives a right answer 9/10.
    expect(judgedItems.every((i) => i.status === 'scored' && Math.abs(i.score! - 0.9) < 1e-9)).toBe(true);
    expect(view.datasets.find((d) => d.dataset === judged)!.metrics!.score).toBeCloseTo(0.9);
    for (const i of judgedItems) {
      expect(i.scoring!.method).toBe('judge');
      expect(i.scoring!.steps.map((s) => s.step)).toEqual([
        'preprocess',
        'prompt',
        'judge',
        'postprocess',
        'postprocess',
        'postprocess',
        'score',
      ]);
      // Each prompt was refused once (HTTP 500) and answered on the retry.
      expect(i.scoring!.attempts).toBe(2);
      const prompt = i.scoring!.steps.find((s) => s.step === 'prompt');
      expect(prompt && prompt.step === 'prompt' && prompt.messages[0]!.content).toContain('Answer to grade:');
    }
    expect(items.filter((i) => i.dataset === ruled).every((i) => i.score === 1 && i.scoring === undefined)).toBe(true);
    expect(stack.judge.requests).toHaveLength(24);
    expect(new Set(stack.judge.requests.map((r) => r.authorization))).toEqual(new Set([`Bearer ${secret}`]));

    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(await downloadRunReport(stack.api.url, key, view.runId));
    const steps = workbook.getWorksheet('Scoring steps')!;
    expect(steps).toBeDefined();
    expect(steps.rowCount).toBe(13);
    expect(String(steps.getRow(2).getCell(6).value)).toMatch(/^Score: 9\/10/);
    expect(steps.getRow(2).getCell(8).value).toBeCloseTo(0.9);

    // The key went to the judge and nowhere else: not into Temporal, the run's config and logs,
    // the results, the report, or the judge worker's own log (at debug level).
    const texts: string[] = [];
    for (const workflowId of [
      workflowIds.run(view.runId),
      ...view.datasets.map((d) => workflowIds.dataset(view.runId, d.dataset)),
    ]) {
      const handle = stack.api.deps.temporal.workflow.getHandle(workflowId);
      texts.push(JSON.stringify(await handle.fetchHistory()), JSON.stringify((await handle.describe()).raw));
    }
    expect(texts.join('').includes('judgeBatch')).toBe(true);
    const logs = await stack.api.request('GET', `/v1/runs/${view.runId}/logs`, { key });
    const cells: string[] = [];
    for (const sheet of workbook.worksheets)
      sheet.eachRow((row) => row.eachCell((cell) => cells.push(String(cell.value))));
    const scoring = await stack.api.request('GET', `/v1/evaluations/${evaluationId}/scoring`, { key });
    const rows = await stack.api.deps.db.execute<{ t: string }>(
      (await import('drizzle-orm')).sql`select r::text as t from runs r where id = ${view.runId}`,
    );
    const everything = [
      ...texts,
      logs.text,
      JSON.stringify(items),
      scoring.text,
      cells.join('\n'),
      judgeWorker.output(),
      rows.map((r) => r.t).join(''),
    ].join('\n');
    expect(judgeWorker.output()).toContain('worker started');
    expect(everything).not.toContain(secret);
  });

  it('stops while judging: what was judged stays, what was not fails as not judged, nothing stays pending', async () => {
    const { apiKey: key } = await stack.api.createUser();
    const slow = await startJudgeStandIn({ knobs: { latencyMs: 1500 } });
    const dataset = await sumsDataset(key, 6);
    const evaluationId = await evaluationWith(key, [dataset], {
      default: { metric: 'judge', judge: { baseUrl: slow.url, model: 'j' } },
      limits: { maxJudgingConcurrency: 1, maxJudgingRetryPerQ: 0 },
    });
    const launched = await stack.api.request('POST', `/v1/evaluations/${evaluationId}/runs`, { key });
    expect(launched.status, launched.text).toBe(202);
    const runId = launched.body.runId as string;
    const deadline = Date.now() + 60_000;
    while (slow.requests.length < 2) {
      if (Date.now() > deadline) throw new Error('the judge was never asked');
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await stack.api.request('POST', `/v1/runs/${runId}/stop`, { key })).status).toBe(202);
    let view: RunView;
    for (;;) {
      view = (await stack.api.request('GET', `/v1/runs/${runId}`, { key })).body as RunView;
      if (TERMINAL_STATUSES.includes(view.status)) break;
      if (Date.now() > deadline) throw new Error(`run still ${view.status}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    await slow.close();
    expect(view.status).toBe('stopped');
    const items = await results(key, runId);
    accountedOnce(view, items);
    const notJudged = items.filter((i) => i.status === 'failed');
    expect(notJudged.length).toBeGreaterThan(0);
    expect(notJudged.every((i) => i.error === 'not judged: the dataset was stopped first')).toBe(true);
    expect(
      items.filter((i) => i.status === 'scored').every((i) => i.scoring?.method === 'judge' && i.score !== null),
    ).toBe(true);
  });

  it('survives a judge that is down and one that answers garbage, and falls back to exact match with no judge', async () => {
    const { apiKey: key } = await stack.api.createUser();
    const down = await startJudgeStandIn();
    await down.down();
    const garbage = await startJudgeStandIn({ knobs: { garbage: true } });
    const [toDown, toGarbage, toNone] = [
      await sumsDataset(key, 12),
      await sumsDataset(key, 6),
      await sumsDataset(key, 6),
    ];
    const evaluationId = await evaluationWith(key, [toDown, toGarbage, toNone], {
      datasets: {
        [toDown]: { metric: 'judge', judge: { baseUrl: down.url, model: 'j' } },
        [toGarbage]: { metric: 'judge', judge: { baseUrl: garbage.url, model: 'j' } },
        // No judge here, and the judge worker has no PROCTOR_JUDGE_*: exact match instead.
        [toNone]: { metric: 'judge' },
      },
      limits: { maxJudgingConcurrency: 2, maxJudgingRetryPerQ: 1 },
    });
    const view = await runToEnd(key, evaluationId);
    await garbage.close();

    // The datasets whose judge failed every sample failed; the run ended, succeeded by the third.
    expect(view.status).toBe('succeeded');
    const items = await results(key, view.runId);
    accountedOnce(view, items);

    const downDataset = view.datasets.find((d) => d.dataset === toDown)!;
    expect(downDataset.status).toBe('failed');
    expect(downDataset.error).toMatch(/^all 12 sample\(s\) failed/);
    const downItems = items.filter((i) => i.dataset === toDown);
    expect(downItems.every((i) => i.status === 'failed' && i.score === null)).toBe(true);
    // Asked until the breaker tripped, each with its retry; the rest were not asked again.
    for (const i of downItems)
      expect(i.error).toMatch(
        /^judge unreachable after 2 attempts: connection refused|^not judged: the judge failed for \d+ samples in a row \(last: judge unreachable after 2 attempts/,
      );
    expect(downItems.filter((i) => i.error!.startsWith('judge unreachable')).length).toBeGreaterThanOrEqual(10);

    const garbageItems = items.filter((i) => i.dataset === toGarbage);
    expect(
      garbageItems.every(
        (i) => i.status === 'failed' && /^postprocessing step 1 \(regexExtract\) failed: found no match/.test(i.error!),
      ),
    ).toBe(true);
    expect(garbageItems[0]!.scoring!.steps.find((s) => s.step === 'judge')).toMatchObject({
      reply: 'I am unable to help with grading today.',
    });

    const fallbackItems = items.filter((i) => i.dataset === toNone);
    expect(
      fallbackItems.every(
        (i) => i.status === 'scored' && i.score === 1 && i.scoring!.method === 'exact_match_fallback',
      ),
    ).toBe(true);
    expect(fallbackItems[0]!.scoring!.steps[0]).toMatchObject({ step: 'fallback', metric: 'exact_match' });
    expect(view.datasets.find((d) => d.dataset === toNone)!.status).toBe('succeeded');
  });
});
