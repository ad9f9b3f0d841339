/** Users and keys through HTTP: admins create users, keys are shown once and stored hashed, /me. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { apiKeys, quotaUsage, users } from '../../db/schema';
import { utcMonth } from '../../db/queries/quota';
import { startApi, type TestApi } from '../support/apiServer';

let api: TestApi;

beforeAll(async () => {
  api = await startApi();
});
afterAll(async () => {
  await api?.close();
});

function email(): string {
  return `u-${randomUUID().slice(0, 8)}@example.test`;
}

describe('POST /v1/users', () => {
  it('creates a user whose key works at once and is stored only as its hash', async () => {
    const address = email();
    const res = await api.request('POST', '/v1/users', {
      key: api.adminKey,
      body: { name: 'Grace Hopper', organization: 'Navy', email: address, role: 'reviewer' },
    });
    expect(res.status, res.text).toBe(201);
    expect(res.body).toEqual({ id: expect.any(String), apiKey: expect.stringMatching(/^pk_[A-Za-z0-9_-]{43}$/) });
    expect(res.headers.get('cache-control')).toBe('no-store');

    const stored = await api.deps.db.select().from(apiKeys).where(eq(apiKeys.userId, res.body.id));
    expect(stored).toHaveLength(1);
    expect(stored[0]!.keyHash).toBe(createHash('sha256').update(res.body.apiKey).digest('hex'));
    expect(JSON.stringify(stored)).not.toContain(res.body.apiKey);

    const me = await api.request('GET', '/v1/me', { key: res.body.apiKey });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({
      id: res.body.id,
      name: 'Grace Hopper',
      organization: 'Navy',
      email: address,
      role: 'reviewer',
    });
  });

  it('defaults to role user and an empty organization', async () => {
    const res = await api.request('POST', '/v1/users', { key: api.adminKey, body: { name: 'Plain', email: email() } });
    expect(res.status).toBe(201);
    const me = await api.request('GET', '/v1/me', { key: res.body.apiKey });
    expect(me.body).toMatchObject({ role: 'user', organization: '' });
  });

  it('refuses an e-mail address already in use, in any case, with 409 naming email', async () => {
    const address = email();
    expect(
      (await api.request('POST', '/v1/users', { key: api.adminKey, body: { name: 'First', email: address } })).status,
    ).toBe(201);
    const again = await api.request('POST', '/v1/users', {
      key: api.adminKey,
      body: { name: 'Second', email: address.toUpperCase() },
    });
    expect(again.status).toBe(409);
    expect(again.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(again.body.errors.map((e: { field: string }) => e.field)).toEqual(['email']);
  });

  it('lets exactly one of several concurrent creations with one e-mail address through', async () => {
    const address = email();
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        api.request('POST', '/v1/users', { key: api.adminKey, body: { name: `Racer ${i}`, email: address } }),
      ),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.filter((r) => r.status === 409)).toHaveLength(7);
    expect(await api.deps.db.select().from(users).where(eq(users.email, address))).toHaveLength(1);
  });

  it.each([
    ['name missing', { email: 'a@example.test' }, 'name'],
    ['name empty', { name: '', email: 'a@example.test' }, 'name'],
    ['email malformed', { name: 'A', email: 'not-an-address' }, 'email'],
    ['email with spaces', { name: 'A', email: 'a b@example.test' }, 'email'],
    ['role unknown', { name: 'A', email: 'a@example.test', role: 'root' }, 'role'],
    ['organization too long', { name: 'A', email: 'a@example.test', organization: 'o'.repeat(257) }, 'organization'],
    ['an unknown field', { name: 'A', email: 'a@example.test', apiKey: 'pk_mine' }, 'apiKey'],
  ])('refuses %s with 400 naming the field', async (_name, body, field) => {
    const res = await api.request('POST', '/v1/users', { key: api.adminKey, body });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual([field]);
  });

  it('is for admins only', async () => {
    for (const role of ['user', 'reviewer'] as const) {
      const caller = await api.createUser(role);
      const res = await api.request('POST', '/v1/users', { key: caller.apiKey, body: { name: 'X', email: email() } });
      expect(res.status).toBe(403);
      expect(res.body.detail).toMatch(/admin/);
    }
  });
});

describe('GET /v1/me', () => {
  it("shows the caller with this UTC month's quota use and the configured limits", async () => {
    const user = await api.createUser();
    const month = utcMonth(new Date());
    await api.deps.db.insert(quotaUsage).values([
      { userId: user.id, month, kind: 'formal', used: 2 },
      { userId: user.id, month: '2000-01', kind: 'manual', used: 2 },
    ]);
    const res = await api.request('GET', '/v1/me', { key: user.apiKey });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      id: user.id,
      name: expect.any(String),
      organization: 'Proctor tests',
      email: expect.stringMatching(/@example\.test$/),
      role: 'user',
      createdAt: expect.any(String),
      quota: {
        month,
        formal: { used: 2, limit: api.deps.env.quota.formalPerMonth },
        manual: { used: 0, limit: api.deps.env.quota.manualPerMonth },
      },
    });
    expect(month).toMatch(/^\d{4}-\d{2}$/);
  });

  it('answers every role, and 401 without a valid key', async () => {
    for (const key of [api.adminKey, (await api.createUser('reviewer')).apiKey]) {
      expect((await api.request('GET', '/v1/me', { key })).status).toBe(200);
    }
    expect((await api.request('GET', '/v1/me')).status).toBe(401);
    expect((await api.request('GET', '/v1/me', { key: 'pk_unknown' })).status).toBe(401);
  });

  it('refuses a revoked key', async () => {
    const user = await api.createUser();
    await api.deps.db.update(apiKeys).set({ revokedAt: new Date() }).where(eq(apiKeys.userId, user.id));
    const res = await api.request('GET', '/v1/me', { key: user.apiKey });
    expect(res.status).toBe(401);
  });
});
