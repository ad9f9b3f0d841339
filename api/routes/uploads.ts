/**
 * Upload tokens, upload versions, and the token-authenticated upload, cp and ls of model and code
 * (private deployment; docs/uploads.md has the protocol).
 *
 * The owner of a private evaluation asks for a token with an API key; the `proctor` CLI then uses
 * the token alone. A token's first upload makes a new version and binds the token to it; each cp
 * makes another version derived from the token's current one, and the token follows. Versions are
 * immutable directories (storage/); runs pin the version they were launched with.
 *
 * Bodies of the token routes are streamed, never buffered: the content-type parsers of this scope
 * hand the raw request through and storage/ writes it to disk entry by entry under its own limits
 * (fastify's bodyLimit does not apply). A request answered before its body was read to the end
 * is drained for a moment, then its connection closed: the server never reads the rest of a
 * refused upload, and the client, still sending, has time to read why it was refused.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { ApiDeps } from '../apiDeps';
import type { Caller } from '../../contracts/caller';
import {
  IssuedUploadToken,
  UPLOAD_TOKEN_PREFIX,
  UploadEntry,
  UploadTokenView,
  UploadVersionView,
} from '../../contracts/upload';
import { getEvaluationFor, type EvaluationRow } from '../../db/queries/evaluations';
import {
  getUploadVersion,
  issueUploadToken,
  listUploadTokens,
  listUploadVersions,
  revokeUploadToken,
  toUploadTokenView,
  toUploadVersionView,
  type PresentedToken,
  type UploadVersionRow,
} from '../../db/queries/uploads';
import type { StagingTree } from '../../storage/stagingTree';
import { extractTar, TAR_OVERHEAD_PER_ENTRY } from '../../storage/tarExtraction';
import {
  buildVersion,
  listVersion,
  presentToken,
  safeRemotePath,
  tokenVersion,
  TokenRefused,
} from '../uploads/versions';
import { HttpProblem, conflict, forbidden, notFound, statusTitle, unauthorized } from '../http/problems';
import { problems } from '../http/openapi';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set on the token-authenticated upload routes. */
    uploadToken: PresentedToken;
  }
}

const TAR = 'application/x-tar';
const OCTET_STREAM = 'application/octet-stream';
const BEARER = /^Bearer\s+(\S+)\s*$/i;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const access = { roles: ['user', 'admin'] } as const;
/** How long, and how much, of a refused upload's body is read after answering, before closing. */
const LINGER_MS = 2_000;
const LINGER_BYTES = 16 * 1024 * 1024;

const EvaluationParams = Type.Object({ id: Type.String({ description: 'the evaluation id' }) });
const TokenParams = Type.Object({
  id: Type.String({ description: 'the evaluation id' }),
  tokenId: Type.String({ description: 'the token id' }),
});
const VersionParams = Type.Object({
  id: Type.String({ description: 'the evaluation id' }),
  version: Type.Integer({ minimum: 1, maximum: 2_147_483_647, description: 'must be a version number (1, 2, …)' }),
});
const remotePathRule = 'must be a path inside the upload ("/" or "" for its root), without ".." components';
const PathQuery = Type.Object(
  { path: Type.Optional(Type.String({ maxLength: 4096, default: '/', description: remotePathRule })) },
  { additionalProperties: false },
);
const CpQuery = Type.Object(
  { to: Type.String({ minLength: 1, maxLength: 4096, description: remotePathRule }) },
  { additionalProperties: false },
);
const FileQuery = Type.Object(
  {
    path: Type.String({
      minLength: 1,
      maxLength: 4096,
      description: 'must be the file\'s path inside the upload, without ".." components',
    }),
    executable: Type.Optional(
      Type.Boolean({ description: 'must be true or false: whether the file is stored executable (0755)' }),
    ),
  },
  { additionalProperties: false },
);

const tokenAuth = 'Authenticated by an upload token (`Authorization: Bearer pup_…`), not an API key. ';

export async function uploadsRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const now = () => (deps.now ?? (() => new Date()))();
  const { uploads } = deps.env;

  const versionOf = async (caller: Caller, evaluationId: string, version: number): Promise<UploadVersionRow> => {
    const evaluation = await getEvaluationFor(deps.db, caller, evaluationId);
    const row = await getUploadVersion(deps.db, evaluation.id, version);
    if (!row) throw notFound(`upload version ${version}`);
    return row;
  };

  r.post(
    '/evaluations/:id/upload-token',
    {
      schema: {
        summary: 'Issue a token for uploading model and code (private deployment)',
        description:
          `The token is shown once; it expires after ${uploads.tokenTtlHours} hours and can be revoked. Its first upload ` +
          'makes a new version and binds the token to it; cp appends to that version. Only the evaluation’s owner may ask, ' +
          'and only for a private deployment (409 otherwise).',
        tags: ['uploads'],
        params: EvaluationParams,
        response: { 201: IssuedUploadToken, ...problems(403, 404, 409) },
      },
      config: access,
    },
    async (request, reply) => {
      const evaluation = await getEvaluationFor(deps.db, request.caller, request.params.id);
      if (evaluation.ownerId !== request.caller.userId)
        throw forbidden('only the evaluation’s owner may issue upload tokens for it');
      requirePrivate(evaluation);
      const token = `${UPLOAD_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
      const expiresAt = new Date(now().getTime() + uploads.tokenTtlHours * 3_600_000);
      const row = await issueUploadToken(deps.db, {
        evaluationId: evaluation.id,
        createdBy: request.caller.userId,
        token,
        expiresAt,
      });
      request.log.info({ evaluationId: evaluation.id, tokenId: row.id }, 'upload token issued');
      const issued: IssuedUploadToken = {
        tokenId: row.id,
        token,
        evaluationId: evaluation.id,
        expiresAt: row.expiresAt.toISOString(),
      };
      return reply.code(201).send(issued);
    },
  );

  r.get(
    '/evaluations/:id/upload-tokens',
    {
      schema: {
        summary: 'The evaluation’s upload tokens, newest first (never the tokens themselves)',
        tags: ['uploads'],
        params: EvaluationParams,
        response: { 200: Type.Array(UploadTokenView), ...problems(403, 404) },
      },
      config: access,
    },
    async (request) => {
      const evaluation = await getEvaluationFor(deps.db, request.caller, request.params.id, { deleted: 'readable' });
      return (await listUploadTokens(deps.db, evaluation.id)).map(toUploadTokenView);
    },
  );

  r.delete(
    '/evaluations/:id/upload-tokens/:tokenId',
    {
      schema: {
        summary: 'Revoke an upload token',
        description: 'Revoking a revoked token changes nothing. The versions it made stay.',
        tags: ['uploads'],
        params: TokenParams,
        response: { 204: Type.Null({ description: 'Revoked' }), ...problems(403, 404) },
      },
      config: access,
    },
    async (request, reply) => {
      const evaluation = await getEvaluationFor(deps.db, request.caller, request.params.id);
      const revoked =
        UUID.test(request.params.tokenId) &&
        (await revokeUploadToken(deps.db, evaluation.id, request.params.tokenId, now()));
      if (!revoked) throw notFound('upload token');
      request.log.info({ evaluationId: evaluation.id, tokenId: request.params.tokenId }, 'upload token revoked');
      return reply.code(204).send(null);
    },
  );

  r.get(
    '/evaluations/:id/uploads',
    {
      schema: {
        summary: 'The versions of the evaluation’s model and code, newest first',
        tags: ['uploads'],
        params: EvaluationParams,
        response: { 200: Type.Array(UploadVersionView), ...problems(403, 404) },
      },
      config: access,
    },
    async (request) => {
      const evaluation = await getEvaluationFor(deps.db, request.caller, request.params.id, { deleted: 'readable' });
      return (await listUploadVersions(deps.db, evaluation.id)).map(toUploadVersionView);
    },
  );

  r.get(
    '/evaluations/:id/uploads/:version',
    {
      schema: {
        summary: 'One version of the model and code, with its layout check',
        tags: ['uploads'],
        params: VersionParams,
        response: { 200: UploadVersionView, ...problems(403, 404) },
      },
      config: access,
    },
    async (request) => toUploadVersionView(await versionOf(request.caller, request.params.id, request.params.version)),
  );

  r.get(
    '/evaluations/:id/uploads/:version/files',
    {
      schema: {
        summary: 'The entries under a path of a version (like ls)',
        tags: ['uploads'],
        params: VersionParams,
        querystring: PathQuery,
        response: { 200: Type.Array(UploadEntry), ...problems(403, 404) },
      },
      config: access,
    },
    async (request) => {
      const row = await versionOf(request.caller, request.params.id, request.params.version);
      return listVersion(uploads.dir, row, request.query.path ?? '/');
    },
  );

  await app.register(async (scope) => {
    const s = scope.withTypeProvider<TypeBoxTypeProvider>();
    scope.decorateRequest('uploadToken', null as unknown as PresentedToken);
    // The body reaches the handler as the request stream itself; storage/ reads it under its own limits.
    scope.addContentTypeParser([TAR, OCTET_STREAM], (_request, payload, done) => done(null, payload));
    scope.addHook('onRequest', async (request, reply) => {
      request.uploadToken = await authenticateUploadToken(deps, request, reply, now());
    });
    // Answered before the body was read to the end (a refusal): read no more of it than it takes
    // for the client to see the answer, then close.
    scope.addHook('onResponse', async (request) => {
      if (!request.raw.complete && !request.raw.destroyed) lingerThenClose(request.raw);
    });

    const receive = async (
      request: FastifyRequest,
      reply: FastifyReply,
      kind: 'upload' | 'cp',
      apply: (tree: StagingTree) => Promise<void>,
    ) => {
      const view = await buildVersion(deps, request.uploadToken, kind, apply, {
        interrupted: () => request.raw.destroyed && !request.raw.complete,
      });
      request.log.info(
        {
          evaluationId: view.evaluationId,
          version: view.version,
          kind,
          derivedFrom: view.derivedFrom,
          files: view.files,
          bytes: view.bytes,
          checkOk: view.check.ok,
        },
        'upload version stored',
      );
      return reply
        .code(201)
        .header('location', `/v1/evaluations/${view.evaluationId}/uploads/${view.version}`)
        .send(view);
    };
    const tarBody = (request: FastifyRequest) => ({
      body: request.body as Readable,
      maxBodyBytes: uploads.maxBytes + uploads.maxEntries * TAR_OVERHEAD_PER_ENTRY + 1024 * 1024,
    });

    s.put(
      '/upload',
      {
        schema: {
          summary: 'Upload a directory as a new version (tar stream)',
          description:
            tokenAuth +
            'The body is an uncompressed tar stream (Content-Type: application/x-tar) of the directory’s contents. It makes a new ' +
            'version and binds the token to it; a token that already holds a version answers 409 (use cp, or a new token). ' +
            'Only regular files, directories and relative symbolic links that stay inside the upload are accepted.',
          tags: ['uploads'],
          response: { 201: UploadVersionView, ...problems(400, 401, 409, 413, 415) },
        },
        config: { public: true },
        onRequest: requireMediaType(TAR, 'a tar stream of the directory’s contents'),
      },
      async (request, reply) => {
        const { token } = request.uploadToken;
        if (token.uploadVersion !== null) {
          throw conflict(
            `this token already holds version ${token.uploadVersion}; use cp to append, or ask for a new token`,
          );
        }
        refuseDeclaredOversize(request, tarBody(request).maxBodyBytes);
        return receive(request, reply, 'upload', (tree) => extractTar(tarBody(request), tree, ''));
      },
    );

    s.post(
      '/upload/cp',
      {
        schema: {
          summary: 'Copy a tar stream into the token’s version, as a new version',
          description:
            tokenAuth +
            'The entries of the tar stream are placed under `to` on top of the token’s current version, replacing files ' +
            'of the same path (like cp -r); the result is a new version derived from it, and the token moves to it.',
          tags: ['uploads'],
          querystring: CpQuery,
          response: { 201: UploadVersionView, ...problems(400, 401, 409, 413, 415) },
        },
        config: { public: true },
        onRequest: requireMediaType(TAR, 'a tar stream of what to copy'),
      },
      async (request, reply) => {
        const under = safeRemotePath(request.query.to, 'to');
        refuseDeclaredOversize(request, tarBody(request).maxBodyBytes);
        return receive(request, reply, 'cp', async (tree) => {
          if (under !== '') await tree.makeDir(under);
          await extractTar(tarBody(request), tree, under);
        });
      },
    );

    s.put(
      '/upload/files',
      {
        schema: {
          summary: 'Copy one file into the token’s version, as a new version',
          description:
            tokenAuth +
            'The body (Content-Type: application/octet-stream) is the file’s content, stored at `path` on top of the token’s ' +
            'current version, replacing a file there; the result is a new version and the token moves to it.',
          tags: ['uploads'],
          querystring: FileQuery,
          response: { 201: UploadVersionView, ...problems(400, 401, 409, 413, 415) },
        },
        config: { public: true },
        onRequest: requireMediaType(OCTET_STREAM, 'the file’s content'),
      },
      async (request, reply) => {
        const rel = safeRemotePath(request.query.path, 'path');
        if (rel === '')
          throw new HttpProblem(400, statusTitle(400), 'path must name a file inside the upload, not its root', [
            { field: 'path', message: 'must name a file, not the root' },
          ]);
        refuseDeclaredOversize(request, uploads.maxBytes);
        const body = request.body as Readable;
        return receive(request, reply, 'cp', (tree) =>
          tree.writeFile(rel, body.iterator({ destroyOnReturn: false }), {
            executable: request.query.executable === true,
          }),
        );
      },
    );

    s.get(
      '/upload/ls',
      {
        schema: {
          summary: 'List a path of the token’s current version',
          description:
            tokenAuth +
            'The entries directly under the path (or the file itself), sorted by name; 404 when the path does not exist.',
          tags: ['uploads'],
          querystring: PathQuery,
          response: { 200: Type.Array(UploadEntry), ...problems(400, 401, 404, 409) },
        },
        config: { public: true },
      },
      async (request) =>
        listVersion(uploads.dir, await tokenVersion(deps, request.uploadToken), request.query.path ?? '/'),
    );
  });
}

/**
 * The token presented, valid and for an evaluation that still deploys privately. Each refusal says
 * which of unknown, expired or revoked it is, so the user knows whether to copy again or ask anew.
 */
async function authenticateUploadToken(
  deps: ApiDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  now: Date,
): Promise<PresentedToken> {
  const header = request.headers.authorization;
  const presented = header ? BEARER.exec(header)?.[1] : undefined;
  // RFC 6750 §3.1: no credentials get a bare challenge; wrong ones say the token is invalid.
  const refuse = (detail: string) => {
    reply.header('www-authenticate', header ? 'Bearer error="invalid_token"' : 'Bearer');
    return unauthorized(detail);
  };
  if (!presented)
    throw refuse(
      'send the upload token as "Authorization: Bearer pup_…"; the evaluation’s owner gets one with POST /v1/evaluations/{id}/upload-token',
    );
  if (!presented.startsWith(UPLOAD_TOKEN_PREFIX)) {
    throw refuse(
      'this is not an upload token (upload tokens start with pup_); an API key cannot upload: get a token with POST /v1/evaluations/{id}/upload-token',
    );
  }
  try {
    return await presentToken(deps, presented, now);
  } catch (error) {
    if (error instanceof TokenRefused) throw refuse(error.detail);
    throw error;
  }
}

/**
 * After answering a request whose body is still arriving: closing at once would reset a client
 * that is still sending, and a reset can cost it the answer it has not read yet. So the rest is
 * read and dropped for a bounded time and amount (what servers call a lingering close), then the
 * connection is closed. A client that stops sending when it sees the answer ends this at once.
 */
function lingerThenClose(raw: IncomingMessage): void {
  let drained = 0;
  const close = () => {
    stop();
    raw.socket?.destroy();
  };
  const timer = setTimeout(close, LINGER_MS);
  const onData = (chunk: Buffer) => {
    drained += chunk.byteLength;
    if (drained > LINGER_BYTES) close();
  };
  const stop = () => {
    clearTimeout(timer);
    raw.off('data', onData);
    raw.off('end', stop);
    raw.off('close', stop);
  };
  raw.on('data', onData);
  raw.on('end', stop);
  raw.on('close', stop);
  raw.resume();
}

function requirePrivate(evaluation: EvaluationRow): void {
  if (evaluation.deployment.method !== 'private') {
    throw conflict(
      `upload tokens are for private deployments; this evaluation's deployment.method is ${evaluation.deployment.method}`,
      'deployment.method',
    );
  }
}

/** Checked before the body is parsed, so a wrong body is refused without reading it. */
function requireMediaType(mediaType: string, what: string) {
  return async (request: FastifyRequest) => {
    const sent = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (sent !== mediaType) {
      throw new HttpProblem(
        415,
        statusTitle(415),
        `send ${what} with Content-Type: ${mediaType}${sent ? `, not ${sent}` : ''}`,
      );
    }
  };
}

function refuseDeclaredOversize(request: FastifyRequest, limit: number): void {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    throw new HttpProblem(
      413,
      statusTitle(413),
      `the body is ${declared.toLocaleString('en-US')} bytes, more than an upload within the limits can be`,
    );
  }
}
