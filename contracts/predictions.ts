/**
 * Uploaded predictions of an evaluation-only evaluation (`deployment.method: predictions`): one set
 * per upload and dataset, one prediction for every item, keyed by the dataset's item ids.
 */
import { Type, type Static } from '@sinclair/typebox';

export const UploadPredictionsBody = Type.Object(
  {
    jsonl: Type.String({
      minLength: 1,
      description:
        'must be JSON Lines, one {"id": "<item id>", "prediction": "<text>"} per item of the dataset, every item exactly once',
    }),
  },
  { additionalProperties: false },
);
export type UploadPredictionsBody = Static<typeof UploadPredictionsBody>;

export const PredictionSetViewSchema = Type.Object({
  setId: Type.String({ format: 'uuid', description: 'the upload; a launch freezes the latest set of each dataset' }),
  evaluationId: Type.String({ format: 'uuid' }),
  datasetId: Type.String(),
  items: Type.Integer({ description: 'predictions stored: one per item of the dataset' }),
  datasetContentHash: Type.String({
    description:
      'the dataset content the predictions were checked against; a launch refuses a set whose dataset changed since',
  }),
  createdAt: Type.String({ format: 'date-time' }),
});
export type PredictionSetView = Static<typeof PredictionSetViewSchema>;

export const PredictionSetList = Type.Object({
  items: Type.Array(PredictionSetViewSchema, { description: 'the latest set of each dataset, in dataset id order' }),
});
