/**
 * The harness itself: the global setup's PostgreSQL is migrated, its Temporal server knows Proctor's
 * search attributes, and both survive a restart from inside a test with their data intact.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { getTableName, is, sql } from 'drizzle-orm';
import { PgTable } from 'drizzle-orm/pg-core';
import { Client, Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import * as schema from '../../db/schema';
import { SEARCH_ATTRIBUTE_KEYS, SEARCH_ATTRIBUTES } from '../../temporal.config';
import { requireEnv } from '../support/env';
import { restartPostgres, restartTemporal } from '../support/services';
import { useTestStack } from '../support/testStack';

const KEYWORD = proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;

const stack = useTestStack({ db: { max: 2 } });

async function withTemporal<T>(fn: (client: Client, connection: Connection) => Promise<T>): Promise<T> {
  const connection = await Connection.connect({ address: requireEnv('TEMPORAL_ADDRESS') });
  try {
    return await fn(new Client({ connection, namespace: requireEnv('TEMPORAL_NAMESPACE') }), connection);
  } finally {
    await connection.close();
  }
}

async function customSearchAttributes(connection: Connection): Promise<Record<string, number>> {
  const response = await connection.operatorService.listSearchAttributes({
    namespace: requireEnv('TEMPORAL_NAMESPACE'),
  });
  return (response.customAttributes ?? {}) as Record<string, number>;
}

describe('test harness', () => {
  it('provides the settings tests need', () => {
    expect(Buffer.from(requireEnv('PROCTOR_SECRET_KEY'), 'base64')).toHaveLength(32);
    expect(requireEnv('PROCTOR_TEST_DATA_DIR')).toContain('.test-data');
    expect(() => requireEnv('PROCTOR_NO_SUCH_SETTING')).toThrow(/PROCTOR_NO_SUCH_SETTING is not set/);
  });

  it('connects to PostgreSQL with every table of the schema migrated', async () => {
    const [row] = await stack.db.execute<{ one: number }>(sql`select 1 as one`);
    expect(row!.one).toBe(1);

    const expected = Object.values(schema)
      .filter((value) => is(value, PgTable))
      .map((table) => getTableName(table as PgTable));
    expect(expected.length).toBeGreaterThan(5);
    const rows = await stack.db.execute<{ table_name: string }>(
      sql`select table_name from information_schema.tables where table_schema = 'public'`,
    );
    expect(rows.map((r) => r.table_name)).toEqual(expect.arrayContaining(expected));
  });

  it("connects to Temporal with Proctor's search attributes registered and queryable", async () => {
    await withTemporal(async (client, connection) => {
      const attributes = await customSearchAttributes(connection);
      for (const key of Object.values(SEARCH_ATTRIBUTE_KEYS)) expect(attributes[key.name], key.name).toBe(KEYWORD);

      const found = [];
      for await (const wf of client.workflow.list({ query: `${SEARCH_ATTRIBUTES.owner} = "nobody-${randomUUID()}"` }))
        found.push(wf);
      expect(found).toHaveLength(0);
    });
  });

  it('restarts Temporal on the same port and SQLite file, keeping workflows and search attributes', async () => {
    const workflowId = `harness-${randomUUID()}`;
    // No worker polls this queue: the execution simply stays open, which is all this needs.
    await withTemporal((client) =>
      client.workflow.start('harnessNoSuchWorkflow', { workflowId, taskQueue: `harness-${randomUUID()}` }),
    );

    await restartTemporal();

    await withTemporal(async (client, connection) => {
      const description = await client.workflow.getHandle(workflowId).describe();
      expect(description.status.name).toBe('RUNNING');
      const attributes = await customSearchAttributes(connection);
      for (const key of Object.values(SEARCH_ATTRIBUTE_KEYS)) expect(attributes[key.name], key.name).toBe(KEYWORD);
      await client.workflow.getHandle(workflowId).terminate('harness test done');
    });
  });

  it('restarts PostgreSQL on the same port and data directory; an open pool reconnects', async () => {
    const marker = randomUUID();
    await stack.db.execute(sql`create table if not exists harness_restart (marker text primary key)`);
    await stack.db.execute(sql`insert into harness_restart (marker) values (${marker})`);

    await restartPostgres();

    // The pool's old connections died with the server; postgres.js reconnects on the next query,
    // though a query already sent to a dead connection may fail once.
    let rows: { marker: string }[];
    for (let attempt = 0; ; attempt++) {
      try {
        rows = await stack.db.execute<{ marker: string }>(
          sql`select marker from harness_restart where marker = ${marker}`,
        );
        break;
      } catch (error) {
        if (attempt >= 3) throw error;
      }
    }
    expect(rows).toEqual([{ marker }]);
    await stack.db.execute(sql`drop table harness_restart`);
  });
});
