/**
 * Bundles the workflow code into one file the Temporal worker loads as is:
 *
 *   npm run bundle:workflows -- /path/to/workflows.js
 *
 * Workers run this in a child process at start-up (workflowBundle.ts) unless PROCTOR_WORKFLOW_BUNDLE
 * names a bundle built beforehand, e.g. in a deployment's image build.
 */
import { writeFile } from 'node:fs/promises';
import { bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOWS_PATH } from './createWorkers';

const out = process.argv[2];
if (!out) {
  process.stderr.write('usage: bundleWorkflows.ts OUTPUT_FILE\n');
  process.exit(2);
}
const { code } = await bundleWorkflowCode({
  workflowsPath: WORKFLOWS_PATH,
  logger: { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} },
});
await writeFile(out, code);
