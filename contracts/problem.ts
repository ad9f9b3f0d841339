import { Type, type Static } from '@sinclair/typebox';

/** RFC 9457 problem details, as every error response of the API. */
export const FieldError = Type.Object({
  field: Type.String({ description: 'dotted path of the offending field, e.g. deployment.endpoint' }),
  message: Type.String(),
});
export type FieldError = Static<typeof FieldError>;

export const Problem = Type.Object({
  type: Type.String(),
  title: Type.String(),
  status: Type.Integer(),
  detail: Type.String(),
  errors: Type.Optional(Type.Array(FieldError)),
});
export type Problem = Static<typeof Problem>;
