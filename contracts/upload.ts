/**
 * Uploads of model and code for private deployment: tokens, versions, the files of a version, and
 * the report of the layout check. Shared by the API, the CLI and the activities.
 */

/** Shown once, when the token is issued; afterwards only its id and prefix are known. */
export interface IssuedUploadToken {
  tokenId: string;
  token: string;
  evaluationId: string;
  expiresAt: string;
}

export interface UploadTokenView {
  tokenId: string;
  evaluationId: string;
  prefix: string;
  createdAt: string;
  expiresAt: string;
  revokedAt: string | null;
  /** The version this token's `cp` and `ls` act on; null until its first upload. */
  uploadVersion: number | null;
}

export type UploadKind = 'upload' | 'cp';

/** Every upload or append is a new immutable version; runs pin the version they were launched with. */
export interface UploadVersionView {
  evaluationId: string;
  version: number;
  kind: UploadKind;
  /** The version a `cp` was applied on top of. */
  derivedFrom: number | null;
  files: number;
  bytes: number;
  createdAt: string;
  check: UploadCheckReport;
}

export interface UploadEntry {
  /** Relative to the version's root, '/'-separated, no leading slash. */
  path: string;
  type: 'file' | 'dir' | 'symlink';
  size: number;
  mtime: string;
}

export interface UploadCheckProblem {
  /** The path the problem is about ('' for the root). */
  path: string;
  /** A short stable name of the rule broken, e.g. `required`, `json`, `parameter_scale_billion`. */
  rule: string;
  message: string;
}

export interface UploadCheckReport {
  ok: boolean;
  domain: string;
  problems: UploadCheckProblem[];
  /** From meta.json, when it could be read. */
  parameterScaleBillion: number | null;
  /** The platform's GPU limit for that model size (seed: ≤ 7B: 1, ≤ 20B: 4, > 20B: 8). */
  maxGpus: number | null;
}

/** Seed, "Set Resources": the most GPUs a model of this size may ask for. */
export function maxGpusForScale(parameterScaleBillion: number): number {
  if (parameterScaleBillion <= 7) return 1;
  if (parameterScaleBillion <= 20) return 4;
  return 8;
}

/** Upload tokens carry this prefix so a misplaced API key or token is recognised at once. */
export const UPLOAD_TOKEN_PREFIX = 'pup_';
