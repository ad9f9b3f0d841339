import { defineConfig } from 'vitest/config';

/**
 * Test files that need none of the global set-up's services: pure modules (scoring, datasets,
 * contracts, mail content, storage and config parsing) and in-process HTTP stand-ins. A new file
 * belongs to `integration` until it is listed here; `npm run test:unit` runs these without a
 * PostgreSQL, Temporal or Docker engine, so one that needs them fails there rather than passing
 * by luck.
 */
const UNIT_TESTS = [
  'test/batch/resultBuffer.test.ts',
  'test/traffic/aimdLimit.test.ts',
  'test/traffic/reckonedTokens.test.ts',
  'test/code/codeMetric.test.ts',
  'test/comparisons/weightedRanking.test.ts',
  'test/customImages/inferenceProxy.test.ts',
  'test/datasets/builtinCatalog.test.ts',
  'test/datasets/contentHash.test.ts',
  'test/scoring/safetyScoring.test.ts',
  'test/scoring/leaderboardRanking.test.ts',
  'test/stack/dockerInstall.test.ts',
  'test/datasets/jsonlParser.test.ts',
  'test/datasets/multimodalDataset.test.ts',
  'test/datasets/multimodal/builtinImages.test.ts',
  'test/datasets/multimodal/colourBlobs.test.ts',
  'test/datasets/multimodal/mmShapesRetrieval.test.ts',
  'test/datasets/multimodal/mmShapesT2i.test.ts',
  'test/datasets/multimodal/mmShapesVqa.test.ts',
  'test/datasets/multimodal/sceneDraw.test.ts',
  'test/datasets/multimodal/t2iCheck.test.ts',
  'test/datasets/prng.test.ts',
  'test/datasets/referenceModelFit.test.ts',
  'test/datasets/safetyDatasets.test.ts',
  'test/docker/containerJobSpec.test.ts',
  'test/docker/containerLogs.test.ts',
  'test/docker/containerSpec.test.ts',
  'test/docker/debianMirror.test.ts',
  'test/errorTypes.test.ts',
  'test/inference/endpointReadinessProbe.test.ts',
  'test/inference/endpointTransport.test.ts',
  'test/inference/funcEndpoint.test.ts',
  'test/inference/generationSettings.test.ts',
  'test/inference/inferenceErrors.test.ts',
  'test/inference/inferWithRetries.test.ts',
  'test/inference/modelEndpoint.test.ts',
  'test/inference/nodeHttpFetch.test.ts',
  'test/inference/pictureContent.test.ts',
  'test/inference/retryWithBackoff.test.ts',
  'test/tokens/tokenCount.test.ts',
  'test/tokens/runEstimate.test.ts',
  'test/multimodal/dataServer.test.ts',
  'test/multimodal/referenceUpload.test.ts',
  'test/judge/scoringPipeline.test.ts',
  'test/notifications/mailContent.test.ts',
  'test/referenceModel/*.test.ts',
  'test/review/reviewUnits.test.ts',
  'test/scoring/binomialDraw.test.ts',
  'test/scoring/bleu.test.ts',
  'test/scoring/bootstrapInterval.test.ts',
  'test/scoring/customImageMetrics.test.ts',
  'test/scoring/extractors.test.ts',
  'test/scoring/f1.test.ts',
  'test/scoring/metrics.test.ts',
  'test/scoring/multimodal/retrievalScoring.test.ts',
  'test/scoring/multimodal/vqaScoring.test.ts',
  'test/scoring/perturb.test.ts',
  'test/scoring/programPrefix.test.ts',
  'test/scoring/rougeL.test.ts',
  'test/scoring/scoreAggregation.test.ts',
  'test/scoring/tokenize.test.ts',
  'test/storage/jobOutputs.test.ts',
  'test/storage/multimodalOutputs.test.ts',
  'test/storage/npyFile.test.ts',
  'test/uploads/stagingTree.test.ts',
  'test/uploads/uploadCheck.test.ts',
  'test/backbone/backboneJobFile.test.ts',
  'test/uploads/uploadPaths.test.ts',
  'test/workers/workflowBundle.test.ts',
  'test/workflows/datasetProgress.test.ts',
];
/**
 * Workflow tests on Temporal's time-skipping test server (test/support/timeSkipping.ts): stubbed
 * activities, no global services, days of workflow time in seconds.
 */
const WORKFLOW_TESTS = ['test/**/*.timeSkipping.test.ts'];

export default defineConfig({
  test: {
    // Worker threads cannot host Temporal's native workers reliably; processes can, and a test
    // can crash one without taking the run down.
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 180_000,
    teardownTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: UNIT_TESTS,
          exclude: WORKFLOW_TESTS,
          testTimeout: 30_000,
          // First, before the integration files take the machine's cores.
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'workflow',
          include: WORKFLOW_TESTS,
          // Each file starts a JVM for its test server; two at once is what a two-core machine takes.
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: [...UNIT_TESTS, ...WORKFLOW_TESTS],
          // One PostgreSQL and one Temporal server for the whole run (see test/support/globalSetup.ts).
          globalSetup: 'test/support/globalSetup.ts',
          // Each file starts with no workflow of an earlier file still running on the shared queues.
          setupFiles: ['test/support/noLeftoverWorkflows.ts'],
          // Files run one at a time: they share those servers, some restart them mid-test, and the
          // machine the suite must fit on has two cores that the workers under test need too.
          fileParallelism: false,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
