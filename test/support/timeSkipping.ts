/**
 * Workflow tests on Temporal's time-skipping test server: a workflow's days-long timers fire as soon
 * as nothing else is left to do, so a test sees a submission window close or a week of reminders in
 * seconds. The server is the Java one from Maven Central (installTimeSkippingServer.sh, which .ci/run
 * calls first; a developer's first run installs it here), since the SDK's own download reaches GitHub.
 * These tests need none of the global set-up's services: each file starts its own server.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';

const INSTALLER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'installTimeSkippingServer.sh');

let launcher: Promise<string> | undefined;

/** The test server's launcher: PROCTOR_TEST_SERVER_PATH, or the one the installer puts in place. */
export function timeSkippingServerPath(): Promise<string> {
  launcher ??= process.env.PROCTOR_TEST_SERVER_PATH
    ? Promise.resolve(process.env.PROCTOR_TEST_SERVER_PATH)
    : promisify(execFile)('bash', [INSTALLER], { timeout: 300_000 }).then(
        ({ stdout }) => stdout.trim().split('\n').at(-1)!,
        (error: Error & { stderr?: string }) => {
          throw new Error(`could not install the time-skipping test server (${INSTALLER}): ${error.stderr ?? ''}`, {
            cause: error,
          });
        },
      );
  return launcher;
}

let runtimeInstalled = false;

/**
 * A time-skipping environment of the file's own. The SDK gives the server five seconds to listen;
 * a start that misses them on a busy machine is tried again.
 */
export async function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  if (!runtimeInstalled) {
    runtimeInstalled = true;
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  }
  const path = await timeSkippingServerPath();
  for (let attempt = 1; ; attempt++) {
    try {
      return await TestWorkflowEnvironment.createTimeSkipping({
        server: { executable: { type: 'existing-path', path } },
      });
    } catch (error) {
      if (attempt === 3 || !/did not start within/.test((error as Error).message)) throw error;
    }
  }
}
