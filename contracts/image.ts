/**
 * Images a private run's container starts from: preloaded by the platform, or imported by a user
 * and usable once an admin approves it (seed: "Image Management"), until an admin takes it down.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Domain } from './domain';
import { literalUnion } from './literalUnion';
import { nullable, Timestamp, Uuid } from './common';
import { FieldError } from './problem';

/** taken-down: approved once, then withdrawn by an admin; no new run may use it, runs already launched finish. */
export const IMAGE_STATUSES = ['pending', 'approved', 'rejected', 'taken-down'] as const;
export type ImageStatus = (typeof IMAGE_STATUSES)[number];
export const IMAGE_SOURCES = ['platform', 'user'] as const;
export type ImageSource = (typeof IMAGE_SOURCES)[number];

export const ImportImageBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 128, description: 'must be 3–128 characters' }),
    tag: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'must be 1–128 characters' })),
    url: Type.String({
      minLength: 1,
      maxLength: 1024,
      description: 'must be an image reference of at most 1,024 characters',
    }),
    dockerfile: Type.String({ minLength: 1, maxLength: 65536, description: 'is required (at most 64 KiB)' }),
    description: Type.Optional(Type.String({ maxLength: 256, description: 'must be at most 256 characters' })),
    domains: Type.Optional(
      Type.Array(Domain, { minItems: 1, uniqueItems: true, description: 'must list distinct domains' }),
    ),
  },
  { additionalProperties: false },
);
export type ImportImageBody = Static<typeof ImportImageBody>;

export const RejectImageBody = Type.Object(
  { reason: Type.String({ minLength: 1, maxLength: 1024, description: 'must be 1–1,024 characters' }) },
  { additionalProperties: false },
);
export type RejectImageBody = Static<typeof RejectImageBody>;

export const TakedownImageBody = Type.Object(
  {
    reason: Type.String({
      minLength: 1,
      maxLength: 1000,
      description:
        'must be 1–1,000 characters; shown to the owner and in the refusals of evaluations that use the image',
    }),
  },
  { additionalProperties: false },
);
export type TakedownImageBody = Static<typeof TakedownImageBody>;

/** Seed: 3–128 lowercase letters, digits, hyphens and dots, starting with a letter, ending with a letter or digit. */
export const IMAGE_NAME_PATTERN = /^[a-z][a-z0-9.-]{1,126}[a-z0-9]$/;
export const IMAGE_NAME_RULE =
  'must be 3–128 characters of lowercase letters, digits, hyphens and dots, start with a lowercase letter and end with a lowercase letter or digit';

/** An image as the API shows it. */
export const ImageView = Type.Object({
  id: Uuid,
  name: Type.String(),
  tag: Type.String(),
  source: literalUnion(IMAGE_SOURCES, { description: 'platform: preloaded; user: imported by its owner' }),
  status: literalUnion(IMAGE_STATUSES, {
    description:
      'only approved images can be used by evaluations; a taken-down image was approved and then withdrawn by an admin',
  }),
  url: Type.String({
    description: 'where the image is pulled from (user images) or how the platform builds it (preloaded ones)',
  }),
  description: Type.String(),
  domains: Type.Array(Type.String(), { description: 'the evaluation domains the image serves' }),
  framework: Type.String(),
  hardware: Type.String(),
  ownerId: nullable(Uuid, { description: 'null for preloaded images' }),
  rejectReason: nullable(Type.String()),
  createdAt: Timestamp,
  reviewedAt: nullable(Timestamp),
  takedownReason: nullable(Type.String(), { description: 'why an admin took the image down; null unless taken-down' }),
  takenDownAt: nullable(Timestamp, { description: 'when it was taken down; null unless taken-down' }),
});
export type ImageView = Static<typeof ImageView>;

export const ImageList = Type.Object({ items: Type.Array(ImageView) });

const ImageWarnings = Type.Array(FieldError, {
  description:
    'advice of the image rules that does not refuse the import but that reviewers check (see the seed’s Dockerfile guidelines)',
});

/** What an import answers: the image and the advice its Dockerfile drew. */
export const ImportedImage = Type.Composite([ImageView, Type.Object({ warnings: ImageWarnings })]);

/** One image with what its reviewers read. */
export const ImageDetail = Type.Composite([
  ImageView,
  Type.Object({
    dockerfile: Type.String({ description: 'as submitted, for review; empty for preloaded images' }),
    warnings: ImageWarnings,
  }),
]);
