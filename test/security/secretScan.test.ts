/**
 * Secrets never leave their vault (DESIGN decision 5). An evaluation's model API key is
 * given to a model endpoint that echoes the Authorization header back in every error body (a 401
 * quoting it, a 500 quoting it, a response header quoting it). A verification and a formal run
 * with failed samples and a failed dataset go through a real API process and a real worker process
 * on a Temporal dev server of the test's own that serves its web UI. Then everything the platform
 * wrote is searched for the key (and for the users' API keys): every workflow history, payloads
 * decoded; describe results with memo and search attributes; the Temporal UI server's HTTP API for
 * those workflows; the API's, the worker's and Temporal's output; run logs (table and endpoint);
 * run views, results and the Excel report; every row of every table. The key may exist only as
 * ciphertext, and that ciphertext must open to it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eq, sql } from 'drizzle-orm';
import { loadEnv } from '../../config/env';
import { evaluations, runLogs, runs } from '../../db/schema';
import { openSecret } from '../../db/secretBox';
import { bootstrap, generateApiKey } from '../../stack/bootstrap';
import { startTemporalDevServer, type TemporalDevServer } from '../../stack/temporalServer';
import { generateArithBasic } from '../../datasets/builtin/arithBasic';
import { workflowIds } from '../../temporal.config';
import { requireEnv } from '../support/env';
import { freePorts } from '../support/ports';
import { readServicesState } from '../support/services';
import { startWorkerProcess, type WorkerProcess } from '../support/workerProcess';
import { startLeakyModel, type LeakyModel } from './leakyModel';
import { leaksIn, textOf, zipText } from './scanText';
import { useTestStack } from '../support/testStack';

const API_MAIN = fileURLToPath(new URL('../../api/main.ts', import.meta.url));
const NAMESPACE = 'default';
const TERMINAL = ['succeeded', 'failed', 'stopped'];

/** The random core of the model key: found anywhere, even with its prefix cut or the header around it, it is a leak. */
const KEY_CORE = randomUUID().replaceAll('-', '');
const MODEL_KEY = `sk-leak-${KEY_CORE}`;

// The database is the suite's; Temporal, the API and the worker are this file's own, started below.
const stack = useTestStack({ db: true });
let temporalServer: TemporalDevServer;
let temporal: { client: Client; connection: Connection };
let model: LeakyModel;
let worker: WorkerProcess;
let apiProcess: ChildProcess;
let apiOutput = '';
let apiUrl: string;
let adminKey: string;
const savedTemporalAddress = process.env.TEMPORAL_ADDRESS;

async function call(method: string, urlPath: string, key: string, body?: unknown) {
  const res = await fetch(`${apiUrl}${urlPath}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const bytes = Buffer.from(await res.arrayBuffer());
  const text = bytes.toString('utf8');
  const json = /\bjson\b/.test(res.headers.get('content-type') ?? '');
  return { status: res.status, headers: res.headers, bytes, text, body: json && text ? JSON.parse(text) : text };
}

beforeAll(async () => {
  const [temporalPort, uiPort, apiPort] = await freePorts(3);
  const dir = path.join(requireEnv('PROCTOR_TEST_DATA_DIR'), `secret-scan-${randomUUID().slice(0, 8)}`);
  // The suite's shared dev server runs headless; this one serves the web UI, whose HTTP API is scanned too.
  temporalServer = await startTemporalDevServer({
    cli: { path: readServicesState().temporal!.cliPath },
    dataDir: path.join(dir, 'temporal'),
    port: temporalPort,
    uiPort,
    namespace: NAMESPACE,
  });
  // This file runs in a process of its own: the worker started below inherits this address.
  process.env.TEMPORAL_ADDRESS = temporalServer.address;
  const connection = await Connection.connect({ address: temporalServer.address });
  temporal = { connection, client: new Client({ connection, namespace: NAMESPACE }) };
  model = await startLeakyModel();

  adminKey = generateApiKey();
  await bootstrap({ databaseUrl: requireEnv('DATABASE_URL'), dataDir: dir, env: { PROCTOR_ADMIN_KEY: adminKey } });
  apiProcess = spawn(process.execPath, ['--import', 'tsx', API_MAIN], {
    env: {
      ...process.env,
      PROCTOR_API_HOST: '127.0.0.1',
      PROCTOR_API_PORT: String(apiPort),
      PROCTOR_LOG_LEVEL: 'debug',
      PROCTOR_DATA_DIR: dir,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  apiProcess.stdout!.on('data', (chunk) => (apiOutput += chunk));
  apiProcess.stderr!.on('data', (chunk) => (apiOutput += chunk));
  for (let waited = 0; !apiOutput.includes('api listening'); waited += 100) {
    if (apiProcess.exitCode !== null || waited > 120_000)
      throw new Error(`the API process did not start:\n${apiOutput}`);
    await sleep(100);
  }
  apiUrl = `http://127.0.0.1:${apiPort}`;
  worker = await startWorkerProcess({ PROCTOR_LOG_LEVEL: 'debug', PROCTOR_WORKER_QUEUES: 'runs,inference' });
});

afterAll(async () => {
  await worker?.kill('SIGTERM');
  if (apiProcess && apiProcess.exitCode === null) {
    const exited = new Promise((resolve) => apiProcess.once('exit', resolve));
    apiProcess.kill('SIGTERM');
    await exited;
  }
  await model?.close();
  await temporal?.connection.close();
  await temporalServer?.stop();
  process.env.TEMPORAL_ADDRESS = savedTemporalAddress;
});

async function registerDataset(
  key: string,
  id: string,
  items: { prompt: string; ground_truth: string }[],
): Promise<void> {
  const jsonl = items.map((item, i) => JSON.stringify({ id: `q${i}`, ...item })).join('\n');
  const res = await call('POST', '/v1/datasets', key, {
    id,
    name: id,
    domain: 'nlp',
    task: 'secrets',
    metric: 'exact_match',
    jsonl,
  });
  expect(res.status, res.text).toBe(201);
}

async function untilEnded(runId: string, key: string): Promise<any> {
  for (;;) {
    const view = await call('GET', `/v1/runs/${runId}`, key);
    expect(view.status, view.text).toBe(200);
    if (TERMINAL.includes(view.body.status)) return view.body;
    await sleep(250);
  }
}

/** Every page of a workflow's history as the Temporal UI server answers it. */
async function uiHistory(uiUrl: string, workflowId: string, runId: string): Promise<string> {
  const pages: string[] = [];
  let token = '';
  do {
    const res = await fetch(
      `${uiUrl}/api/v1/namespaces/${NAMESPACE}/workflows/${encodeURIComponent(workflowId)}/history?execution.runId=${runId}&next_page_token=${encodeURIComponent(token)}`,
    );
    const text = await res.text();
    expect(res.status, text).toBe(200);
    const json = JSON.parse(text);
    pages.push(text, textOf(json));
    token = json.nextPageToken ?? '';
  } while (token);
  return pages.join('\n');
}

it(
  'keeps the model API key out of histories, the Temporal UI, logs, reports and every stored row',
  { timeout: 300_000 },
  async () => {
    const created = await call('POST', '/v1/users', adminKey, {
      name: 'Secret keeper',
      organization: 'Proctor tests',
      email: `keeper-${randomUUID().slice(0, 8)}@example.test`,
      role: 'user',
    });
    expect(created.status, created.text).toBe(201);
    const userKey = created.body.apiKey as string;

    const arithmetic = `leak-arith-${randomUUID().slice(0, 8)}`;
    const words = `leak-words-${randomUUID().slice(0, 8)}`;
    await registerDataset(userKey, arithmetic, generateArithBasic(12));
    await registerDataset(
      userKey,
      words,
      Array.from({ length: 12 }, (_, i) => ({ prompt: `Repeat the word number ${i}.`, ground_truth: `number ${i}` })),
    );

    const evaluation = {
      domain: 'nlp',
      modelName: `leaky-${randomUUID().slice(0, 8)}`,
      datasets: [arithmetic, words],
      deployment: { method: 'api', endpoint: model.url, onlineModelName: 'leaky', apiKey: MODEL_KEY, apiMode: 'chat' },
      robustness: false,
      modelInfo: { type: 'sft' },
      acknowledgeNoTestAnnotations: true,
      limits: { maxConcurrency: 4, maxRetryPerQuery: 1, requestTimeoutMs: 5_000 },
    };
    // A refused body carrying the key: the problem it gets back must not quote it.
    const refused = await call('POST', '/v1/evaluations', userKey, {
      ...evaluation,
      modelName: 'bad name with spaces!',
    });
    expect(refused.status).toBe(400);
    const made = await call('POST', '/v1/evaluations', userKey, evaluation);
    expect(made.status, made.text).toBe(201);
    const evaluationId = made.body.id as string;

    const verification = await call('POST', `/v1/evaluations/${evaluationId}/verifications`, userKey, {
      samplesPerDataset: 3,
    });
    const formal = await call('POST', `/v1/evaluations/${evaluationId}/runs`, userKey);
    expect([verification.status, formal.status]).toEqual([202, 202]);
    const runIds = [verification.body.runId as string, formal.body.runId as string];
    const views = await Promise.all(runIds.map((id) => untilEnded(id, userKey)));

    // The runs met the echoing endpoint with the key, and failed samples and a failed dataset came of it.
    expect(model.authorizations).toContain(`Bearer ${MODEL_KEY}`);
    const formalView = views[1];
    expect(formalView.datasets.find((d: any) => d.dataset === words)?.status).toBe('failed');
    expect(formalView.datasets.find((d: any) => d.dataset === arithmetic)?.failed).toBeGreaterThan(0);

    const places: Record<string, string> = {};
    places['refused create (problem+json)'] = refused.text;
    for (const runId of runIds) {
      for (const suffix of ['', '/results?limit=100', '/results.jsonl', '/logs']) {
        const res = await call('GET', `/v1/runs/${runId}${suffix}`, userKey);
        expect(res.status, `${suffix}: ${res.text}`).toBe(200);
        places[`GET /v1/runs/${runId}${suffix}`] = res.text;
      }
      // The report is written after the run ends: wait for it.
      let report = await call('GET', `/v1/runs/${runId}/report.xlsx`, userKey);
      for (let i = 0; report.status !== 200 && i < 600; i++) {
        await sleep(250);
        report = await call('GET', `/v1/runs/${runId}/report.xlsx`, userKey);
      }
      expect(report.status, report.text).toBe(200);
      places[`report.xlsx of ${runId}`] = zipText(report.bytes);
      const logRows = await stack.db.select().from(runLogs).where(eq(runLogs.runId, runId));
      expect(logRows.length).toBeGreaterThan(0);
      places[`run_logs rows of ${runId}`] = textOf(logRows);
    }
    places['GET /v1/evaluations/{id}'] = (await call('GET', `/v1/evaluations/${evaluationId}`, userKey)).text;
    places['GET /v1/evaluations/{id}/runs'] = (await call('GET', `/v1/evaluations/${evaluationId}/runs`, userKey)).text;

    // Temporal: every execution in this server's namespace belongs to these two runs.
    const executions: { workflowId: string; runId: string }[] = [];
    for await (const wf of temporal.client.workflow.list())
      executions.push({ workflowId: wf.workflowId, runId: wf.runId });
    expect(executions.length).toBeGreaterThanOrEqual(4); // two runs, two datasets each
    for (const { workflowId, runId } of executions) {
      const wf = temporal.client.workflow.getHandle(workflowId, runId);
      const history = await wf.fetchHistory();
      places[`history of ${workflowId}/${runId}`] = textOf(history);
      const described = await wf.describe();
      places[`describe of ${workflowId}/${runId}`] = textOf(described.raw);
      places[`memo and search attributes of ${workflowId}/${runId}`] = textOf({
        memo: described.memo,
        searchAttributes: described.searchAttributes,
      });
      const ui = temporalServer.uiUrl!;
      const uiDescribe = await fetch(
        `${ui}/api/v1/namespaces/${NAMESPACE}/workflows/${encodeURIComponent(workflowId)}?execution.runId=${runId}`,
      );
      const uiDescribeText = await uiDescribe.text();
      expect(uiDescribe.status, uiDescribeText).toBe(200);
      places[`Temporal UI describe of ${workflowId}`] = `${uiDescribeText}\n${textOf(JSON.parse(uiDescribeText))}`;
      places[`Temporal UI history of ${workflowId}`] = await uiHistory(ui, workflowId, runId);
    }
    const uiList = await (
      await fetch(`${temporalServer.uiUrl}/api/v1/namespaces/${NAMESPACE}/workflows?query=`)
    ).text();
    places['Temporal UI workflow list'] = `${uiList}\n${textOf(JSON.parse(uiList))}`;
    expect(places[`Temporal UI history of ${executions[0]!.workflowId}`]).toContain(
      'EVENT_TYPE_WORKFLOW_EXECUTION_STARTED',
    );

    places['API process output'] = apiOutput;
    places['worker process output'] = worker.output();
    places['Temporal server log'] =
      temporalServer.logFile && existsSync(temporalServer.logFile) ? readFileSync(temporalServer.logFile, 'utf8') : '';
    const pg = readServicesState().postgres;
    if (pg?.embedded) places['PostgreSQL server log'] = readFileSync(path.join(pg.dataDir, 'postgres.log'), 'utf8');
    expect(places['worker process output']).toContain('worker started');
    expect(places['API process output']).toContain('api listening');

    // Every row of every table, as JSON.
    const tables = (await stack.db.execute(
      sql`select table_name as name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'`,
    )) as unknown as { name: string }[];
    expect(tables.map((t) => t.name)).toEqual(
      expect.arrayContaining(['evaluations', 'runs', 'sample_results', 'run_logs', 'api_keys']),
    );
    for (const { name } of tables) {
      const rows = (await stack.db.execute(
        sql.raw(`select row_to_json(t)::text as row from "${name}" t`),
      )) as unknown as { row: string }[];
      places[`table ${name}`] = rows.map((r) => r.row).join('\n');
    }

    // Positive controls: the scan reads what it claims to. Payloads are decoded (the run workflows' input is
    // {"runId": …} as payload bytes, base64 in the UI server's answers), the report is unzipped, the logs are there.
    for (const runId of runIds) {
      const input = `"runId":"${runId}"`;
      expect(
        places[
          `history of ${workflowIds.run(runId)}/${executions.find((e) => e.workflowId === workflowIds.run(runId))!.runId}`
        ],
      ).toContain(input);
      expect(places[`Temporal UI history of ${workflowIds.run(runId)}`]).toContain(input);
      expect(places[`report.xlsx of ${runId}`]).toContain(evaluation.modelName);
      expect(places['worker process output']).toContain(runId);
    }
    expect(
      leaksIn(
        {
          control: textOf({
            data: new TextEncoder().encode(MODEL_KEY),
            b64: Buffer.from(`{"k":"${MODEL_KEY}"}`).toString('base64'),
          }),
        },
        { key: KEY_CORE },
      ),
    ).toHaveLength(1);

    const leaks = leaksIn(places, {
      'the model API key': KEY_CORE,
      "the user's API key": userKey,
      "the admin's API key": adminKey,
    });
    expect(leaks).toEqual([]);

    // The key is stored, as ciphertext that opens to it, on the evaluation and on both runs.
    const secretKey = loadEnv(process.env).secretKey;
    const [evaluationRow] = await stack.db
      .select({ cipher: evaluations.apiKeyCipher })
      .from(evaluations)
      .where(eq(evaluations.id, evaluationId));
    const runRows = await stack.db
      .select({ cipher: runs.apiKeyCipher })
      .from(runs)
      .where(eq(runs.evaluationId, evaluationId));
    const ciphers = [evaluationRow!.cipher, ...runRows.map((r) => r.cipher)];
    expect(ciphers).toHaveLength(3);
    for (const cipher of ciphers) expect(openSecret(secretKey, cipher!)).toBe(MODEL_KEY);
  },
);
