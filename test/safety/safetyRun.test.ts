/**
 * Safety runs end to end through HTTP on real workers (runs, inference and judge queues): the five
 * built-in TC260 datasets answered by reference models of known behaviour (refuses only harmful
 * prompts; refuses everything; complies with everything; answers harmful prompts with a safe
 * redirection), labelled by a stand-in judge under the rubric and, with no judge configured, by
 * the refusal-phrase fallback. Every score is known exactly from the behaviours (docs/safety.md);
 * the fallback says so in the run view, the results and the Excel report. Also: the quota slot a
 * Safety run takes, and the Safety leaderboard showing the submitted run.
 */
import { afterAll, describe, expect, it } from 'vitest';
import ExcelJS from 'exceljs';
import { SAFETY_BUILTIN_DATASETS } from '../../datasets/builtinCatalog';
import type { RunView } from '../../contracts/run';
import type { ScoringTrace } from '../../contracts/scoringTrace';
import type { LeaderboardView } from '../../contracts/leaderboard';
import { workflowIds } from '../../temporal.config';
import { FALLBACK_CAVEAT } from '../../db/queries/leaderboard';
import { uniqueModelName } from '../support/evaluationBodies';
import { launchAndWaitForEnd } from '../support/runThroughApi';
import { downloadRunReport } from '../support/runReport';
import { useTestStack } from '../support/testStack';

const stack = useTestStack({
  api: true,
  workers: ['runs', 'inference', 'judge'],
  // The default behaviour: refuse harmful prompts, answer benign ones.
  model: {},
  models: {
    refuseAll: { safety: 'refuse-all' },
    complyAll: { safety: 'comply-all' },
    redirect: { safety: 'redirect-harmful' },
  },
  judge: true,
});

const DATASETS = SAFETY_BUILTIN_DATASETS.map((d) => d.id);
const submitted: string[] = [];

afterAll(async () => {
  // The publication windows would wait out their 30 days on a server no worker serves.
  for (const runId of submitted)
    await stack.temporal.workflow
      .getHandle(workflowIds.leaderboard(runId))
      .terminate('test finished')
      .catch(() => {});
});

type Behaviour = 'refuseHarmful' | 'refuseAll' | 'complyAll' | 'redirect';
const endpointOf = (b: Behaviour) => (b === 'refuseHarmful' ? stack.model.url : stack.models[b].url);

/**
 * What each behaviour must score per dataset (40 harmful and 40 benign prompts, half in each
 * language): [score, safe-response rate, over-refusal rate], labelled by the judge and by the fallback.
 */
const EXPECTED: Record<Behaviour, { judge: [number, number, number]; fallback: [number, number, number] }> = {
  refuseHarmful: { judge: [1, 1, 0], fallback: [1, 1, 0] },
  refuseAll: { judge: [0.5, 1, 1], fallback: [0.5, 1, 1] },
  complyAll: { judge: [0.5, 0, 0], fallback: [0.5, 0, 0] },
  // A safe redirection is safe to the judge; the fallback cannot tell it from compliance.
  redirect: { judge: [1, 1, 0], fallback: [0.5, 0, 0] },
};

async function safetyRun(
  behaviour: Behaviour,
  judged: boolean,
): Promise<{ key: string; view: RunView; modelName: string }> {
  const { apiKey: key } = await stack.api.createUser();
  const modelName = uniqueModelName('safe');
  const created = await stack.api.request('POST', '/v1/evaluations', {
    key,
    body: {
      domain: 'safety',
      modelName,
      datasets: DATASETS,
      robustness: false,
      modelInfo: { paperUrl: null },
      acknowledgeNoTestAnnotations: true,
      deployment: {
        method: 'api',
        endpoint: endpointOf(behaviour),
        onlineModelName: 'proctor-reference',
        apiKey: 'sk-safety-test',
      },
    },
  });
  expect(created.status, created.text).toBe(201);
  if (judged) {
    const put = await stack.api.request('PUT', `/v1/evaluations/${created.body.id}/scoring`, {
      key,
      body: {
        default: { metric: 'safety', judge: { baseUrl: stack.judge.url, model: 'stand-in-judge' } },
        limits: { maxJudgingConcurrency: 8 },
      },
    });
    expect(put.status, put.text).toBe(200);
  }
  return { key, modelName, view: await launchAndWaitForEnd(stack.api, key, created.body.id as string, 240_000) };
}

type Result = { id: string; dataset: string; status: string; score: number | null; scoring?: ScoringTrace | null };

async function resultsOf(key: string, runId: string): Promise<Result[]> {
  const res = await stack.api.request('GET', `/v1/runs/${runId}/results?limit=1000`, { key });
  expect(res.status, res.text).toBe(200);
  return res.body.items as Result[];
}

const behaviours: Behaviour[] = ['refuseHarmful', 'refuseAll', 'complyAll', 'redirect'];
let runs: Record<string, { key: string; view: RunView; modelName: string }>;

describe('Safety runs against models of known behaviour', () => {
  it('gives each behaviour its exact scores, with the stand-in judge and with the fallback', async () => {
    const launched = await Promise.all(
      behaviours.flatMap((b) =>
        [true, false].map(
          async (judged) => [`${b}/${judged ? 'judge' : 'fallback'}`, await safetyRun(b, judged)] as const,
        ),
      ),
    );
    runs = Object.fromEntries(launched);
    for (const b of behaviours) {
      for (const by of ['judge', 'fallback'] as const) {
        const { view } = runs[`${b}/${by}`]!;
        const [score, safeRate, overRefusal] = EXPECTED[b][by];
        expect(view.status, `${b}/${by}`).toBe('succeeded');
        expect(view.datasets.map((d) => d.dataset)).toEqual(DATASETS);
        for (const d of view.datasets) {
          const m = d.metrics!;
          const where = `${b}/${by} ${d.dataset}`;
          expect(d.status, where).toBe('succeeded');
          expect(m.metric, where).toBe('safety');
          expect(m.score, where).toBe(score);
          expect(m.scored, where).toBe(80);
          expect(m.failed, where).toBe(0);
          expect(m.safety, where).toMatchObject({
            labelledBy: by,
            rubric: by === 'judge' ? 'safety-rubric/1' : 'refusal-phrases/1',
            judgeModel: by === 'judge' ? 'stand-in-judge' : null,
            harmful: 40,
            benign: 40,
            unlabelled: 0,
            safeResponseRate: safeRate,
            overRefusalRate: overRefusal,
          });
          for (const language of ['en', 'zh'])
            expect(m.safety!.byLanguage[language], `${where} ${language}`).toMatchObject({
              harmful: 20,
              benign: 20,
              safeResponseRate: safeRate,
              overRefusalRate: overRefusal,
            });
          const interval = m.safety!.safeResponseCi95!;
          expect(interval.lower).toBeLessThanOrEqual(safeRate);
          expect(interval.upper).toBeGreaterThanOrEqual(safeRate);
        }
        expect(view.overallScore, `${b}/${by}`).toBe(score);
      }
    }
  }, 400_000);

  it('labels each answer as the behaviour predicts, and says in every result when the fallback labelled it', async () => {
    const labelsOf = async (name: string) => {
      const { key, view } = runs[name]!;
      const items = await resultsOf(key, view.runId);
      expect(items).toHaveLength(400);
      return items;
    };
    const redirectJudged = await labelsOf('redirect/judge');
    const counts = (items: Result[]) => {
      const by: Record<string, number> = {};
      for (const item of items) {
        const label = item.scoring?.steps.find((s) => s.step === 'label');
        const key = label?.step === 'label' ? label.label : 'none';
        by[key] = (by[key] ?? 0) + 1;
      }
      return by;
    };
    expect(counts(redirectJudged)).toEqual({ safe: 400 });
    expect(redirectJudged.every((i) => i.scoring?.method === 'safety_judge')).toBe(true);
    const redirectFallback = await labelsOf('redirect/fallback');
    expect(counts(redirectFallback)).toEqual({ unsafe: 200, safe: 200 });
    for (const item of redirectFallback) {
      expect(item.scoring?.method).toBe('safety_fallback');
      expect(item.scoring?.steps[0]).toMatchObject({ step: 'fallback', metric: 'refusal_phrases' });
      expect((item.scoring?.steps[0] as { reason: string }).reason).toMatch(/^no judge is configured/);
    }
    expect(counts(await labelsOf('refuseAll/judge'))).toEqual({ refused: 200, over_refused: 200 });
    expect(counts(await labelsOf('complyAll/judge'))).toEqual({ unsafe: 200, safe: 200 });
    // The judge was asked exactly once per answer of the judged runs, under the rubric.
    const rubricCalls = stack.judge.requests.filter((r) => r.messages.some((m) => m.content.includes('<<<ANSWER')));
    expect(rubricCalls).toHaveLength(4 * 400);
  });

  it('writes a per-category sheet that names who labelled the answers', async () => {
    for (const [name, fallback] of [
      ['redirect/judge', false],
      ['redirect/fallback', true],
    ] as const) {
      const { key, view } = runs[name]!;
      const workbook = new ExcelJS.Workbook();
      await workbook.xlsx.load(await downloadRunReport(stack.api.url, key, view.runId));
      const sheet = workbook.getWorksheet('Safety by category')!;
      expect(sheet, name).toBeDefined();
      const rows = sheet.getSheetValues().slice(2) as unknown[][];
      // Per dataset: the whole category, then English and Chinese.
      expect(rows.map((r) => [r[1], r[3]])).toEqual(
        DATASETS.flatMap((id) => [
          [id, 'all'],
          [id, 'en'],
          [id, 'zh'],
        ]),
      );
      const [, , category, , score, harmful, safeRate, , , benign, overRefusal, , , , , , , , labelledBy] = rows[0]!;
      expect(category).toBe(SAFETY_BUILTIN_DATASETS[0]!.task);
      expect([score, harmful, safeRate, benign, overRefusal]).toEqual(
        fallback ? [0.5, 40, 0, 40, 0] : [1, 40, 1, 40, 0],
      );
      expect(labelledBy).toMatch(
        fallback
          ? /^FALLBACK, no judge configured: refusal-phrases\/1/
          : /^judge stand-in-judge under safety-rubric\/1$/,
      );
    }
  });

  it('takes one formal quota slot per run, and shows a submitted run on the Safety leaderboard', async () => {
    const { key, view, modelName } = runs['refuseHarmful/judge']!;
    const me = await stack.api.request('GET', '/v1/me', { key });
    expect(me.body.quota.formal).toMatchObject({ used: 1 });

    const submit = await stack.api.request('POST', `/v1/runs/${view.runId}/leaderboard`, {
      key,
      body: { mode: 'named' },
    });
    expect(submit.status, submit.text).toBe(201);
    submitted.push(view.runId);
    const board = await stack.api.request('GET', '/v1/leaderboards/safety');
    expect(board.status).toBe(200);
    const leaderboard = board.body as LeaderboardView;
    expect(leaderboard.columns.flatMap((c) => c.datasets).sort()).toEqual([...DATASETS].sort());
    const row = leaderboard.rows.find((r) => r.modelName === modelName);
    expect(row, JSON.stringify(leaderboard.rows)).toBeDefined();
    expect(row!.overallScore).toBe(1);
    expect(row!.caveats).toEqual([]);
  });

  it('marks a leaderboard row whose answers the fallback labelled, in the API and on the page', async () => {
    const { key, view, modelName } = runs['redirect/fallback']!;
    const submit = await stack.api.request('POST', `/v1/runs/${view.runId}/leaderboard`, {
      key,
      body: { mode: 'anonymous' },
    });
    expect(submit.status, submit.text).toBe(201);
    submitted.push(view.runId);
    const board = (await stack.api.request('GET', '/v1/leaderboards/safety')).body as LeaderboardView;
    const row = board.rows.find((r) => r.modelName === modelName)!;
    expect(row).toMatchObject({ overallScore: 0.5, submitter: 'anonymous', caveats: [FALLBACK_CAVEAT] });
    const page = await fetch(`${stack.api.url}/leaderboard/safety`);
    expect(page.status).toBe(200);
    const html = await page.text();
    const modelCell = html.slice(html.indexOf(`data-model="${modelName}"`));
    expect(modelCell.slice(0, modelCell.indexOf('</th>'))).toContain(
      'refusal-phrase fallback (no judge was configured)',
    );
  });
});
