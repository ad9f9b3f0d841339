import { Type, type Static } from '@sinclair/typebox';

export const ROLES = ['user', 'reviewer', 'admin'] as const;
export const Role = Type.Union(
  ROLES.map((r) => Type.Literal(r)),
  { description: `one of ${ROLES.join(', ')}` },
);
export type Role = Static<typeof Role>;

export const CreateUserBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 128, description: 'must be 1–128 characters' }),
    organization: Type.String({ maxLength: 256, default: '', description: 'must be at most 256 characters' }),
    email: Type.String({ format: 'email', maxLength: 320, description: 'must be an e-mail address' }),
    role: Type.Optional(Role),
  },
  { additionalProperties: false },
);
export type CreateUserBody = Static<typeof CreateUserBody>;

export const QuotaUse = Type.Object({ used: Type.Integer(), limit: Type.Integer() });

export const UserView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  organization: Type.String(),
  email: Type.String(),
  role: Role,
  createdAt: Type.String(),
});
export type UserView = Static<typeof UserView>;

export const MeView = Type.Composite([
  UserView,
  Type.Object({ quota: Type.Object({ month: Type.String(), formal: QuotaUse, manual: QuotaUse }) }),
]);
export type MeView = Static<typeof MeView>;

/** A new user: the one response that shows the API key. */
export const CreatedUser = Type.Object({
  id: Type.String({ format: 'uuid' }),
  apiKey: Type.String({ description: 'the new API key; shown only in this response' }),
});
export type CreatedUser = Static<typeof CreatedUser>;
