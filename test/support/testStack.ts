/**
 * The parts of the stack a test file runs against, started before its tests and stopped after them:
 *
 *   const stack = useTestStack({ api: true, workers: true, model: { skill: 1 } });
 *   it('…', async () => { await stack.api.request('GET', '/v1/me', …); stack.model.url; … });
 *
 * A file that needs several reference models names them: `models: { strong: {…}, weak: {…} }`, then
 * `stack.models.strong.url`.
 *
 * It registers its own beforeAll and afterAll (call it at the top of the file or of a describe).
 * Parts start in the order database (the API's when there is one) → Temporal client → workers →
 * reference models → judge; workers stop first, so no activity is left running against a closed
 * model or database, then the rest in reverse. A part the file did not ask for, or reads before
 * beforeAll ran, throws saying so.
 */
import { afterAll, beforeAll } from 'vitest';
import type { Client } from '@temporalio/client';
import { connectDb, type Db, type DbHandle } from '../../db/client';
import { startReferenceModel, type ReferenceModel } from '../../stack/referenceModel/server';
import type { Knobs } from '../../stack/referenceModel/knobs';
import type { ActivityDeps } from '../../activities/activityDeps';
import { startApi, type TestApi } from './apiServer';
import { requireEnv } from './env';
import { startJudgeStandIn, type JudgeKnobs, type JudgeStandIn } from './judgeStandIn';
import { startWorkers, temporalClient, type RunningWorkers } from './temporalTestKit';

export interface TestStackOptions<M extends string = never> {
  /** The API in this process; the stack's database and Temporal client are then the API's. */
  api?: boolean;
  /** A database connection of the stack's own, when there is no API (`max` connections, default 10). */
  db?: boolean | { max?: number };
  /** A Temporal client of the stack's own, when there is no API. */
  temporal?: boolean;
  /** In-process workers: true for the runs and inference queues, or the queues to serve, or with deps. */
  workers?: boolean | string[] | { queues?: string[]; deps?: Partial<ActivityDeps> };
  /** A reference model on a free port, with these knobs. */
  model?: Partial<Knobs>;
  /** More reference models, each on a free port with its knobs, started in the order named after `model`. */
  models?: Record<M, Partial<Knobs>>;
  /** A stand-in judge model, with these knobs. */
  judge?: boolean | Partial<JudgeKnobs>;
}

export interface TestStack<M extends string = never> {
  readonly api: TestApi;
  readonly db: Db;
  readonly temporal: Client;
  readonly workers: RunningWorkers;
  readonly model: ReferenceModel;
  readonly models: Record<M, ReferenceModel>;
  readonly judge: JudgeStandIn;
}

export function useTestStack<M extends string = never>(options: TestStackOptions<M>): TestStack<M> {
  let api: TestApi | undefined;
  let dbHandle: DbHandle | undefined;
  let temporal: Awaited<ReturnType<typeof temporalClient>> | undefined;
  let workers: RunningWorkers | undefined;
  let model: ReferenceModel | undefined;
  let models: Partial<Record<M, ReferenceModel>> | undefined;
  let judge: JudgeStandIn | undefined;

  beforeAll(async () => {
    if (options.api) {
      api = await startApi();
    } else if (options.db || options.workers) {
      const max = typeof options.db === 'object' ? options.db.max : undefined;
      dbHandle = connectDb(requireEnv('DATABASE_URL'), max === undefined ? {} : { max });
    }
    if (options.temporal && !api) temporal = await temporalClient();
    if (options.workers) {
      const { queues, deps } = Array.isArray(options.workers)
        ? { queues: options.workers, deps: undefined }
        : options.workers === true
          ? { queues: undefined, deps: undefined }
          : options.workers;
      workers = await startWorkers((api?.deps.db ?? dbHandle?.db)!, queues, deps);
    }
    if (options.model) model = await startReferenceModel({ port: 0, knobs: options.model });
    if (options.models) {
      models = {};
      for (const name of Object.keys(options.models) as M[])
        models[name] = await startReferenceModel({ port: 0, knobs: options.models[name] });
    }
    if (options.judge) judge = await startJudgeStandIn(options.judge === true ? {} : { knobs: options.judge });
  });

  afterAll(async () => {
    await workers?.shutdown();
    await judge?.close();
    await model?.close();
    for (const m of Object.values<ReferenceModel | undefined>(models ?? {})) await m?.close();
    await temporal?.close();
    await dbHandle?.close();
    await api?.close();
  });

  const started = <T>(part: T | undefined, name: keyof TestStackOptions): T => {
    if (part === undefined)
      throw new Error(
        options[name] || (name === 'db' && (options.api || options.workers)) || (name === 'temporal' && options.api)
          ? `the test stack's ${name} is read before beforeAll started it`
          : `the test stack has no ${name}: pass ${name} to useTestStack`,
      );
    return part;
  };
  return {
    get api() {
      return started(api, 'api');
    },
    get db() {
      return started(api?.deps.db ?? dbHandle?.db, 'db');
    },
    get temporal() {
      return started(api?.deps.temporal ?? temporal?.client, 'temporal');
    },
    get workers() {
      return started(workers, 'workers');
    },
    get model() {
      return started(model, 'model');
    },
    get models() {
      return started(models as Record<M, ReferenceModel> | undefined, 'models');
    },
    get judge() {
      return started(judge, 'judge');
    },
  };
}
