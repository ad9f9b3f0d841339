/**
 * The wire protocol of the flageval-serving CLI (`flageval-serving upload|ls|cp --host=<Proctor>
 * --token=pup_…`, PyPI 0.2.5), served unchanged so users keep the tool the seed tells them to use
 * (docs/uploads.md, "The flageval-serving CLI"). Its routes live where the CLI looks for them:
 *
 * - `GET  /api/evaluations/models/files?token=` the token's upload in progress, file by file and
 *   chunk by chunk (`ks3Ready` = received), so an interrupted `upload` resumes;
 * - `POST /api/evaluations/models/files` `{token, files: [{filename, sizeKb}]}` declares the files;
 *   the platform answers with their ids and chunk plans;
 * - `POST /api/evaluations/models/files/{id}/chunks?chunk_num=&token=&is_update=` one chunk, as the
 *   multipart field `file`;
 * - `POST /api/evaluations/manage/op_file` (a form) `ls` and `rm`.
 *
 * The routes are left out of the OpenAPI document: they are another tool's protocol, with its
 * token in the query or the body and a form and multipart bodies, described in docs/uploads.md.
 *
 * On Proctor's side an upload is still an immutable version: when the last chunk of the last file
 * arrives, the files become a new version (an `upload` when the token holds none yet, else a `cp`
 * on top of the token's version, the token moving with it), checked and recorded as the `proctor`
 * CLI's uploads are; `rm` makes a version without the path. The token travels in the query or the
 * body (the CLI's way), so the API's logs censor it (api/app.ts).
 */
import { createHash } from 'node:crypto';
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import multipart from '@fastify/multipart';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static } from '@sinclair/typebox';
import type { ApiDeps } from '../apiDeps';
import { UploadVersionView } from '../../contracts/upload';
import {
  claimCompleteUpload,
  declareResumableUpload,
  findResumableFile,
  finishResumableUpload,
  liveResumableUpload,
  markChunkReady,
  resumableFiles,
  type ResumableFileRow,
} from '../../db/queries/resumableUploads';
import {
  getUploadVersion,
  toUploadVersionView,
  type PresentedToken,
  type UploadVersionRow,
} from '../../db/queries/uploads';
import {
  removeResumableUpload,
  resumableFilePath,
  writeChunk,
  type ChunkPlacement,
} from '../../storage/resumableChunks';
import { versionDir } from '../../storage/uploadLayout';
import { listUploadEntries } from '../../storage/uploadListing';
import { printable } from '../../storage/uploadPaths';
import { HttpProblem, conflict, notFound, statusTitle, unauthorized } from '../http/problems';
import { problems } from '../http/openapi';
import { buildVersion, presentToken, safeRemotePath, toProblem, TokenRefused } from '../uploads/versions';

const FORM = 'application/x-www-form-urlencoded';
const FORM_BODY_LIMIT = 64 * 1024;
/** Room for the largest declaration: every entry a version may hold, with long names. */
const DECLARATION_BODY_LIMIT = 64 * 1024 * 1024;
const tokenRule = 'must be an upload token (pup_…) of the evaluation, from POST /v1/evaluations/{id}/upload-token';

const ChunkView = Type.Object({
  num: Type.Integer({ description: 'the chunk’s number, from 1' }),
  sizeKb: Type.Integer({ description: 'its size in KiB (the last chunk takes the rest of the file)' }),
  ks3Ready: Type.Boolean({ description: 'whether it has been received whole' }),
});
const FileView = Type.Object({
  id: Type.Integer({ description: 'the file’s id in chunk requests (0 in listings of a stored version)' }),
  filename: Type.String({ description: 'its path inside the version' }),
  sizeKb: Type.Integer({ description: 'its size in KiB, as declared (rounded down, at least 1)' }),
  ks3Ready: Type.Boolean({ description: 'whether every chunk has been received (always true in listings)' }),
  chunks: Type.Array(ChunkView),
});
type FileView = Static<typeof FileView>;
const FileList = Type.Object({ results: Type.Array(FileView) });

const TokenQuery = Type.Object({ token: Type.Optional(Type.String({ maxLength: 256, description: tokenRule })) });
const Declaration = Type.Object({
  token: Type.Optional(Type.String({ maxLength: 256, description: tokenRule })),
  files: Type.Array(
    Type.Object({
      filename: Type.String({
        minLength: 1,
        maxLength: 4096,
        description: 'must be a relative path inside the upload, without ".." components',
      }),
      sizeKb: Type.Integer({
        minimum: 1,
        maximum: Number.MAX_SAFE_INTEGER,
        description: 'must be the file’s size in KiB, rounded down, at least 1',
      }),
    }),
    { minItems: 1, description: 'must list at least one file' },
  ),
});
const ChunkParams = Type.Object({
  fileId: Type.Integer({ minimum: 1, description: 'must be a file id from the declaration' }),
});
const ChunkQuery = Type.Object({
  token: Type.Optional(Type.String({ maxLength: 256, description: tokenRule })),
  chunk_num: Type.Integer({
    minimum: 1,
    maximum: 2_147_483_647,
    description: 'must be a chunk number from the file’s plan',
  }),
  is_update: Type.Optional(Type.Integer({ minimum: 0, maximum: 1, description: 'must be 0 (upload) or 1 (cp)' })),
});
const ChunkAnswer = Type.Object({
  status: Type.Literal(200),
  id: Type.Integer(),
  filename: Type.String(),
  chunkNum: Type.Integer(),
  ks3Ready: Type.Boolean({ description: 'whether the file is now complete' }),
  version: Type.Optional(UploadVersionView),
});
const OpFile = Type.Object({
  command: Type.Union([Type.Literal('ls'), Type.Literal('rm')], { description: 'must be ls or rm' }),
  token: Type.Optional(Type.String({ maxLength: 256, description: tokenRule })),
  src_path: Type.Optional(
    Type.String({ maxLength: 4096, description: 'must be a path inside the upload, without ".." components' }),
  ),
  opt: Type.Optional(Type.Union([Type.Literal('1'), Type.Literal('2')], { description: 'must be 1 or 2' })),
});
const OpFileAnswer = Type.Object({
  ret: Type.Integer({ description: '0: done' }),
  results: Type.Optional(Type.Array(FileView)),
  canSendTargets: Type.Optional(
    Type.Boolean({ description: 'always true: no directory of a Proctor upload is reserved' }),
  ),
  version: Type.Optional(UploadVersionView),
});

export async function flagevalUploadsRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const now = () => (deps.now ?? (() => new Date()))();
  const { uploads } = deps.env;

  await app.register(async (scope) => {
    const s = scope.withTypeProvider<TypeBoxTypeProvider>();
    scope.addContentTypeParser(FORM, { parseAs: 'string', bodyLimit: FORM_BODY_LIMIT }, (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    });
    await scope.register(multipart, { limits: { files: 1, fields: 8, fieldSize: 1024, parts: 9 } });

    const token = async (raw: string | undefined): Promise<PresentedToken> => {
      if (!raw) throw unauthorized('send the upload token as token=pup_… (flageval-serving … --token=pup_…)');
      try {
        return await presentToken(deps, raw, now());
      } catch (error) {
        if (error instanceof TokenRefused) throw unauthorized(error.detail);
        throw error;
      }
    };

    s.get(
      '/api/evaluations/models/files',
      {
        schema: {
          hide: true,
          summary: 'The token’s upload in progress (flageval-serving CLI)',
          description:
            'The files of the upload the token has in progress, with which chunks have arrived; empty when it has none. ' +
            'The flageval-serving CLI’s `upload` resumes from this.',
          tags: ['uploads'],
          querystring: TokenQuery,
          response: { 200: FileList, ...problems(400, 401, 409) },
        },
        config: { public: true },
      },
      async (request) => {
        const presented = await token(request.query.token);
        const live = await liveResumableUpload(deps.db, presented.token.id);
        return { results: live ? live.files.map((file) => fileView(file, live.upload.chunkKb)) : [] };
      },
    );

    s.post(
      '/api/evaluations/models/files',
      {
        bodyLimit: DECLARATION_BODY_LIMIT,
        schema: {
          hide: true,
          summary: 'Declare the files of an upload (flageval-serving CLI)',
          description:
            'Starts an upload of these files, each split into chunks of the platform’s size, or resumes the token’s upload in ' +
            'progress when it declared the same files. When every chunk has arrived the files become a new version: an upload ' +
            'when the token holds none yet, else a cp on top of the token’s version.',
          tags: ['uploads'],
          body: Declaration,
          response: { 200: FileList, 201: FileList, ...problems(400, 401, 409, 413) },
        },
        config: { public: true },
      },
      async (request, reply) => {
        const presented = await token(request.body.token);
        const declared = request.body.files.map((file, i) => ({
          path: declaredPath(file.filename, `files[${i}].filename`),
          sizeKb: file.sizeKb,
        }));
        checkDeclaration(declared, uploads);
        const base = await baseOf(deps, presented);
        if (base) await checkAgainstBase(versionDir(uploads.dir, base.storagePath), base.version, declared);
        const chunkKb = uploads.chunkKb;
        const manifestHash = createHash('sha256')
          .update(JSON.stringify([chunkKb, declared.map((file) => [file.path, file.sizeKb])]))
          .digest('hex');
        const result = await declareResumableUpload(deps.db, {
          tokenId: presented.token.id,
          evaluationId: presented.evaluation.id,
          baseVersion: base?.version ?? null,
          manifestHash,
          chunkKb,
          files: declared.map((file) => ({ ...file, chunks: chunkCount(file.sizeKb, chunkKb) })),
        });
        if (result.replaced) await removeResumableUpload(uploads.dir, result.replaced);
        request.log.info(
          {
            evaluationId: presented.evaluation.id,
            uploadId: result.upload.id,
            files: declared.length,
            resumed: result.resumed,
            baseVersion: base?.version ?? null,
          },
          result.resumed ? 'resumable upload resumed' : 'resumable upload declared',
        );
        return reply
          .code(result.resumed ? 200 : 201)
          .send({ results: result.files.map((file) => fileView(file, result.upload.chunkKb)) });
      },
    );

    s.post(
      '/api/evaluations/models/files/:fileId/chunks',
      {
        schema: {
          hide: true,
          summary: 'One chunk of a declared file (flageval-serving CLI)',
          description:
            'The chunk is the multipart field `file`; it is written at its place in the file, so chunks may come in any order ' +
            'and be sent again. The request that completes the upload builds its version and answers with it.',
          tags: ['uploads'],
          params: ChunkParams,
          querystring: ChunkQuery,
          response: { 200: ChunkAnswer, ...problems(400, 401, 404, 409, 413, 415) },
        },
        config: { public: true },
      },
      async (request, reply) => {
        const presented = await token(request.query.token);
        const found = await findResumableFile(deps.db, presented.token.id, request.params.fileId);
        if (!found) throw notFound(`file ${request.params.fileId} of this token’s uploads`);
        const { upload, file } = found;
        if (upload.state === 'committed' && upload.version !== null) {
          // A chunk sent again after the upload completed (its answer was lost): the version stands.
          await drain(request);
          const stored = await getUploadVersion(deps.db, upload.evaluationId, upload.version);
          return answer(file, request.query.chunk_num, true, stored ? toUploadVersionView(stored) : null);
        }
        if (upload.state !== 'open') {
          await drain(request);
          throw conflict(
            upload.state === 'committing'
              ? 'this upload is complete and its version is being built; list the versions to see it'
              : `this upload ended without a version: ${upload.failure ?? 'refused'}; run the upload again`,
          );
        }
        const num = request.query.chunk_num;
        if (num > file.chunks) {
          await drain(request);
          throw new HttpProblem(
            400,
            statusTitle(400),
            `file ${file.id} has ${file.chunks} chunk(s); there is no chunk ${num}`,
            [{ field: 'chunk_num', message: `must be from 1 to ${file.chunks}` }],
          );
        }
        if (!request.isMultipart()) {
          throw new HttpProblem(415, statusTitle(415), 'send the chunk as multipart/form-data with the field "file"');
        }
        const placement = chunkPlacement(file.sizeKb, upload.chunkKb, num);
        const part = await request.file({ limits: { fileSize: placement.maxBytes + 1 } });
        if (!part || part.fieldname !== 'file') {
          throw new HttpProblem(400, statusTitle(400), 'the chunk must be the multipart field "file"', [
            { field: 'file', message: 'is required' },
          ]);
        }
        try {
          await writeChunk(resumableFilePath(uploads.dir, upload.id, file.id), placement, part.file);
        } catch (error) {
          part.file.resume();
          throw toProblem(error);
        }
        const complete = await markChunkReady(deps.db, upload.id, file.id, num);
        if (!complete) throw conflict('this upload ended while the chunk was received; run the upload again');
        const fileReady = complete.readyChunks.length >= complete.chunks;
        const claimed = fileReady ? await claimCompleteUpload(deps.db, upload.id) : null;
        if (!claimed) return answer(complete, num, fileReady, null);

        const version = await commit(deps, presented, claimed.id, claimed.baseVersion);
        request.log.info(
          { evaluationId: presented.evaluation.id, uploadId: claimed.id, version: version.version },
          'resumable upload stored as a version',
        );
        return reply.code(200).send(answer(complete, num, true, version));
      },
    );

    s.post(
      '/api/evaluations/manage/op_file',
      {
        schema: {
          hide: true,
          summary: 'ls and rm on the token’s version (flageval-serving CLI)',
          description:
            '`ls` lists the entries under `src_path` (opt=1), or the path itself and the entries under it (opt=2, as the ' +
            'CLI’s cp asks); a token with no version yet lists nothing. `rm` makes a new version without `src_path`.',
          tags: ['uploads'],
          consumes: [FORM],
          body: OpFile,
          response: { 200: OpFileAnswer, ...problems(400, 401, 404, 409, 415) },
        },
        config: { public: true },
      },
      async (request) => {
        const presented = await token(request.body.token);
        const rel = safeRemotePath(filterPath(request.body.src_path ?? ''), 'src_path');
        const current = await baseOf(deps, presented);
        if (request.body.command === 'ls') {
          if (!current) return { ret: 0, results: [], canSendTargets: true };
          const root = versionDir(uploads.dir, current.storagePath);
          const entries = (await listUploadEntries(root, rel)) ?? [];
          const self = request.body.opt === '2' && entries.length > 0 ? await selfEntry(root, rel) : null;
          return {
            ret: 0,
            results: [
              ...(self ? [self] : []),
              ...entries.map((entry) => listedFile(entry.path, entry.type, entry.size)),
            ],
            canSendTargets: true,
          };
        }
        if (rel === '')
          throw new HttpProblem(400, statusTitle(400), 'rm needs a path inside the upload, not its root', [
            { field: 'src_path', message: 'must name a file or directory, not the root' },
          ]);
        if (!current) throw conflict('this token holds no version yet: upload a directory with it first');
        const there = await listUploadEntries(versionDir(uploads.dir, current.storagePath), rel);
        if (!there) throw notFound(`"/${printable(rel)}" in version ${current.version}`);
        const version = await buildVersion(deps, presented, 'rm', (tree) => tree.removePath(rel), { base: current });
        request.log.info(
          { evaluationId: presented.evaluation.id, version: version.version, path: rel },
          'upload path removed',
        );
        return { ret: 0, version };
      },
    );
  });
}

/** Builds the version of a complete upload and records how the upload ended; the chunks are removed either way. */
async function commit(
  deps: ApiDeps,
  presented: PresentedToken,
  uploadId: string,
  baseVersion: number | null,
): Promise<UploadVersionView> {
  const { uploads } = deps.env;
  try {
    const base = baseVersion === null ? null : await getUploadVersion(deps.db, presented.evaluation.id, baseVersion);
    if (baseVersion !== null && !base) throw conflict(`version ${baseVersion}, which this upload builds on, is gone`);
    const files = await resumableFiles(deps.db, uploadId);
    const version = await buildVersion(
      deps,
      presented,
      base ? 'cp' : 'upload',
      async (tree) => {
        for (const file of files) await tree.moveFileIn(file.path, resumableFilePath(uploads.dir, uploadId, file.id));
      },
      { base },
    );
    await finishResumableUpload(deps.db, uploadId, { state: 'committed', version: version.version });
    return version;
  } catch (error) {
    const problem = toProblem(error);
    const failure = problem instanceof HttpProblem ? problem.detail : 'the version could not be built';
    await finishResumableUpload(deps.db, uploadId, { state: 'failed', failure });
    throw problem;
  } finally {
    await removeResumableUpload(uploads.dir, uploadId);
  }
}

async function baseOf(deps: ApiDeps, presented: PresentedToken): Promise<UploadVersionRow | null> {
  const { token, evaluation } = presented;
  if (token.uploadVersion === null) return null;
  const row = await getUploadVersion(deps.db, evaluation.id, token.uploadVersion);
  if (!row) throw new Error(`upload token ${token.id} points at version ${token.uploadVersion}, which does not exist`);
  return row;
}

/** The CLI's own normalisation of remote paths (a leading "." and slashes, trailing slashes). */
function filterPath(raw: string): string {
  return raw.replace(/^\./, '').replace(/^\/+/, '').replace(/\/+$/, '');
}

/**
 * A declared name as a path inside the version. The CLI sends names relative to the directory it
 * uploads, or the remote path given to cp (already without its leading slash); an absolute name or
 * a ".." component can only come from a cp without a destination of a path outside the current
 * directory, or from someone probing: both are refused.
 */
function declaredPath(name: string, field: string): string {
  const refuse = (why: string) =>
    new HttpProblem(400, statusTitle(400), `${field} "${printable(name)}" ${why}`, [{ field, message: why }]);
  if (name.includes('\0')) throw refuse('contains a NUL byte');
  if (name.startsWith('/'))
    throw refuse('is an absolute path; name a destination inside the upload (flageval-serving cp SRC /remote/path)');
  const parts = name.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) throw refuse('has a ".." component, which would reach outside the upload');
  if (parts.length === 0) throw refuse('names the root of the upload, not a file');
  return parts.join('/');
}

function checkDeclaration(
  files: { path: string; sizeKb: number }[],
  limits: { maxBytes: number; maxEntries: number },
): void {
  const paths = new Set<string>();
  for (const [i, file] of files.entries()) {
    if (paths.has(file.path)) {
      throw new HttpProblem(400, statusTitle(400), `"${printable(file.path)}" is declared twice`, [
        { field: `files[${i}].filename`, message: 'must not repeat a path declared before it' },
      ]);
    }
    paths.add(file.path);
  }
  for (const file of files) {
    for (let slash = file.path.indexOf('/'); slash > 0; slash = file.path.indexOf('/', slash + 1)) {
      const parent = file.path.slice(0, slash);
      if (paths.has(parent))
        throw conflict(`"${printable(parent)}" is declared as a file, so it cannot hold "${printable(file.path)}"`);
    }
  }
  if (files.length > limits.maxEntries) {
    throw new HttpProblem(
      413,
      statusTitle(413),
      `the upload declares ${files.length.toLocaleString('en-US')} files, more than the ${limits.maxEntries.toLocaleString('en-US')} entries of one version`,
    );
  }
  const declaredBytes = files.reduce((sum, file) => sum + file.sizeKb * 1024, 0);
  if (declaredBytes > limits.maxBytes) {
    throw new HttpProblem(
      413,
      statusTitle(413),
      `the upload declares ${declaredBytes.toLocaleString('en-US')} bytes, more than the ${limits.maxBytes.toLocaleString('en-US')} bytes of one version`,
    );
  }
}

/** A cp that would put a file where the version has a directory, or under one of its files or links, is refused before any chunk is sent. */
async function checkAgainstBase(root: string, version: number, files: { path: string }[]): Promise<void> {
  for (const file of files) {
    const parts = file.path.split('/');
    for (let depth = 1; depth <= parts.length; depth += 1) {
      const rel = parts.slice(0, depth).join('/');
      const info = await lstat(path.join(root, rel)).catch(() => null);
      if (!info) break;
      const leaf = depth === parts.length;
      if (leaf && info.isDirectory())
        throw conflict(`"${printable(rel)}" is a directory in version ${version}; a file cannot replace it`);
      if (!leaf && !info.isDirectory()) {
        const what = info.isSymbolicLink() ? 'a symbolic link' : 'a file';
        throw conflict(
          `"${printable(rel)}" is ${what} in version ${version}, so it cannot hold "${printable(file.path)}"`,
        );
      }
    }
  }
}

export function chunkCount(sizeKb: number, chunkKb: number): number {
  return Math.max(1, Math.ceil(sizeKb / chunkKb));
}

/**
 * Where chunk `num` goes and how long it may be. The CLI declares sizes in whole KiB rounded down
 * (at least 1), reads `sizeKb × 1024` bytes for every chunk but the last, and the rest for the
 * last; so a file of `sizeKb` KiB has between `sizeKb × 1024` (0 when 1) and `sizeKb × 1024 + 1023`
 * bytes, and the last chunk is whatever of that is left.
 */
export function chunkPlacement(sizeKb: number, chunkKb: number, num: number): ChunkPlacement {
  const chunks = chunkCount(sizeKb, chunkKb);
  const offset = (num - 1) * chunkKb * 1024;
  if (num < chunks) return { offset, minBytes: chunkKb * 1024, maxBytes: chunkKb * 1024, last: false };
  const fileMin = sizeKb === 1 ? 0 : sizeKb * 1024;
  const fileMax = sizeKb * 1024 + 1023;
  return { offset, minBytes: Math.max(0, fileMin - offset), maxBytes: fileMax - offset, last: true };
}

function fileView(file: ResumableFileRow, chunkKb: number): FileView {
  const ready = new Set(file.readyChunks);
  const chunks = Array.from({ length: file.chunks }, (_, i) => ({
    num: i + 1,
    sizeKb: i + 1 < file.chunks ? chunkKb : file.sizeKb - (file.chunks - 1) * chunkKb,
    ks3Ready: ready.has(i + 1),
  }));
  return {
    id: file.id,
    filename: file.path,
    sizeKb: file.sizeKb,
    ks3Ready: chunks.every((chunk) => chunk.ks3Ready),
    chunks,
  };
}

function listedFile(rel: string, type: string, size: number): FileView {
  return {
    id: 0,
    filename: type === 'dir' ? `${rel}/` : rel,
    sizeKb: type === 'file' ? Math.max(1, Math.floor(size / 1024)) : 0,
    ks3Ready: true,
    chunks: [],
  };
}

async function selfEntry(root: string, rel: string): Promise<FileView | null> {
  const info = await lstat(path.join(root, rel)).catch(() => null);
  if (!info?.isDirectory()) return null;
  return listedFile(rel === '' ? '' : rel, 'dir', 0);
}

function answer(
  file: ResumableFileRow,
  chunkNum: number,
  ready: boolean,
  version: UploadVersionView | null,
): Static<typeof ChunkAnswer> {
  return { status: 200, id: file.id, filename: file.path, chunkNum, ks3Ready: ready, ...(version ? { version } : {}) };
}

/** Reads and drops the rest of a body that will not be used, so the answer reaches the client. */
async function drain(request: FastifyRequest): Promise<void> {
  if (request.raw.complete) return;
  request.raw.resume();
  await new Promise<void>((resolve) => {
    request.raw.once('end', resolve);
    request.raw.once('close', resolve);
  });
}
