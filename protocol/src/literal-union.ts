import type { TLiteral, TUnion } from '@sinclair/typebox';
import { Type } from './schema-builders.js';

/** The schema of one of a list of names (a state, a role, a kind): its type is the names' union. */
export function literalUnion<const T extends string>(values: readonly T[]): TUnion<TLiteral<T>[]> {
  return Type.Union(values.map((value) => Type.Literal(value)));
}
