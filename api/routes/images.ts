/**
 * Image management (seed: "Image Management"): everyone sees the preloaded images and their own
 * imports (admins see all); users import an image by its pull URL with a Dockerfile for the
 * reviewers; an admin approves or rejects it, and only approved images can serve a private run.
 * An admin may later take an approved image down: evaluations and launches that name it are
 * refused from then on, while runs already launched keep the image they froze and finish.
 *
 * The platform builds nothing from the Dockerfile: it is read for review. The rules an import is
 * checked against (name, tag, URL, domains, Dockerfile) live in ../imageRules.
 */
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { ApiDeps } from '../apiDeps';
import { Domain } from '../../contracts/domain';
import {
  IMAGE_NAME_RULE,
  IMAGE_STATUSES,
  ImageDetail,
  ImageList,
  ImageView,
  ImportedImage,
  ImportImageBody,
  RejectImageBody,
  TakedownImageBody,
  type ImportImageBody as ImportFields,
  type RejectImageBody as RejectFields,
  type TakedownImageBody as TakedownFields,
} from '../../contracts/image';
import {
  ImageNameTaken,
  getVisibleImage,
  insertImportedImage,
  listVisibleImages,
  reviewImage,
  takeDownImage,
  toImageView,
  type ImageRow,
  type ReviewDecision,
} from '../../db/queries/images';
import { HttpProblem, conflict, notFound, statusTitle, validationProblem } from '../http/problems';
import { problems } from '../http/openapi';
import {
  CONTAINER_DOMAINS,
  domainErrors,
  nameErrors,
  referenceErrors,
  reviewDockerfile,
  tagErrors,
  timestampTag,
} from '../rules/imageRules';
import { findRecipient, queueNotification } from '../../db/queries/notifications';
import { imageReviewedMail } from '../../notifications/imageReviewedMail';

const ImageParams = Type.Object({ id: Type.String({ description: 'the image id' }) });
const ImageQuery = Type.Object(
  {
    status: Type.Optional(
      Type.Union(
        IMAGE_STATUSES.map((s) => Type.Literal(s)),
        { description: `one of ${IMAGE_STATUSES.join(', ')}` },
      ),
    ),
    source: Type.Optional(
      Type.Union([Type.Literal('platform'), Type.Literal('user')], { description: 'one of platform, user' }),
    ),
    domain: Type.Optional(Domain),
  },
  { additionalProperties: false },
);

export async function imagesRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  app.get<{ Querystring: Static<typeof ImageQuery> }>(
    '/images',
    {
      schema: {
        summary: 'Preloaded images and the caller’s imports',
        description:
          'Preloaded images first, then imported ones newest first. Users see their own imports, admins everyone’s. ' +
          'Filter by status, source or the domain an image serves.',
        tags: ['images'],
        querystring: ImageQuery,
        response: { 200: ImageList, ...problems(400) },
      },
    },
    async (request) => {
      const rows = await listVisibleImages(deps.db, viewerOf(request.caller), request.query);
      return { items: rows.map(toImageView) };
    },
  );

  app.get<{ Params: Static<typeof ImageParams> }>(
    '/images/:id',
    {
      schema: {
        summary: 'One image, with its Dockerfile and the review warnings',
        tags: ['images'],
        params: ImageParams,
        response: { 200: ImageDetail, ...problems(404) },
      },
    },
    async (request) => {
      const row = await getVisibleImage(deps.db, viewerOf(request.caller), request.params.id);
      if (!row) throw notFound('image');
      return {
        ...toImageView(row),
        dockerfile: row.dockerfile,
        warnings: row.source === 'user' ? reviewDockerfile(row.dockerfile).warnings : [],
      };
    },
  );

  app.post<{ Body: ImportFields }>(
    '/images',
    {
      schema: {
        summary: 'Import an image for review',
        description:
          `Name: ${IMAGE_NAME_RULE}. Tag: a Docker tag, not "latest" (any case); a UTC timestamp YYYYMMDDHHmmss when left out. ` +
          'Name and tag together are unique (409 otherwise). url: a Docker image reference that `docker pull` accepts ' +
          '(registry host[:port]/path[:tag][@sha256:digest], no scheme). dockerfile: for the reviewers; its first instruction must be ' +
          'FROM and ENV must not set variables the container provides (NVIDIA_*, HOSTNAME, KUBERNETES_*, RANK, MASTER_*, AIRS_*, ' +
          'CUDA_*, NCCL_*, PADDLE_*). domains: the domains the image serves (default: every domain that takes private deployment). ' +
          'The image is pending until an admin reviews it; warnings list the guideline points the reviewers will look at.',
        tags: ['images'],
        body: ImportImageBody,
        response: { 201: ImportedImage, ...problems(400, 409, 413, 415) },
      },
      config: { roles: ['user', 'admin'] },
    },
    async (request, reply) => {
      const body = request.body;
      const tag = body.tag ?? timestampTag((deps.now ?? (() => new Date()))());
      const review = reviewDockerfile(body.dockerfile);
      const errors = [
        ...nameErrors(body.name),
        ...tagErrors(tag),
        ...referenceErrors('url', body.url),
        ...review.errors,
        ...domainErrors(body.domains),
      ];
      if (errors.length > 0) throw validationProblem(errors);

      let row: ImageRow;
      try {
        row = await insertImportedImage(deps.db, {
          name: body.name,
          tag,
          ownerId: request.caller.userId,
          url: body.url,
          dockerfile: body.dockerfile,
          description: body.description ?? '',
          domains: body.domains ?? [...CONTAINER_DOMAINS],
        });
      } catch (error) {
        if (error instanceof ImageNameTaken) {
          throw new HttpProblem(409, statusTitle(409), error.message, [
            { field: 'name', message: `with tag ${tag} is already taken` },
            { field: 'tag', message: `${tag} is already taken for ${body.name}` },
          ]);
        }
        throw error;
      }
      request.log.info(
        { imageId: row.id, name: row.name, tag: row.tag, ownerId: row.ownerId, warnings: review.warnings.length },
        'image imported',
      );
      return reply
        .code(201)
        .header('location', `/v1/images/${row.id}`)
        .send({ ...toImageView(row), warnings: review.warnings });
    },
  );

  app.post<{ Params: Static<typeof ImageParams> }>(
    '/images/:id/approve',
    {
      schema: {
        summary: 'Approve a pending image',
        description:
          'The image becomes usable by its owner’s evaluations. Only a pending image can be reviewed (409 otherwise).',
        tags: ['images'],
        params: ImageParams,
        response: { 200: ImageView, ...problems(404, 409) },
      },
      config: { roles: ['admin'] },
    },
    async (request) => review(deps, request.caller.userId, request.params.id, { status: 'approved' }, request.log),
  );

  app.post<{ Params: Static<typeof ImageParams>; Body: RejectFields }>(
    '/images/:id/reject',
    {
      schema: {
        summary: 'Reject a pending image, saying why',
        description:
          'The reason is shown to the owner, who may fix the URL or Dockerfile and import again. Only a pending image can be reviewed.',
        tags: ['images'],
        params: ImageParams,
        body: RejectImageBody,
        response: { 200: ImageView, ...problems(404, 409) },
      },
      config: { roles: ['admin'] },
    },
    async (request) =>
      review(
        deps,
        request.caller.userId,
        request.params.id,
        { status: 'rejected', reason: request.body.reason },
        request.log,
      ),
  );

  app.post<{ Params: Static<typeof ImageParams>; Body: TakedownFields }>(
    '/images/:id/takedown',
    {
      schema: {
        summary: 'Take down an approved image, saying why',
        description:
          'The image can no longer be chosen for an evaluation, and a launch of an evaluation or scoring configuration ' +
          'that names it is refused (409) with the reason; runs already launched keep the image and finish. The owner ' +
          'sees the reason in the image. Only an approved image its owner imported can be taken down (409 otherwise: ' +
          'pending, rejected, already taken down, or preloaded by the platform).',
        tags: ['images'],
        params: ImageParams,
        body: TakedownImageBody,
        response: { 200: ImageView, ...problems(404, 409) },
      },
      config: { roles: ['admin'] },
    },
    async (request) => {
      const { id } = request.params;
      const outcome = await takeDownImage(deps.db, id, request.caller.userId, request.body.reason);
      if (!outcome.ok) {
        if (outcome.reason === 'missing') throw notFound('image');
        throw conflict(notTakeable(outcome.image), 'status');
      }
      request.log.info(
        { imageId: id, ownerId: outcome.image.ownerId, takenDownBy: request.caller.userId },
        'image taken down',
      );
      return toImageView(outcome.image);
    },
  );
}

/** Why this image, as it stands, cannot be taken down (the update matches every approved user image). */
function notTakeable(image: ImageRow): string {
  if (image.source === 'platform') {
    return 'the image is preloaded by the platform; only an approved image a user imported can be taken down';
  }
  const rule = 'only an approved image can be taken down';
  if (image.status === 'pending') return `the image is pending review; ${rule} (reject a pending one instead)`;
  if (image.status === 'rejected') {
    return `the image was rejected${image.reviewedAt ? ` at ${image.reviewedAt.toISOString()}` : ''}; ${rule}`;
  }
  return `the image was already taken down${image.takenDownAt ? ` at ${image.takenDownAt.toISOString()}` : ''}; ${rule}`;
}

function viewerOf(caller: { userId: string; role: string }) {
  return { userId: caller.userId, isAdmin: caller.role === 'admin' };
}

async function review(
  deps: ApiDeps,
  reviewerId: string,
  imageId: string,
  decision: ReviewDecision,
  log: FastifyBaseLogger,
): Promise<ImageView> {
  // The owner's mail is queued in the review's own transaction: reviewed means mailed (once, by its dedupe key).
  const outcome = await deps.db.transaction(async (tx) => {
    const reviewed = await reviewImage(tx, imageId, reviewerId, decision);
    if (reviewed.ok && reviewed.image.ownerId) {
      const { image } = reviewed;
      const owner = await findRecipient(tx, image.ownerId!);
      if (owner) {
        const facts = {
          imageId: image.id,
          name: image.name,
          tag: image.tag,
          decision: decision.status,
          reason: image.rejectReason,
          reviewedAt: image.reviewedAt,
        };
        await queueNotification(tx, imageReviewedMail(facts, owner));
      }
    }
    return reviewed;
  });
  if (!outcome.ok) {
    if (outcome.reason === 'missing') throw notFound('image');
    const { image } = outcome;
    const when = image.reviewedAt
      ? ` (reviewed at ${image.reviewedAt.toISOString()})`
      : image.source === 'platform'
        ? ' (preloaded by the platform)'
        : '';
    const status = image.status === 'taken-down' ? 'taken down' : image.status;
    throw conflict(`the image is already ${status}${when}; only a pending image can be reviewed`, 'status');
  }
  log.info({ imageId, ownerId: outcome.image.ownerId, status: outcome.image.status, reviewerId }, 'image reviewed');
  return toImageView(outcome.image);
}
