/**
 * The upload aggregate: tokens (stored as SHA-256 hashes, scoped to one evaluation, expiring and
 * revocable) and the immutable versions of an evaluation's model and code. A version number comes
 * from the evaluation's upload counter, bumped in the transaction that records the version, and
 * the token moves to the new version in that same transaction, only from the version it stood at:
 * two uploads racing with one token cannot both win.
 */
import { and, desc, eq, isNull, sql } from 'drizzle-orm';
import type { Db } from '../client';
import { evaluations, uploadTokens, uploadVersions } from '../schema';
import { hashApiKey } from './apiKeyHash';
import type { Domain } from '../../contracts/domain';
import type { PublicDeployment } from '../../contracts/evaluation';
import type { UploadCheckReport, UploadKind, UploadTokenView, UploadVersionView } from '../../contracts/upload';

export type UploadTokenRow = typeof uploadTokens.$inferSelect;
export type UploadVersionRow = typeof uploadVersions.$inferSelect;

/** Characters of a token kept in clear, so its owner can tell tokens apart in a list. */
export const UPLOAD_TOKEN_DISPLAY_PREFIX = 12;

export async function issueUploadToken(
  db: Db,
  values: { evaluationId: string; createdBy: string; token: string; expiresAt: Date },
): Promise<UploadTokenRow> {
  const [row] = await db
    .insert(uploadTokens)
    .values({
      evaluationId: values.evaluationId,
      createdBy: values.createdBy,
      tokenHash: hashApiKey(values.token),
      prefix: values.token.slice(0, UPLOAD_TOKEN_DISPLAY_PREFIX),
      expiresAt: values.expiresAt,
    })
    .returning();
  return row!;
}

/** The evaluation's tokens, newest first. */
export async function listUploadTokens(db: Db, evaluationId: string): Promise<UploadTokenRow[]> {
  return db
    .select()
    .from(uploadTokens)
    .where(eq(uploadTokens.evaluationId, evaluationId))
    .orderBy(desc(uploadTokens.createdAt), desc(uploadTokens.id));
}

/** Revokes a token of the evaluation (a revoked one stays as it was); false when there is no such token. */
export async function revokeUploadToken(db: Db, evaluationId: string, tokenId: string, at: Date): Promise<boolean> {
  const [row] = await db
    .update(uploadTokens)
    .set({ revokedAt: sql`coalesce(${uploadTokens.revokedAt}, ${at.toISOString()}::timestamptz)` })
    .where(and(eq(uploadTokens.id, tokenId), eq(uploadTokens.evaluationId, evaluationId)))
    .returning({ id: uploadTokens.id });
  return row !== undefined;
}

export interface PresentedToken {
  token: UploadTokenRow;
  evaluation: { id: string; ownerId: string; domain: Domain; deployment: PublicDeployment; deletedAt: Date | null };
}

export type TokenState = 'valid' | 'expired' | 'revoked';

/** The token a plaintext names (by its hash), with its evaluation; null for an unknown token. */
export async function findUploadToken(db: Db, plaintext: string): Promise<PresentedToken | null> {
  const [row] = await db
    .select({
      token: uploadTokens,
      evaluation: {
        id: evaluations.id,
        ownerId: evaluations.ownerId,
        domain: evaluations.domain,
        deployment: evaluations.deployment,
        deletedAt: evaluations.deletedAt,
      },
    })
    .from(uploadTokens)
    .innerJoin(evaluations, eq(evaluations.id, uploadTokens.evaluationId))
    .where(eq(uploadTokens.tokenHash, hashApiKey(plaintext)))
    .limit(1);
  return row ?? null;
}

export function tokenState(token: UploadTokenRow, now: Date): TokenState {
  if (token.revokedAt !== null) return 'revoked';
  if (token.expiresAt.getTime() <= now.getTime()) return 'expired';
  return 'valid';
}

export interface NewUploadVersion {
  evaluationId: string;
  tokenId: string;
  kind: UploadKind;
  /** The version a cp applied on top of; the token must still stand there. Null for an upload, whose token must be unbound. */
  derivedFrom: number | null;
  files: number;
  bytes: number;
  storagePath: string;
  check: UploadCheckReport;
}

/** The token no longer stands where the upload started from: bound meanwhile, moved on, or revoked. */
export class TokenMoved extends Error {
  override name = 'TokenMoved';
  constructor(readonly current: { uploadVersion: number | null; revokedAt: Date | null } | null) {
    super('the upload token changed while the upload was received');
  }
}

/**
 * Records a version: bumps the evaluation's counter for its number and moves the token to it, in
 * one transaction. Throws TokenMoved (recording nothing) when the token is not where `derivedFrom`
 * says it stood, or was revoked meanwhile.
 */
export async function insertUploadVersion(db: Db, values: NewUploadVersion): Promise<UploadVersionRow> {
  return db.transaction(async (tx) => {
    const [counter] = await tx
      .update(evaluations)
      .set({ uploadCounter: sql`${evaluations.uploadCounter} + 1` })
      .where(eq(evaluations.id, values.evaluationId))
      .returning({ version: evaluations.uploadCounter });
    if (!counter) throw new Error(`evaluation ${values.evaluationId} does not exist`);
    const [moved] = await tx
      .update(uploadTokens)
      .set({ uploadVersion: counter.version })
      .where(
        and(
          eq(uploadTokens.id, values.tokenId),
          isNull(uploadTokens.revokedAt),
          values.derivedFrom === null
            ? isNull(uploadTokens.uploadVersion)
            : eq(uploadTokens.uploadVersion, values.derivedFrom),
        ),
      )
      .returning({ id: uploadTokens.id });
    if (!moved) {
      const [current] = await tx
        .select({ uploadVersion: uploadTokens.uploadVersion, revokedAt: uploadTokens.revokedAt })
        .from(uploadTokens)
        .where(eq(uploadTokens.id, values.tokenId));
      throw new TokenMoved(current ?? null);
    }
    const [row] = await tx
      .insert(uploadVersions)
      .values({
        evaluationId: values.evaluationId,
        version: counter.version,
        tokenId: values.tokenId,
        kind: values.kind,
        derivedFrom: values.derivedFrom,
        files: values.files,
        bytes: values.bytes,
        storagePath: values.storagePath,
        check: values.check,
      })
      .returning();
    return row!;
  });
}

/** The evaluation's versions, newest first. */
export async function listUploadVersions(db: Db, evaluationId: string): Promise<UploadVersionRow[]> {
  return db
    .select()
    .from(uploadVersions)
    .where(eq(uploadVersions.evaluationId, evaluationId))
    .orderBy(desc(uploadVersions.version));
}

export async function getUploadVersion(
  db: Db,
  evaluationId: string,
  version: number,
): Promise<UploadVersionRow | null> {
  const [row] = await db
    .select()
    .from(uploadVersions)
    .where(and(eq(uploadVersions.evaluationId, evaluationId), eq(uploadVersions.version, version)))
    .limit(1);
  return row ?? null;
}

/** The newest version of the evaluation's model and code, or null before the first upload. */
export async function latestUploadVersion(db: Db, evaluationId: string): Promise<UploadVersionRow | null> {
  const [row] = await db
    .select()
    .from(uploadVersions)
    .where(eq(uploadVersions.evaluationId, evaluationId))
    .orderBy(desc(uploadVersions.version))
    .limit(1);
  return row ?? null;
}

export function toUploadTokenView(row: UploadTokenRow): UploadTokenView {
  return {
    tokenId: row.id,
    evaluationId: row.evaluationId,
    prefix: row.prefix,
    createdAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt.toISOString(),
    revokedAt: row.revokedAt?.toISOString() ?? null,
    uploadVersion: row.uploadVersion,
  };
}

/** What clients see of a version: never where it is stored. */
export function toUploadVersionView(row: UploadVersionRow): UploadVersionView {
  return {
    evaluationId: row.evaluationId,
    version: row.version,
    kind: row.kind,
    derivedFrom: row.derivedFrom,
    files: row.files,
    bytes: row.bytes,
    createdAt: row.createdAt.toISOString(),
    check: row.check,
  };
}
