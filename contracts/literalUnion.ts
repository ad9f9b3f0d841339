/**
 * A TypeBox union of string literals taken from a constant list. `Type.Union(list.map(Type.Literal))`
 * builds the same schema but types it as a union of `string` literals the Fastify type provider
 * cannot narrow; this keeps each literal's type, so a route's schema can come from the list the
 * rest of the code uses instead of a copy spelt out beside it.
 */
import { Type, type SchemaOptions, type TLiteral, type TUnion } from '@sinclair/typebox';

type Literals<T extends readonly string[]> = { -readonly [K in keyof T]: TLiteral<T[K]> };

export function literalUnion<const T extends readonly string[]>(
  values: T,
  options?: SchemaOptions,
): TUnion<Literals<T>> {
  return Type.Union(
    values.map((value) => Type.Literal(value)),
    options,
  ) as unknown as TUnion<Literals<T>>;
}
