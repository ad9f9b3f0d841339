/**
 * A run's answers beside a reference run's on one dataset (TI-ONE's per-sample comparison): both
 * answers and scores, paged, optionally only the disagreements, with the counts; and the same as
 * an Excel workbook. Both runs must be the caller's to see (admins: any), and must have scored the
 * dataset on the same content.
 */
import { PassThrough } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static } from '@sinclair/typebox';
import ExcelJS from 'exceljs';
import type { ApiDeps } from '../apiDeps';
import { nullable } from '../../contracts/common';
import { literalUnion } from '../../contracts/literalUnion';
import { badRequest, conflict } from '../http/problems';
import { problems } from '../http/openapi';
import { visibleRun } from '../rules/visibleRun';
import { comparedSamples, comparisonCounts } from '../../db/queries/runComparison';
import type { OwnedRun } from '../../db/queries/runViews';

const RunParams = Type.Object({ runId: Type.String({ description: 'the run id' }) });
const CompareQuery = Type.Object(
  {
    against: Type.String({ minLength: 1, maxLength: 64, description: 'is required: the reference run’s id' }),
    dataset: Type.String({ minLength: 1, maxLength: 64, description: 'is required: a dataset id both runs have' }),
    only: Type.Optional(
      literalUnion(['all', 'disagreements'], { description: 'one of all, disagreements (scores that differ)' }),
    ),
    limit: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: 'must be an integer from 1 to 1000' }),
    ),
    cursor: Type.Optional(
      Type.String({ pattern: '^[0-9]{1,9}$', description: 'must be the nextCursor of an earlier page' }),
    ),
  },
  { additionalProperties: false },
);
type CompareQuery = Static<typeof CompareQuery>;

const Side = Type.Object({
  predict: nullable(Type.String()),
  score: nullable(Type.Number()),
  status: Type.String(),
  promptTokens: Type.Integer({ description: 'prompt tokens of this answer (0 for a failed sample)' }),
  completionTokens: Type.Integer({ description: 'completion tokens of this answer' }),
});
const SideTokens = Type.Object({ promptTokens: Type.Integer(), completionTokens: Type.Integer() });
const ComparisonCountsView = Type.Object({
  both: Type.Integer({ description: 'samples both runs have' }),
  agree: Type.Integer(),
  disagree: Type.Integer(),
  runBetter: Type.Integer({ description: 'scored higher in this run (a failed sample counts 0)' }),
  referenceBetter: Type.Integer(),
  tokens: Type.Object(
    { run: SideTokens, reference: SideTokens },
    { description: 'tokens each run spent on the shared samples (docs/tokens-and-cost.md)' },
  ),
});
const ComparisonPage = Type.Object({
  runId: Type.String(),
  referenceRunId: Type.String(),
  dataset: Type.String(),
  counts: ComparisonCountsView,
  items: Type.Array(
    Type.Object({
      index: Type.Integer({ description: "the item's position in the dataset" }),
      id: Type.String(),
      sample: Type.String(),
      label: Type.String(),
      run: Side,
      reference: Side,
      agree: Type.Boolean({ description: 'the two scores are equal' }),
    }),
  ),
  nextCursor: nullable(Type.String()),
});

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const EXPORT_PAGE = 1000;

export async function runComparisonRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  /** Both runs, visible to the caller, with the dataset scored on the same content. */
  const pair = async (caller: Parameters<typeof visibleRun>[1], runId: string, q: CompareQuery) => {
    const run = await visibleRun(deps.db, caller, runId);
    let reference: OwnedRun;
    try {
      reference = await visibleRun(deps.db, caller, q.against);
    } catch {
      throw badRequest('against', 'names no run you can see');
    }
    const plan = (o: OwnedRun) => o.run.config.datasets.find((d) => d.datasetId === q.dataset);
    const [mine, theirs] = [plan(run), plan(reference)];
    if (!mine || !theirs)
      throw badRequest(
        'dataset',
        `must be a dataset both runs have (${!mine ? 'this run' : 'the reference run'} has no ${q.dataset})`,
      );
    if (mine.contentHash !== theirs.contentHash)
      throw conflict(
        `the runs scored different contents of ${q.dataset} (${mine.contentHash} and ${theirs.contentHash}); their samples do not compare`,
      );
    return { run, reference };
  };

  r.get(
    '/runs/:runId/comparison',
    {
      schema: {
        summary: 'This run’s answers beside a reference run’s on one dataset, sample by sample',
        description:
          'Samples both runs have, in this run’s order: the prompt, the label, both answers, scores and statuses; only=disagreements ' +
          'keeps those whose scores differ. counts covers every shared sample whatever the filter.',
        tags: ['runs'],
        params: RunParams,
        querystring: CompareQuery,
        response: { 200: ComparisonPage, ...problems(400, 403, 404, 409) },
      },
      config: { roles: ['user', 'admin'] },
    },
    async (request) => {
      const q = request.query;
      const { run, reference } = await pair(request.caller, request.params.runId, q);
      const ids = { runId: run.run.id, referenceRunId: reference.run.id, datasetId: q.dataset };
      const [page, counts] = await Promise.all([
        comparedSamples(deps.db, {
          ...ids,
          onlyDisagreements: q.only === 'disagreements',
          afterPosition: q.cursor === undefined ? -1 : Number(q.cursor),
          limit: q.limit ?? 100,
        }),
        comparisonCounts(deps.db, ids),
      ]);
      return {
        runId: ids.runId,
        referenceRunId: ids.referenceRunId,
        dataset: q.dataset,
        counts,
        items: page.items,
        nextCursor: page.next === null ? null : String(page.next),
      };
    },
  );

  r.get(
    '/runs/:runId/comparison.xlsx',
    {
      schema: {
        summary: 'The same comparison as an Excel workbook (Summary and Samples sheets)',
        tags: ['runs'],
        params: RunParams,
        querystring: Type.Omit(CompareQuery, ['limit', 'cursor']),
        response: {
          200: { description: 'the workbook', content: { [XLSX]: { schema: { type: 'string', format: 'binary' } } } },
          ...problems(400, 403, 404, 409),
        },
      },
      config: { roles: ['user', 'admin'] },
    },
    async (request, reply) => {
      const q = request.query;
      const { run, reference } = await pair(request.caller, request.params.runId, q);
      const ids = { runId: run.run.id, referenceRunId: reference.run.id, datasetId: q.dataset };
      const counts = await comparisonCounts(deps.db, ids);
      const stream = new PassThrough();
      const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ stream, useSharedStrings: false });
      const summary = workbook.addWorksheet('Summary');
      summary.columns = [{ width: 28 }, { width: 60 }];
      for (const [label, value] of [
        ['Dataset', q.dataset],
        ['Run', `${run.modelName} v${run.run.version} (${run.run.id})`],
        ['Reference run', `${reference.modelName} v${reference.run.version} (${reference.run.id})`],
        ['Shown', q.only === 'disagreements' ? 'disagreements only' : 'all shared samples'],
        ['Shared samples', counts.both],
        ['Agree', counts.agree],
        ['Disagree', counts.disagree],
        ['Run scored higher', counts.runBetter],
        ['Reference scored higher', counts.referenceBetter],
        ['Run prompt tokens', counts.tokens.run.promptTokens],
        ['Run completion tokens', counts.tokens.run.completionTokens],
        ['Reference prompt tokens', counts.tokens.reference.promptTokens],
        ['Reference completion tokens', counts.tokens.reference.completionTokens],
      ] as const)
        summary.addRow([label, value]).commit();
      summary.commit();
      const sheet = workbook.addWorksheet('Samples', { views: [{ state: 'frozen', ySplit: 1 }] });
      sheet.columns = [8, 24, 60, 24, 60, 10, 12, 60, 10, 12, 8, 12, 12, 12, 12].map((width) => ({ width }));
      const header = sheet.addRow([
        'Index',
        'Id',
        'Sample',
        'Label',
        'Run answer',
        'Run score',
        'Run status',
        'Reference answer',
        'Reference score',
        'Reference status',
        'Agree',
        'Run prompt tokens',
        'Run completion tokens',
        'Reference prompt tokens',
        'Reference completion tokens',
      ]);
      header.font = { bold: true };
      header.commit();
      reply
        .type(XLSX)
        .header(
          'content-disposition',
          `attachment; filename="comparison-${run.run.id.slice(0, 8)}-${reference.run.id.slice(0, 8)}-${q.dataset}.xlsx"`,
        );
      void (async () => {
        let after = -1;
        for (;;) {
          const page = await comparedSamples(deps.db, {
            ...ids,
            onlyDisagreements: q.only === 'disagreements',
            afterPosition: after,
            limit: EXPORT_PAGE,
          });
          for (const s of page.items)
            sheet
              .addRow([
                s.index,
                s.id,
                s.sample,
                s.label,
                s.run.predict,
                s.run.score,
                s.run.status,
                s.reference.predict,
                s.reference.score,
                s.reference.status,
                s.agree ? 'yes' : 'no',
                s.run.promptTokens,
                s.run.completionTokens,
                s.reference.promptTokens,
                s.reference.completionTokens,
              ])
              .commit();
          if (page.next === null) break;
          after = page.next;
        }
        sheet.commit();
        await workbook.commit();
      })().catch((error: unknown) => {
        request.log.error({ err: error }, 'comparison workbook failed');
        stream.destroy(error as Error);
      });
      // A stream is what fastify sends for a binary body; the schema only documents it.
      return reply.send(stream as unknown as string);
    },
  );
}
