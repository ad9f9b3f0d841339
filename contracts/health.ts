import { Type, type Static } from '@sinclair/typebox';

/** What GET /healthz answers: whether the API reaches its database and Temporal. */
export const Health = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded')]),
  db: Type.String({ description: 'ok, or why the database cannot be reached' }),
  temporal: Type.String({ description: 'ok, or why Temporal cannot be reached' }),
});
export type Health = Static<typeof Health>;
