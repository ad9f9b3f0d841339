/**
 * An inference-only run's answers exported as predictions: one JSON Lines file per dataset in
 * exactly the format `PUT /v1/evaluations/{id}/predictions/{datasetId}` accepts, so an
 * evaluation-only evaluation (here or elsewhere) can score them (docs/evaluation-modes.md).
 */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { ApiDeps } from '../apiDeps';
import { RunStatusSchema, TERMINAL_STATUSES, runModeOf, type RunStatus } from '../../contracts/run';
import { badRequest, conflict } from '../http/problems';
import { problems } from '../http/openapi';
import { visibleRun } from '../rules/visibleRun';
import { listRunDatasets } from '../../db/queries/runRecords';
import { runAnswersAsPredictions } from '../../db/queries/predictions';
import type { OwnedRun } from '../../db/queries/runViews';
import { attachment } from './runs';

const RunParams = Type.Object({ runId: Type.String({ description: 'the run id' }) });
const DatasetParams = Type.Object({
  runId: Type.String({ description: 'the run id' }),
  datasetId: Type.String({ maxLength: 128, description: 'one of the run’s datasets' }),
});

const RunPredictionsIndex = Type.Object({
  runId: Type.String(),
  datasets: Type.Array(
    Type.Object({
      datasetId: Type.String(),
      status: RunStatusSchema,
      items: Type.Integer({ description: 'the items of the dataset the run took' }),
      answered: Type.Integer({ description: 'items with a stored answer' }),
      failed: Type.Integer({ description: 'items whose inference failed: exported with prediction ""' }),
      exportable: Type.Boolean({ description: 'true once the dataset succeeded; its predictions are then at path' }),
      path: Type.String({ description: 'GET it for the dataset’s predictions as JSON Lines' }),
    }),
  ),
});

const access = { roles: ['user', 'admin'] };

export async function runPredictionsRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  r.get(
    '/runs/:runId/predictions',
    {
      schema: {
        summary: 'The datasets of an inference-only run whose answers can be exported as predictions',
        description:
          'One entry per dataset with its counts and the path of its predictions. 409 for a run that is not inference-only ' +
          '(field mode) or has not ended yet (field status).',
        tags: ['runs'],
        params: RunParams,
        response: { 200: RunPredictionsIndex, ...problems(403, 404, 409) },
      },
      config: access,
    },
    async (request) => {
      const { run } = exportableRun(await visibleRun(deps.db, request.caller, request.params.runId));
      const datasets = await listRunDatasets(deps.db, run.id);
      return {
        runId: run.id,
        datasets: datasets.map((d) => ({
          datasetId: d.datasetId,
          status: d.status,
          items: d.total,
          answered: d.done - d.failed,
          failed: d.failed,
          exportable: d.status === 'succeeded',
          path: `/v1/runs/${run.id}/predictions/${encodeURIComponent(d.datasetId)}`,
        })),
      };
    },
  );

  r.get(
    '/runs/:runId/predictions/:datasetId',
    {
      schema: {
        summary: 'One dataset’s answers of an inference-only run, as the predictions upload takes them (JSON Lines)',
        description:
          'One {"id", "prediction"} object per line, every item of the dataset in item order; an item whose inference failed ' +
          'has prediction "". Send the text unchanged as jsonl to PUT /v1/evaluations/{id}/predictions/{datasetId} of an ' +
          'evaluation-only evaluation. 409 for a run that is not inference-only (field mode), has not ended (field status), ' +
          'or whose dataset did not succeed (field datasetId); 400 for a dataset the run does not have.',
        tags: ['runs'],
        params: DatasetParams,
        response: {
          200: {
            description: 'the predictions, named <modelName>-v<version>-<datasetId>-predictions.jsonl',
            content: { 'application/x-ndjson': { schema: { type: 'string' } } },
          },
          ...problems(400, 403, 404, 409),
        },
      },
      config: access,
    },
    async (request, reply) => {
      const { run, modelName } = exportableRun(await visibleRun(deps.db, request.caller, request.params.runId));
      const { datasetId } = request.params;
      const dataset = (await listRunDatasets(deps.db, run.id)).find((d) => d.datasetId === datasetId);
      if (!dataset)
        throw badRequest(
          'datasetId',
          `"${datasetId}" is not one of run v${run.version}'s datasets (${run.config.datasets.map((d) => d.datasetId).join(', ')})`,
        );
      if (dataset.status !== 'succeeded')
        throw conflict(
          `dataset ${datasetId} of run v${run.version} ${describe(dataset.status)}: only a dataset that succeeded has an answer (or a failure) for every item, as an upload needs`,
          'datasetId',
        );
      const lines = await runAnswersAsPredictions(deps.db, run.id, datasetId);
      const filename = `${modelName}-v${run.version}-${datasetId}-predictions.jsonl`;
      return reply
        .type('application/x-ndjson; charset=utf-8')
        .header('content-disposition', attachment(filename))
        .send(lines.map((line) => `${JSON.stringify(line)}\n`).join(''));
    },
  );
}

/** The run when its answers can be exported: an inference-only run that has ended. */
function exportableRun(owned: OwnedRun): OwnedRun {
  const { run } = owned;
  const v = `run v${run.version}`;
  if (!run.config.inferenceOnly)
    throw conflict(
      `${v} is ${runModeOf(run.config)}, not inference-only: its answers were scored (see GET /v1/runs/${run.id}/results.jsonl); launch with mode inference-only for predictions to export`,
      'mode',
    );
  if (!TERMINAL_STATUSES.includes(run.status))
    throw conflict(`${v} is ${run.status}; its predictions can be exported once it has ended`, 'status');
  return owned;
}

function describe(status: RunStatus): string {
  return status === 'failed' ? 'failed' : status === 'stopped' ? 'was stopped' : `is ${status}`;
}
