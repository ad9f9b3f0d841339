/**
 * Pieces the API's views share: a nullable value, a timestamp and an id as they are written in
 * JSON, and a score's confidence interval. The views themselves are declared once, as TypeBox
 * schemas in the contracts/ module of their resource; their TypeScript types come from those.
 */
import { Type, type SchemaOptions, type Static, type TNull, type TSchema, type TUnion } from '@sinclair/typebox';

/** The value or null; the options (a description) belong to the whole. */
export function nullable<T extends TSchema>(schema: T, options?: SchemaOptions): TUnion<[T, TNull]> {
  return Type.Union([schema, Type.Null()], options);
}

/** An instant as ISO 8601 text (`Date.prototype.toISOString`). */
export const Timestamp = Type.String({ format: 'date-time' });

/** A record's id as the API shows it. */
export const Uuid = Type.String({ format: 'uuid' });

/** A 95% confidence interval of a score. */
export const ScoreInterval = Type.Object({ lower: Type.Number(), upper: Type.Number() });
export type ScoreInterval = Static<typeof ScoreInterval>;
