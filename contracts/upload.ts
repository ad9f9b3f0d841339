/**
 * Uploads of model and code for private deployment: tokens, versions, the files of a version, and
 * the report of the layout check. Shared by the API, the CLI and the activities.
 */
import { Type, type Static } from '@sinclair/typebox';
import { literalUnion } from './literalUnion';
import { nullable, Timestamp, Uuid } from './common';

/** Shown once, when the token is issued; afterwards only its id and prefix are known. */
export const IssuedUploadToken = Type.Object({
  tokenId: Uuid,
  token: Type.String({ description: 'the token (pup_…); shown only in this response' }),
  evaluationId: Uuid,
  expiresAt: Timestamp,
});
export type IssuedUploadToken = Static<typeof IssuedUploadToken>;

export const UploadTokenView = Type.Object({
  tokenId: Uuid,
  evaluationId: Uuid,
  prefix: Type.String({ description: 'the first characters of the token, to tell tokens apart' }),
  createdAt: Timestamp,
  expiresAt: Timestamp,
  revokedAt: nullable(Timestamp),
  uploadVersion: nullable(Type.Integer({ description: 'the version cp and ls act on; null until the first upload' })),
});
export type UploadTokenView = Static<typeof UploadTokenView>;

export const UPLOAD_KINDS = ['upload', 'cp', 'rm'] as const;
export type UploadKind = (typeof UPLOAD_KINDS)[number];

/** A resumable upload (the flageval-serving CLI's protocol): receiving chunks, becoming a version, done, or refused. */
export type ResumableUploadState = 'open' | 'committing' | 'committed' | 'failed';

export const UploadCheckProblem = Type.Object({
  path: Type.String({ description: "the path the problem is about ('' for the root)" }),
  rule: Type.String({
    description: 'a short stable name of the rule broken, e.g. required, json, parameter_scale_billion',
  }),
  message: Type.String(),
});
export type UploadCheckProblem = Static<typeof UploadCheckProblem>;

export const UploadCheckReport = Type.Object({
  ok: Type.Boolean(),
  domain: Type.String(),
  problems: Type.Array(UploadCheckProblem),
  parameterScaleBillion: nullable(Type.Number({ description: 'from meta.json, when it could be read' })),
  maxGpus: nullable(
    Type.Integer({
      description: 'the most GPUs a model of this size may use (≤ 7B: 1, ≤ 20B: 4, > 20B: 8)',
    }),
  ),
});
export type UploadCheckReport = Static<typeof UploadCheckReport>;

/** Every upload or append is a new immutable version; runs pin the version they were launched with. */
export const UploadVersionView = Type.Object({
  evaluationId: Uuid,
  version: Type.Integer(),
  kind: literalUnion(UPLOAD_KINDS),
  derivedFrom: nullable(Type.Integer({ description: 'the version a cp was applied on top of' })),
  files: Type.Integer(),
  bytes: Type.Integer(),
  createdAt: Timestamp,
  check: UploadCheckReport,
});
export type UploadVersionView = Static<typeof UploadVersionView>;

export const UploadEntry = Type.Object({
  path: Type.String({ description: "relative to the version's root, '/'-separated, no leading slash" }),
  type: literalUnion(['file', 'dir', 'symlink']),
  size: Type.Integer(),
  mtime: Timestamp,
});
export type UploadEntry = Static<typeof UploadEntry>;

/** Seed, "Set Resources": the most GPUs a model of this size may ask for. */
export function maxGpusForScale(parameterScaleBillion: number): number {
  if (parameterScaleBillion <= 7) return 1;
  if (parameterScaleBillion <= 20) return 4;
  return 8;
}

/** Upload tokens carry this prefix so a misplaced API key or token is recognised at once. */
export const UPLOAD_TOKEN_PREFIX = 'pup_';
