import type { z } from 'zod';
import { describeZodError } from '../../common/schemas';
import { InputError } from '../errors';

export function parse<S extends z.ZodTypeAny>(schema: S, value: unknown): z.infer<S> {
  const r = schema.safeParse(value);
  if (!r.success) {
    const { field, message } = describeZodError(r.error);
    throw new InputError(field, message);
  }
  return r.data;
}
