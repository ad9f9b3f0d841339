/**
 * Upload tokens through the real API: issued once to the owner of a private evaluation, stored
 * only as a hash, expiring, revocable, scoped to their evaluation, and never interchangeable with
 * an API key. Every refusal says which of unknown, expired or revoked the token is.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { eq, sql } from 'drizzle-orm';
import { uploadTokens, uploadVersions } from '../../db/schema';
import { hashApiKey } from '../../db/queries/apiKeyHash';
import { startApi, type TestApi } from '../support/apiServer';
import { nlpEvaluationBody } from '../support/evaluationBodies';
import {
  createPrivateEvaluation,
  demoEntries,
  issueToken,
  platformImage,
  tarOf,
  uploadHeaders,
  useFreshUploadDir,
} from './uploadFixtures';

const TTL_HOURS = 5;
let api: TestApi;
let uploadDir: string;
let owner: { id: string; apiKey: string };
let other: { id: string; apiKey: string };
let imageId: string;
/** The API's clock runs this far ahead of the real one. */
let clockOffsetMs = 0;

beforeAll(async () => {
  uploadDir = useFreshUploadDir({ PROCTOR_UPLOAD_TOKEN_TTL_HOURS: String(TTL_HOURS) });
  api = await startApi({ now: () => new Date(Date.now() + clockOffsetMs) });
  [owner, other] = await Promise.all([api.createUser('user'), api.createUser('user')]);
  imageId = await platformImage(api);
});

afterAll(async () => {
  await api?.close();
});

async function ls(token: string) {
  const res = await fetch(`${api.url}/v1/upload/ls`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}

async function upload(token: string) {
  const res = await fetch(`${api.url}/v1/upload`, {
    method: 'PUT',
    headers: uploadHeaders(token),
    body: await tarOf(demoEntries()),
  });
  return { status: res.status, body: (await res.json()) as any };
}

describe('issuing', () => {
  it('gives the owner a pup_ token once, expiring after the configured hours, stored only as its hash', async () => {
    const evaluationId = await createPrivateEvaluation(api, owner.apiKey, imageId);
    const before = Date.now();
    const res = await api.request('POST', `/v1/evaluations/${evaluationId}/upload-token`, { key: owner.apiKey });
    expect(res.status, res.text).toBe(201);
    const { token, tokenId, expiresAt } = res.body;
    expect(token).toMatch(/^pup_[A-Za-z0-9_-]{43}$/);
    expect(res.body.evaluationId).toBe(evaluationId);
    const ttl = Date.parse(expiresAt) - before;
    expect(ttl).toBeGreaterThanOrEqual(TTL_HOURS * 3_600_000 - 1);
    expect(ttl).toBeLessThan(TTL_HOURS * 3_600_000 + 60_000);

    const [row] = await api.deps.db.select().from(uploadTokens).where(eq(uploadTokens.id, tokenId));
    expect(row!.tokenHash).toBe(hashApiKey(token));
    expect(row!.prefix).toBe(token.slice(0, 12));
    const [stored] = await api.deps.db.execute<{ found: number }>(
      sql`select count(*)::int as found from upload_tokens where token_hash = ${token} or prefix = ${token}`,
    );
    expect(stored!.found).toBe(0);

    const listed = await api.request('GET', `/v1/evaluations/${evaluationId}/upload-tokens`, { key: owner.apiKey });
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual([
      {
        tokenId,
        evaluationId,
        prefix: token.slice(0, 12),
        createdAt: expect.any(String),
        expiresAt,
        revokedAt: null,
        uploadVersion: null,
      },
    ]);
    expect(listed.text).not.toContain(token);

    // A second token is another token; both are listed, newest first.
    const second = await issueToken(api, owner.apiKey, evaluationId);
    expect(second).not.toBe(token);
    const both = await api.request('GET', `/v1/evaluations/${evaluationId}/upload-tokens`, { key: owner.apiKey });
    expect(both.body.map((t: { prefix: string }) => t.prefix)).toEqual([second.slice(0, 12), token.slice(0, 12)]);
  });

  it('is for the owner only, and for a private deployment only', async () => {
    const evaluationId = await createPrivateEvaluation(api, owner.apiKey, imageId);
    const stranger = await api.request('POST', `/v1/evaluations/${evaluationId}/upload-token`, { key: other.apiKey });
    expect(stranger.status).toBe(404);
    expect(
      (await api.request('GET', `/v1/evaluations/${evaluationId}/upload-tokens`, { key: other.apiKey })).status,
    ).toBe(404);
    expect((await api.request('GET', `/v1/evaluations/${evaluationId}/uploads`, { key: other.apiKey })).status).toBe(
      404,
    );
    const admin = await api.request('POST', `/v1/evaluations/${evaluationId}/upload-token`, { key: api.adminKey });
    expect(admin.status).toBe(403);
    expect(
      (await api.request('GET', `/v1/evaluations/${evaluationId}/upload-tokens`, { key: api.adminKey })).status,
    ).toBe(200);
    const reviewer = await api.createUser('reviewer');
    expect(
      (await api.request('POST', `/v1/evaluations/${evaluationId}/upload-token`, { key: reviewer.apiKey })).status,
    ).toBe(403);

    const apiEvaluation = await api.request('POST', '/v1/evaluations', {
      key: owner.apiKey,
      body: nlpEvaluationBody(),
    });
    const refused = await api.request('POST', `/v1/evaluations/${apiEvaluation.body.id}/upload-token`, {
      key: owner.apiKey,
    });
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toBe(
      "upload tokens are for private deployments; this evaluation's deployment.method is api",
    );
    expect(refused.body.errors).toEqual([{ field: 'deployment.method', message: refused.body.detail }]);
  });
});

describe('using', () => {
  it('says what is wrong with a missing, foreign or unknown token', async () => {
    const missing = await fetch(`${api.url}/v1/upload/ls`);
    expect(missing.status).toBe(401);
    expect(((await missing.json()) as any).detail).toMatch(/send the upload token as "Authorization: Bearer pup_…"/);

    const apiKey = await ls(owner.apiKey);
    expect(apiKey.status).toBe(401);
    expect(apiKey.body.detail).toMatch(
      /^this is not an upload token \(upload tokens start with pup_\); an API key cannot upload/,
    );
    expect(apiKey.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');

    const unknown = await ls(`pup_${'A'.repeat(43)}`);
    expect(unknown.status).toBe(401);
    expect(unknown.body.detail).toMatch(/^the upload token is unknown/);
  });

  it('an upload token is not an API key', async () => {
    const evaluationId = await createPrivateEvaluation(api, owner.apiKey, imageId);
    const token = await issueToken(api, owner.apiKey, evaluationId);
    const res = await api.request('GET', `/v1/evaluations/${evaluationId}`, { key: token });
    expect(res.status).toBe(401);
    expect((await api.request('POST', `/v1/evaluations/${evaluationId}/upload-token`, { key: token })).status).toBe(
      401,
    );
  });

  it('a token acts on its own evaluation only', async () => {
    const a = await createPrivateEvaluation(api, owner.apiKey, imageId);
    const b = await createPrivateEvaluation(api, owner.apiKey, imageId);
    const tokenA = await issueToken(api, owner.apiKey, a);
    const tokenB = await issueToken(api, owner.apiKey, b);
    expect((await upload(tokenA)).body).toMatchObject({ evaluationId: a, version: 1 });
    expect((await api.request('GET', `/v1/evaluations/${b}/uploads`, { key: owner.apiKey })).body).toEqual([]);
    // B's token sees B's (empty) state, not A's version.
    expect((await ls(tokenB)).status).toBe(409);
    expect((await upload(tokenB)).body).toMatchObject({ evaluationId: b, version: 1 });
    expect(await readdir(path.join(uploadDir, a))).toHaveLength(1);
    expect(await readdir(path.join(uploadDir, b))).toHaveLength(1);
    // And the owner cannot revoke A's token through B.
    const [rowA] = await api.deps.db
      .select()
      .from(uploadTokens)
      .where(eq(uploadTokens.tokenHash, hashApiKey(tokenA)));
    expect(
      (await api.request('DELETE', `/v1/evaluations/${b}/upload-tokens/${rowA!.id}`, { key: owner.apiKey })).status,
    ).toBe(404);
    expect((await ls(tokenA)).status).toBe(200);
  });

  it('expires after its lifetime', async () => {
    const evaluationId = await createPrivateEvaluation(api, owner.apiKey, imageId);
    const token = await issueToken(api, owner.apiKey, evaluationId);
    expect((await upload(token)).status).toBe(201);
    try {
      clockOffsetMs = (TTL_HOURS * 3600 - 60) * 1000;
      expect((await ls(token)).status).toBe(200);
      clockOffsetMs = (TTL_HOURS * 3600 + 1) * 1000;
      const expired = await ls(token);
      expect(expired.status).toBe(401);
      expect(expired.body.detail).toMatch(
        /^the upload token expired at \d{4}-\d\d-\d\dT.*; ask for a new one with POST \/v1\/evaluations\/.*\/upload-token$/,
      );
    } finally {
      clockOffsetMs = 0;
    }
  });

  it('is revoked by its owner (idempotently); the versions it made stay', async () => {
    const evaluationId = await createPrivateEvaluation(api, owner.apiKey, imageId);
    const token = await issueToken(api, owner.apiKey, evaluationId);
    expect((await upload(token)).status).toBe(201);
    const [{ tokenId }] = (
      await api.request('GET', `/v1/evaluations/${evaluationId}/upload-tokens`, { key: owner.apiKey })
    ).body;
    expect(
      (await api.request('DELETE', `/v1/evaluations/${evaluationId}/upload-tokens/${tokenId}`, { key: other.apiKey }))
        .status,
    ).toBe(404);
    const revoked = await api.request('DELETE', `/v1/evaluations/${evaluationId}/upload-tokens/${tokenId}`, {
      key: owner.apiKey,
    });
    expect(revoked.status).toBe(204);
    const [first] = (await api.request('GET', `/v1/evaluations/${evaluationId}/upload-tokens`, { key: owner.apiKey }))
      .body;
    expect(first.revokedAt).not.toBeNull();
    expect(
      (await api.request('DELETE', `/v1/evaluations/${evaluationId}/upload-tokens/${tokenId}`, { key: owner.apiKey }))
        .status,
    ).toBe(204);
    const [still] = (await api.request('GET', `/v1/evaluations/${evaluationId}/upload-tokens`, { key: owner.apiKey }))
      .body;
    expect(still.revokedAt).toBe(first.revokedAt);
    expect(
      (await api.request('DELETE', `/v1/evaluations/${evaluationId}/upload-tokens/not-a-token`, { key: owner.apiKey }))
        .status,
    ).toBe(404);

    const refused = await ls(token);
    expect(refused.status).toBe(401);
    expect(refused.body.detail).toBe(
      `the upload token was revoked at ${first.revokedAt}; ask for a new one with POST /v1/evaluations/${evaluationId}/upload-token`,
    );
    const cp = await fetch(`${api.url}/v1/upload/files?path=x.txt`, {
      method: 'PUT',
      headers: uploadHeaders(token, 'application/octet-stream'),
      body: 'x',
    });
    expect(cp.status).toBe(401);
    expect(
      (await api.request('GET', `/v1/evaluations/${evaluationId}/uploads`, { key: owner.apiKey })).body,
    ).toHaveLength(1);
  });

  it('is refused once the evaluation no longer deploys privately', async () => {
    const evaluationId = await createPrivateEvaluation(api, owner.apiKey, imageId);
    const token = await issueToken(api, owner.apiKey, evaluationId);
    const patched = await api.request('PATCH', `/v1/evaluations/${evaluationId}`, {
      key: owner.apiKey,
      body: { deployment: { method: 'api', endpoint: 'http://127.0.0.1:9/v1' } },
    });
    expect(patched.status, patched.text).toBe(200);
    const res = await upload(token);
    expect(res.status).toBe(409);
    expect(res.body.errors).toEqual([
      { field: 'deployment.method', message: expect.stringContaining('deployment.method is now api') },
    ]);
  });

  it('two uploads racing with one token: exactly one version, the other refused, nothing left over', async () => {
    const evaluationId = await createPrivateEvaluation(api, owner.apiKey, imageId);
    const token = await issueToken(api, owner.apiKey, evaluationId);
    const results = await Promise.all([upload(token), upload(token), upload(token)]);
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409]);
    const rows = await api.deps.db.select().from(uploadVersions).where(eq(uploadVersions.evaluationId, evaluationId));
    expect(rows.map((r) => r.version)).toEqual([1]);
    expect(await readdir(path.join(uploadDir, evaluationId))).toEqual([rows[0]!.storagePath.split('/')[1]]);
    expect(await readdir(path.join(uploadDir, '.staging'))).toEqual([]);
  });
});
