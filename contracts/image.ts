/**
 * Images a private run's container starts from: preloaded by the platform, or imported by a user
 * and usable once an admin approves it (seed: "Image Management").
 */
import { Type, type Static } from '@sinclair/typebox';
import { Domain } from './domain';

export const IMAGE_STATUSES = ['pending', 'approved', 'rejected'] as const;
export type ImageStatus = (typeof IMAGE_STATUSES)[number];
export type ImageSource = 'platform' | 'user';

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

export interface ImageView {
  id: string;
  name: string;
  tag: string;
  source: ImageSource;
  status: ImageStatus;
  /** Where it is pulled from (user images) or how the platform built it (preloaded ones). */
  url: string;
  description: string;
  domains: string[];
  framework: string;
  hardware: string;
  ownerId: string | null;
  rejectReason: string | null;
  createdAt: string;
  reviewedAt: string | null;
}

/** Seed: 3–128 lowercase letters, digits, hyphens and dots, starting with a letter, ending with a letter or digit. */
export const IMAGE_NAME_PATTERN = /^[a-z][a-z0-9.-]{1,126}[a-z0-9]$/;
export const IMAGE_NAME_RULE =
  'must be 3–128 characters of lowercase letters, digits, hyphens and dots, start with a lowercase letter and end with a lowercase letter or digit';

/** The schema of ImageView, for the API's responses and its OpenAPI document; kept in step by the compiler. */
export const ImageViewSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  tag: Type.String(),
  source: Type.Union([Type.Literal('platform'), Type.Literal('user')], {
    description: 'platform: preloaded; user: imported by its owner',
  }),
  status: Type.Union(
    IMAGE_STATUSES.map((s) => Type.Literal(s)),
    { description: 'only approved images can be used by evaluations' },
  ),
  url: Type.String({
    description: 'where the image is pulled from (user images) or how the platform builds it (preloaded ones)',
  }),
  description: Type.String(),
  domains: Type.Array(Type.String(), { description: 'the evaluation domains the image serves' }),
  framework: Type.String(),
  hardware: Type.String(),
  ownerId: Type.Union([Type.String({ format: 'uuid' }), Type.Null()], { description: 'null for preloaded images' }),
  rejectReason: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  reviewedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const imageViewInStep: Same<Static<typeof ImageViewSchema>, ImageView> = true;
void imageViewInStep;
