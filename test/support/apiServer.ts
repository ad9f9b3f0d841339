/**
 * The real API for tests: listening on a free local port, on the run's PostgreSQL and Temporal,
 * with the built-in datasets and an admin key bootstrapped. No workers: tests that need runs to
 * execute start them with test/support/temporalTestKit.ts.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { buildApp } from '../../api/app';
import type { ApiDeps } from '../../api/apiDeps';
import { loadEnv } from '../../config/env';
import { connectDb } from '../../db/client';
import { bootstrap, generateApiKey } from '../../stack/bootstrap';
import type { Role } from '../../contracts/user';
import { requireEnv } from './env';

export interface ApiResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON when the response is JSON (problem+json included), the text otherwise. */
  body: any;
  /** The raw response text, e.g. to scan for something that must never appear. */
  text: string;
}

export interface RequestOptions {
  key?: string;
  /** Sent as JSON; a string is sent as is (with the content type given in headers, JSON by default). */
  body?: unknown;
  headers?: Record<string, string>;
}

export interface TestApi {
  url: string;
  app: FastifyInstance;
  deps: ApiDeps;
  adminKey: string;
  createUser(role?: Role): Promise<{ id: string; apiKey: string }>;
  request(method: string, path: string, options?: RequestOptions): Promise<ApiResponse>;
  close(): Promise<void>;
}

/** `databaseUrl`: another database than the run's (e.g. a fresh one, to see what bootstrap stores there). */
export async function startApi(options: { now?: () => Date; databaseUrl?: string } = {}): Promise<TestApi> {
  const env = loadEnv(options.databaseUrl ? { ...process.env, DATABASE_URL: options.databaseUrl } : process.env);
  const adminKey = generateApiKey();
  const dataDir = path.join(requireEnv('PROCTOR_TEST_DATA_DIR'), `api-${randomUUID().slice(0, 8)}`);
  await bootstrap({ databaseUrl: env.databaseUrl, dataDir, env: { PROCTOR_ADMIN_KEY: adminKey } });

  const database = connectDb(env.databaseUrl, { max: 20 });
  const connection = await Connection.connect({ address: requireEnv('TEMPORAL_ADDRESS') });
  const temporal = new Client({ connection, namespace: requireEnv('TEMPORAL_NAMESPACE') });
  const deps: ApiDeps = {
    db: database.db,
    temporal,
    env,
    logger: pino({ level: process.env.PROCTOR_TEST_LOG_LEVEL ?? 'silent' }),
    ...(options.now ? { now: options.now } : {}),
  };
  const app = await buildApp(deps);
  const url = await app.listen({ host: '127.0.0.1', port: 0 });

  const request = async (
    method: string,
    urlPath: string,
    { key, body, headers = {} }: RequestOptions = {},
  ): Promise<ApiResponse> => {
    const sent: Record<string, string> = { ...headers };
    if (key !== undefined) sent.authorization ??= `Bearer ${key}`;
    let payload: string | undefined;
    if (body !== undefined) {
      payload = typeof body === 'string' ? body : JSON.stringify(body);
      if (!Object.keys(sent).some((h) => h.toLowerCase() === 'content-type')) sent['content-type'] = 'application/json';
    }
    const res = await fetch(`${url}${urlPath}`, { method, headers: sent, body: payload });
    const text = await res.text();
    const json = /\bjson\b/.test(res.headers.get('content-type') ?? '');
    return { status: res.status, headers: res.headers, body: json && text ? JSON.parse(text) : text, text };
  };

  return {
    url,
    app,
    deps,
    adminKey,
    request,
    async createUser(role: Role = 'user') {
      const tag = randomUUID().slice(0, 8);
      const res = await request('POST', '/v1/users', {
        key: adminKey,
        body: {
          name: `Test ${role} ${tag}`,
          organization: 'Proctor tests',
          email: `${role}-${tag}@example.test`,
          role,
        },
      });
      if (res.status !== 201) throw new Error(`could not create a test user: ${res.status} ${res.text}`);
      return res.body as { id: string; apiKey: string };
    },
    async close() {
      await app.close();
      await database.close();
      await connection.close();
    },
  };
}
