/**
 * Workflow histories kept as replay fixtures under test/fixtures/histories/: written from real runs
 * with the Temporal CLI (the JSON form Temporal's tools exchange and the UI downloads) and read back
 * for Worker.runReplayHistory. PROCTOR_RECORD_HISTORIES=1 makes the tests that own a scenario
 * rewrite its fixture.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Client } from '@temporalio/client';
import { requireEnv } from './env';
import { readServicesState } from './services';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const HISTORY_FIXTURES = path.join(ROOT, 'test/fixtures/histories');
export const RECORD_HISTORIES = process.env.PROCTOR_RECORD_HISTORIES === '1';

export interface RecordedHistory {
  workflowId: string;
  workflowType: string;
  recordedWith: string;
  history: unknown;
}

export async function loadHistoryFixtures(): Promise<{ file: string; recorded: RecordedHistory }[]> {
  const files = (await readdir(HISTORY_FIXTURES).catch(() => [] as string[])).filter((f) => f.endsWith('.json')).sort();
  return Promise.all(
    files.map(async (file) => ({
      file,
      recorded: JSON.parse(await readFile(path.join(HISTORY_FIXTURES, file), 'utf8')) as RecordedHistory,
    })),
  );
}

/** Writes the first execution's history of a workflow as the fixture `<name>.json`. */
export async function recordHistoryFixture(
  client: Client,
  name: string,
  workflowId: string,
  workflowType: string,
): Promise<void> {
  await mkdir(HISTORY_FIXTURES, { recursive: true });
  const description = await client.workflow.getHandle(workflowId).describe();
  const firstRunId = description.raw.workflowExecutionInfo?.firstRunId ?? description.runId;
  const { stdout } = await promisify(execFile)(
    readServicesState().temporal!.cliPath,
    [
      'workflow',
      'show',
      '--workflow-id',
      workflowId,
      '--run-id',
      firstRunId,
      '--output',
      'json',
      '--address',
      requireEnv('TEMPORAL_ADDRESS'),
      '--namespace',
      requireEnv('TEMPORAL_NAMESPACE'),
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  const recorded: RecordedHistory = {
    workflowId,
    workflowType,
    recordedWith: (JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version,
    history: JSON.parse(stdout) as unknown,
  };
  await writeFile(path.join(HISTORY_FIXTURES, `${name}.json`), `${JSON.stringify(recorded, null, 1)}\n`);
}
