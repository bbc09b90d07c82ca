import {
  Array as ArraySchema,
  Boolean as BooleanSchema,
  Composite,
  Integer,
  Literal,
  Null,
  Object as ObjectSchema,
  Optional,
  String as StringSchema,
  Union,
  Unsafe,
} from '@sinclair/typebox';

/**
 * The TypeBox builders the contract's schemas use, under TypeBox's own names (`Type.Object`, …).
 * TypeBox's `Type` carries every builder, which the bundler cannot drop from the web app (about 40 kB
 * minified); imported one by one, only these reach it.
 */
export const Type = {
  Array: ArraySchema,
  Boolean: BooleanSchema,
  Composite,
  Integer,
  Literal,
  Null,
  Object: ObjectSchema,
  Optional,
  String: StringSchema,
  Union,
  Unsafe,
} as const;
