// Config helper: validate once against a zod schema, report every problem at once, freeze.
import type { z } from 'zod';
import { InvalidConfigError } from './errors.ts';

/** Parses `input` with `schema`; throws InvalidConfigError listing every problem; returns a frozen copy. */
export function parseConfig<S extends z.ZodType>(schema: S, input: unknown): Readonly<z.infer<S>> {
  const result = schema.safeParse(input);
  if (!result.success) {
    throw new InvalidConfigError(
      result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`),
    );
  }
  return deepFreeze(result.data);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
