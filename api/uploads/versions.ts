/**
 * What every way of uploading model and code shares (the `proctor` CLI's tar routes and the
 * flageval-serving CLI's resumable chunks): the token presented and whether it may still upload,
 * the version it stands on, and building a new version in staging (checked, published, recorded,
 * or nothing left behind), with storage's refusals as problem+json.
 */
import type { ApiDeps } from '../apiDeps';
import type { UploadEntry, UploadKind, UploadVersionView } from '../../contracts/upload';
import {
  findUploadToken,
  getUploadVersion,
  insertUploadVersion,
  tokenState,
  toUploadVersionView,
  TokenMoved,
  type PresentedToken,
  type UploadVersionRow,
} from '../../db/queries/uploads';
import { StagingTree } from '../../storage/stagingTree';
import { checkUploadTree } from '../../storage/uploadCheck';
import { removeVersionDir, versionDir } from '../../storage/uploadLayout';
import { listUploadEntries } from '../../storage/uploadListing';
import { remotePath } from '../../storage/uploadPaths';
import { UploadRejected } from '../../storage/uploadRejected';
import { HttpProblem, conflict, statusTitle } from '../http/problems';

/** Why a presented token cannot upload: unknown, expired or revoked (the caller answers 401 its own way). */
export class TokenRefused extends Error {
  override name = 'TokenRefused';
  constructor(readonly detail: string) {
    super(detail);
  }
}

/**
 * The token a plaintext names, valid and for an evaluation that still deploys privately. Each
 * refusal says which of unknown, expired or revoked it is, so the user knows whether to copy again
 * or ask anew; a token of an evaluation moved to an API deployment is a 409.
 */
export async function presentToken(deps: ApiDeps, plaintext: string, now: Date): Promise<PresentedToken> {
  const found = await findUploadToken(deps.db, plaintext);
  if (!found)
    throw new TokenRefused('the upload token is unknown: check that it was copied whole, or ask for a new one');
  if (found.evaluation.deletedAt)
    throw new TokenRefused(`the upload token's evaluation was deleted at ${found.evaluation.deletedAt.toISOString()}`);
  const state = tokenState(found.token, now);
  if (state === 'expired') {
    throw new TokenRefused(
      `the upload token expired at ${found.token.expiresAt.toISOString()}; ask for a new one with POST /v1/evaluations/${found.evaluation.id}/upload-token`,
    );
  }
  if (state === 'revoked') {
    throw new TokenRefused(
      `the upload token was revoked at ${found.token.revokedAt!.toISOString()}; ask for a new one with POST /v1/evaluations/${found.evaluation.id}/upload-token`,
    );
  }
  if (found.evaluation.deployment.method !== 'private') {
    throw conflict(
      `uploads are for private deployments; this evaluation's deployment.method is now ${found.evaluation.deployment.method}`,
      'deployment.method',
    );
  }
  return found;
}

export function safeRemotePath(raw: string, field: string): string {
  try {
    return remotePath(raw, field);
  } catch (error) {
    throw toProblem(error);
  }
}

/** The version the token's cp and ls act on. */
export async function tokenVersion(deps: ApiDeps, presented: PresentedToken): Promise<UploadVersionRow> {
  const { token, evaluation } = presented;
  if (token.uploadVersion === null)
    throw conflict('this token holds no version yet: upload a directory with it first (proctor upload)');
  const row = await getUploadVersion(deps.db, evaluation.id, token.uploadVersion);
  if (!row) throw new Error(`upload token ${token.id} points at version ${token.uploadVersion}, which does not exist`);
  return row;
}

export async function listVersion(uploadDir: string, row: UploadVersionRow, rawPath: string): Promise<UploadEntry[]> {
  const rel = safeRemotePath(rawPath, 'path');
  const entries = await listUploadEntries(versionDir(uploadDir, row.storagePath), rel);
  if (!entries) throw new HttpProblem(404, statusTitle(404), `"/${rel}" does not exist in version ${row.version}`);
  return entries;
}

/**
 * Builds a version in staging, checks it and records it; whatever fails, nothing is left behind:
 * no staging directory, no stored directory without its row, no row without its directory.
 */
export async function buildVersion(
  deps: ApiDeps,
  presented: PresentedToken,
  kind: UploadKind,
  apply: (tree: StagingTree) => Promise<void>,
  options: { base?: UploadVersionRow | null; interrupted?: () => boolean } = {},
): Promise<UploadVersionView> {
  const { uploads } = deps.env;
  const { token, evaluation } = presented;
  const base =
    options.base !== undefined ? options.base : kind === 'upload' ? null : await tokenVersion(deps, presented);
  const tree = await StagingTree.open(uploads.dir, { maxBytes: uploads.maxBytes, maxEntries: uploads.maxEntries });
  try {
    if (base) await tree.seedFrom(versionDir(uploads.dir, base.storagePath));
    await apply(tree);
    const totals = await tree.finish();
    const check = await checkUploadTree(tree.dir, evaluation.domain);
    const storagePath = await tree.publish(evaluation.id);
    try {
      const row = await insertUploadVersion(deps.db, {
        evaluationId: evaluation.id,
        tokenId: token.id,
        kind,
        derivedFrom: base?.version ?? null,
        files: totals.files,
        bytes: totals.bytes,
        storagePath,
        check,
      });
      return toUploadVersionView(row);
    } catch (error) {
      await removeVersionDir(uploads.dir, storagePath);
      throw error;
    }
  } catch (error) {
    if (options.interrupted?.()) {
      throw new HttpProblem(
        400,
        statusTitle(400),
        'the upload was interrupted before the body was complete; nothing was stored',
      );
    }
    throw toProblem(error);
  } finally {
    await tree.discard();
  }
}

export function toProblem(error: unknown): unknown {
  if (error instanceof UploadRejected) {
    return new HttpProblem(
      error.status,
      statusTitle(error.status),
      error.detail,
      error.field ? [{ field: error.field, message: error.detail }] : undefined,
    );
  }
  if (error instanceof TokenMoved) {
    const current = error.current;
    if (current?.revokedAt)
      return conflict('the upload token was revoked while the upload was received; nothing was stored');
    return conflict(
      current?.uploadVersion != null
        ? `the token moved to version ${current.uploadVersion} while this upload was received; nothing was stored: run it again`
        : 'the token changed while this upload was received; nothing was stored: run it again',
    );
  }
  if ((error as NodeJS.ErrnoException)?.code === 'ENAMETOOLONG') {
    return new HttpProblem(
      400,
      statusTitle(400),
      'an archive entry has a name too long for the file system (255 bytes per component)',
      [{ field: 'body', message: 'has an entry whose name is too long' }],
    );
  }
  return error;
}
