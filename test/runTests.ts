/**
 * `npm test`: runs vitest (extra arguments pass through) and ends with exactly one summary line,
 * `Tests: N passed, N failed`. Anything that is not a pass counts as a failure: a failed, skipped or
 * todo test, a test file that failed to load or whose hooks failed, an error outside any test, or a
 * run that produced no results at all.
 */
import { spawn } from 'node:child_process';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface AssertionResult {
  status: string;
}
interface FileResult {
  name: string;
  status: string;
  message?: string;
  assertionResults: AssertionResult[];
}
interface JsonReport {
  testResults: FileResult[];
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// Per process: several people may run the suite in one checkout at once.
const resultsFile = path.join(ROOT, '.test-data', `vitest-results-${process.pid}.json`);

function runVitest(args: string[]): Promise<number> {
  const require = createRequire(import.meta.url);
  const vitest = path.join(path.dirname(require.resolve('vitest/package.json')), 'vitest.mjs');
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [vitest, 'run', '--reporter=default', '--reporter=json', `--outputFile=${resultsFile}`, ...args],
      { cwd: ROOT, stdio: 'inherit' },
    );
    // Ctrl-C reaches vitest too (same process group); let it tear the services down and report.
    const ignore = () => {};
    process.on('SIGINT', ignore);
    process.on('SIGTERM', ignore);
    child.on('error', (error) => {
      console.error(`could not run vitest: ${error.message}`);
      resolve(1);
    });
    child.on('close', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

function count(report: JsonReport): { passed: number; failed: number } {
  let passed = 0;
  let failed = 0;
  for (const file of report.testResults) {
    const filePassed = file.assertionResults.filter((a) => a.status === 'passed').length;
    let fileFailed = file.assertionResults.length - filePassed;
    // A file that failed to load, or whose hooks failed, may report no failing test of its own.
    if (file.status !== 'passed' && fileFailed === 0) fileFailed = 1;
    passed += filePassed;
    failed += fileFailed;
  }
  return { passed, failed };
}

await mkdir(path.dirname(resultsFile), { recursive: true });
await rm(resultsFile, { force: true });
const exitCode = await runVitest(process.argv.slice(2));

let passed = 0;
let failed = 0;
try {
  ({ passed, failed } = count(JSON.parse(await readFile(resultsFile, 'utf8')) as JsonReport));
  await rm(resultsFile, { force: true });
} catch (error) {
  console.error(`No test results from vitest (${(error as Error).message}); counting the run as failed.`);
  failed = Math.max(failed, 1);
}
if (exitCode !== 0 && failed === 0) {
  console.error(
    passed === 0
      ? `vitest exited with code ${exitCode} before any test ran (see the error above); counting it as a failure.`
      : `vitest exited with code ${exitCode} although every test passed (an error outside the tests); counting it as a failure.`,
  );
  failed = 1;
}
if (passed + failed === 0) {
  console.error('No tests ran; counting that as a failure.');
  failed = 1;
}
process.stdout.write(`Tests: ${passed} passed, ${failed} failed\n`);
process.exit(failed > 0 ? 1 : 0);
