/**
 * Records for workflow tests, written straight to the database: a user, a small dataset, an
 * evaluation and a launched-but-not-started run. The HTTP tests launch runs through the API instead.
 */
import { randomUUID } from 'node:crypto';
import type { Db } from '../../db/client';
import { datasetItems, datasets, evaluations, runDatasets, runs, users } from '../../db/schema';
import type { MetricName } from '../../contracts/dataset';
import type { Batching, RunConfig, RunType } from '../../contracts/run';
import { DEFAULT_INFERENCE, DEFAULT_LIMITS, type RunLimits } from '../../contracts/evaluation';

export interface FixtureDataset {
  id: string;
  task: string;
  metric: MetricName;
  size: number;
}

export async function insertUser(db: Db, role: 'user' | 'reviewer' | 'admin' = 'user'): Promise<string> {
  const [user] = await db
    .insert(users)
    .values({ name: `test ${role}`, organization: 'proctor tests', email: `${randomUUID()}@example.test`, role })
    .returning({ id: users.id });
  return user!.id;
}

/** An arithmetic dataset the reference model solves: `Compute a + b. Reply with the number only.` */
export async function insertArithmeticDataset(db: Db, size: number, task = 'arithmetic'): Promise<FixtureDataset> {
  const id = `t-${randomUUID().slice(0, 8)}`;
  await db.insert(datasets).values({
    id,
    name: id,
    domain: 'nlp',
    task,
    metric: 'exact_match',
    builtin: false,
    size,
    contentHash: `sha256:${id}`,
  });
  for (let start = 0; start < size; start += 1000) {
    const rows = [];
    for (let idx = start; idx < Math.min(size, start + 1000); idx++) {
      const a = 10 + (idx % 89);
      const b = 3 + ((idx * 7) % 97);
      rows.push({
        datasetId: id,
        idx,
        itemId: `${id}-${idx}`,
        prompt: `Compute ${a} + ${b}. Reply with the number only.`,
        groundTruth: String(a + b),
      });
    }
    await db.insert(datasetItems).values(rows);
  }
  return { id, task, metric: 'exact_match', size };
}

export interface RunFixtureOptions {
  ownerId: string;
  endpoint: string;
  datasets: FixtureDataset[];
  type?: RunType;
  limits?: Partial<RunLimits>;
  batching?: Batching;
  sampleIndices?: number[];
  apiKeyCipher?: string | null;
  onlineModelName?: string | null;
}

export async function insertRun(db: Db, o: RunFixtureOptions): Promise<string> {
  const runId = randomUUID();
  const modelName = `m-${runId.slice(0, 12)}`;
  const config: RunConfig = {
    domain: 'nlp',
    modelName,
    endpoint: o.endpoint,
    onlineModelName: o.onlineModelName === undefined ? 'proctor-reference' : o.onlineModelName,
    apiMode: 'chat',
    inference: DEFAULT_INFERENCE,
    limits: { ...DEFAULT_LIMITS, ...o.limits },
    datasets: o.datasets.map((d) => ({
      datasetId: d.id,
      task: d.task,
      metric: d.metric,
      contentHash: `sha256:${d.id}`,
      sampleIndices: o.sampleIndices ?? null,
    })),
    sampleSeed: o.sampleIndices ? 7 : null,
    batching: o.batching,
  };
  const [evaluation] = await db
    .insert(evaluations)
    .values({
      ownerId: o.ownerId,
      domain: 'nlp',
      modelName,
      datasetIds: o.datasets.map((d) => d.id),
      deployment: {
        method: 'api',
        endpoint: o.endpoint,
        onlineModelName: config.onlineModelName ?? undefined,
        apiMode: 'chat',
        apiKeySet: Boolean(o.apiKeyCipher),
      },
      apiKeyCipher: o.apiKeyCipher ?? null,
      robustness: false,
      modelInfo: { type: 'sft' },
      inference: DEFAULT_INFERENCE,
      limits: config.limits,
      runCounter: 1,
    })
    .returning({ id: evaluations.id });
  await db.insert(runs).values({
    id: runId,
    evaluationId: evaluation!.id,
    ownerId: o.ownerId,
    submitterId: o.ownerId,
    version: 1,
    type: o.type ?? 'formal',
    config,
    apiKeyCipher: o.apiKeyCipher ?? null,
  });
  await db.insert(runDatasets).values(
    o.datasets.map((d, position) => ({
      runId,
      datasetId: d.id,
      position,
      task: d.task,
      total: o.sampleIndices?.length ?? d.size,
    })),
  );
  return runId;
}
