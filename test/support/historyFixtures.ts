/**
 * Workflow histories kept as replay fixtures under test/fixtures/histories/ (listed in its
 * index.ts): written from real runs with the Temporal CLI (the JSON form Temporal's tools exchange
 * and the UI downloads) and read back for Worker.runReplayHistory. PROCTOR_RECORD_HISTORIES=1 makes
 * the tests that own a scenario rewrite its fixture.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import type { temporal } from '@temporalio/proto';
import { requireEnv } from './env';
import { readServicesState } from './services';
import { workflowBundle } from './temporalTestKit';
import { HISTORY_FIXTURES as REGISTERED } from '../fixtures/histories';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const HISTORY_FIXTURES_DIR = path.join(ROOT, 'test/fixtures/histories');
export const RECORD_HISTORIES = process.env.PROCTOR_RECORD_HISTORIES === '1';

export interface RecordedHistory {
  workflowId: string;
  workflowType: string;
  recordedWith: string;
  history: unknown;
}

/** The fixture `<name>.json`. */
export async function loadHistoryFixture(name: string): Promise<RecordedHistory> {
  return JSON.parse(await readFile(path.join(HISTORY_FIXTURES_DIR, `${name}.json`), 'utf8')) as RecordedHistory;
}

/** Every fixture file there is, registered or not. */
export async function loadHistoryFixtures(): Promise<{ file: string; recorded: RecordedHistory }[]> {
  const files = (await readdir(HISTORY_FIXTURES_DIR).catch(() => [] as string[]))
    .filter((f) => f.endsWith('.json'))
    .sort();
  return Promise.all(
    files.map(async (file) => ({
      file,
      recorded: JSON.parse(await readFile(path.join(HISTORY_FIXTURES_DIR, file), 'utf8')) as RecordedHistory,
    })),
  );
}

/**
 * Replays a history (a fixture's JSON, or one fetched just now) against today's workflow bundle;
 * rejects with the nondeterminism the replay met.
 */
export async function replayHistory(
  history: temporal.api.history.v1.IHistory | RecordedHistory,
  workflowId: string,
): Promise<void> {
  const parsed = 'history' in history ? historyFromJSON(history.history) : history;
  await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, parsed, workflowId);
}

/**
 * Writes the first execution's history of a workflow as the fixture `<name>.json`; the fixture
 * must be listed, with that workflow type and this test as its recorder, in the fixtures' index.
 */
export async function recordHistoryFixture(
  client: Client,
  name: string,
  workflowId: string,
  workflowType: string,
): Promise<void> {
  const registered = REGISTERED.find((f) => f.name === name);
  if (!registered || registered.workflowType !== workflowType)
    throw new Error(`fixture ${name} (${workflowType}) is not listed in test/fixtures/histories/index.ts`);
  await mkdir(HISTORY_FIXTURES_DIR, { recursive: true });
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
  await writeFile(path.join(HISTORY_FIXTURES_DIR, `${name}.json`), `${JSON.stringify(recorded, null, 1)}\n`);
}
