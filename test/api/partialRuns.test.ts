/**
 * Partial formal runs (`limit`) end to end through HTTP on real workers: the first N or a seeded
 * random N items of each dataset, marked partial in the run view, the run list and the report,
 * refused by the leaderboard, neither reusing nor reused; and the bad limits each field invites.
 */
import { describe, expect, it } from 'vitest';
import ExcelJS from 'exceljs';
import { ARITH_BASIC_ID } from '../../datasets/builtin/arithBasic';
import { WORD_REVERSE_ID } from '../../datasets/builtin/wordReverse';
import { drawSampleIndices } from '../../datasets/prng';
import { builtinItemId } from '../../datasets/builtin/itemIds';
import type { RunView } from '../../contracts/run';
import { workflowIds } from '../../temporal.config';
import { nlpEvaluationBody } from '../support/evaluationBodies';
import { waitForRunEnd } from '../support/runThroughApi';
import { downloadRunReport } from '../support/runReport';
import { useTestStack } from '../support/testStack';

const stack = useTestStack({ api: true, workers: ['runs', 'inference'], model: { skill: 1 } });
const SIZES: Record<string, number> = { [ARITH_BASIC_ID]: 1000, [WORD_REVERSE_ID]: 600 };

async function evaluation(key: string): Promise<string> {
  const res = await stack.api.request('POST', '/v1/evaluations', {
    key,
    body: nlpEvaluationBody({
      datasets: [ARITH_BASIC_ID, WORD_REVERSE_ID],
      deployment: { method: 'api', endpoint: stack.model.url, onlineModelName: 'proctor-reference' },
    }),
  });
  expect(res.status, res.text).toBe(201);
  return res.body.id as string;
}

async function launch(key: string, evaluationId: string, body: unknown): Promise<RunView> {
  const res = await stack.api.request('POST', `/v1/evaluations/${evaluationId}/runs`, { key, body });
  expect(res.status, res.text).toBe(202);
  return waitForRunEnd(stack.api, key, res.body.runId as string, 120_000);
}

async function itemIds(key: string, runId: string): Promise<Record<string, string[]>> {
  const res = await stack.api.request('GET', `/v1/runs/${runId}/results?limit=1000`, { key });
  const byDataset: Record<string, string[]> = {};
  for (const item of res.body.items as { id: string; dataset: string }[])
    (byDataset[item.dataset] ??= []).push(item.id);
  return byDataset;
}

async function logs(key: string, runId: string): Promise<string[]> {
  const res = await stack.api.request('GET', `/v1/runs/${runId}/logs?limit=1000`, { key });
  return (res.body.items as { message: string }[]).map((l) => l.message);
}

describe('a partial formal run', () => {
  it('takes the first N items of each dataset, and says it is partial in the view, the list and the report', async () => {
    const { apiKey: key } = await stack.api.createUser();
    const id = await evaluation(key);
    const run = await launch(key, id, { limit: { count: 5 } });
    expect(run.status, run.error ?? '').toBe('succeeded');
    expect(run.partial).toEqual({ count: 5, sample: 'first', seed: null });
    expect(run.datasets.map((d) => [d.dataset, d.total, d.done, d.metrics?.score])).toEqual([
      [ARITH_BASIC_ID, 5, 5, 1],
      [WORD_REVERSE_ID, 5, 5, 1],
    ]);
    expect(await itemIds(key, run.runId)).toEqual({
      [ARITH_BASIC_ID]: [0, 1, 2, 3, 4].map((i) => builtinItemId(ARITH_BASIC_ID, i)),
      [WORD_REVERSE_ID]: [0, 1, 2, 3, 4].map((i) => builtinItemId(WORD_REVERSE_ID, i)),
    });
    const listed = await stack.api.request('GET', `/v1/runs?evaluationId=${id}`, { key });
    expect(listed.body.items).toEqual([expect.objectContaining({ runId: run.runId, partial: true })]);

    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(await downloadRunReport(stack.api.url, key, run.runId));
    const cells = (workbook.getWorksheet('Summary')!.getSheetValues() as unknown[][]).map((r) => r?.[1]);
    const at = cells.indexOf('Partial');
    expect(at).toBeGreaterThan(0);
    expect((workbook.getWorksheet('Summary')!.getSheetValues()[at] as unknown[])[2]).toBe(
      '5 item(s) per dataset, the first ones; not admissible to a leaderboard',
    );

    const submitted = await stack.api.request('POST', `/v1/runs/${run.runId}/leaderboard`, {
      key,
      body: { mode: 'named' },
    });
    expect(submitted.status).toBe(409);
    expect(submitted.body.detail).toMatch(/is partial: it was launched with a limit of 5 item\(s\) per dataset/);
    await stack.temporal.workflow
      .getHandle(workflowIds.leaderboard(run.runId))
      .terminate('test finished')
      .catch(() => {});
  });

  it('draws a seeded random N, the same for the same seed', async () => {
    const { apiKey: key } = await stack.api.createUser();
    const id = await evaluation(key);
    const run = await launch(key, id, { limit: { count: 4, sample: 'random', seed: 7 }, reuse: false });
    expect(run.partial).toEqual({ count: 4, sample: 'random', seed: 7 });
    const expected = Object.fromEntries(
      [ARITH_BASIC_ID, WORD_REVERSE_ID].map((dataset, position) => [
        dataset,
        drawSampleIndices(7 + position, SIZES[dataset]!, 4).map((i) => builtinItemId(dataset, i)),
      ]),
    );
    expect(await itemIds(key, run.runId)).toEqual(expected);
    // Not the first four: a draw.
    expect(expected[ARITH_BASIC_ID]).not.toEqual([0, 1, 2, 3].map((i) => builtinItemId(ARITH_BASIC_ID, i)));
    await stack.temporal.workflow
      .getHandle(workflowIds.leaderboard(run.runId))
      .terminate('test finished')
      .catch(() => {});
  });

  it('neither reuses an earlier result nor is reused by a later run', async () => {
    const { apiKey: key } = await stack.api.createUser();
    const id = await evaluation(key);
    const first = await launch(key, id, { limit: { count: 3 } });
    const second = await launch(key, id, { limit: { count: 3 } });
    expect(second.datasets.every((d) => d.reusedFrom === null)).toBe(true);
    expect((await logs(key, second.runId)).some((l) => l.includes('reused from'))).toBe(false);
    const full = await launch(key, id, {});
    expect(full.partial).toBeNull();
    expect(full.datasets.map((d) => [d.reusedFrom, d.total, d.done])).toEqual([
      [null, 1000, 1000],
      [null, 600, 600],
    ]);
    for (const run of [first, second, full])
      await stack.temporal.workflow
        .getHandle(workflowIds.leaderboard(run.runId))
        .terminate('test finished')
        .catch(() => {});
  });

  it('refuses a bad limit naming the field, launching nothing', async () => {
    const { apiKey: key } = await stack.api.createUser();
    const id = await evaluation(key);
    for (const [limit, field] of [
      [{ count: 0 }, 'limit.count'],
      [{ count: 1.5 }, 'limit.count'],
      [{}, 'limit.count'],
      [{ count: 3, sample: 'last' }, 'limit.sample'],
      [{ count: 3, seed: 4 }, 'limit.seed'],
      [{ count: 3, sample: 'random', seed: -1 }, 'limit.seed'],
      [{ count: 3, every: 2 }, 'limit.every'],
    ] as const) {
      const res = await stack.api.request('POST', `/v1/evaluations/${id}/runs`, { key, body: { limit } });
      expect(res.status, JSON.stringify(limit)).toBe(400);
      expect(
        (res.body.errors as { field: string }[]).map((e) => e.field),
        JSON.stringify(limit),
      ).toEqual([field]);
    }
    const runs = await stack.api.request('GET', `/v1/evaluations/${id}/runs`, { key });
    expect(runs.body.items).toEqual([]);
  });
});
