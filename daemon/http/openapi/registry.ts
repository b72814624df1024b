// Shared pieces of the API description: the registry, the error body, and the answers every kind of route can give.
import { OpenAPIRegistry, type ResponseConfig } from '@asteasolutions/zod-to-openapi';
import { z, type ZodTypeAny } from 'zod';

export const errorSchema = z
  .object({
    error: z
      .object({
        code: z.string(),
        message: z.string(),
        field: z.string().optional().describe('The request field at fault (400)'),
        backend: z.string().optional().describe('The unavailable backend (503)'),
        store: z.string().optional().describe('The unavailable object store (503)'),
      })
      .passthrough(),
  })
  .openapi('Error');

/** Error answers by status; each route picks the ones it can give (statusFor in daemon/errors.ts decides them). */
export const ERR = {
  400: 'Invalid input: error.field and the message name the field',
  401: 'Missing or invalid bearer token',
  403: 'Admin only',
  404: "Unknown, or not the caller's (both 404 so ids don't leak)",
  409: 'Wrong state for this (the message says which)',
  416: 'The Range asked for starts past the end',
  422: "Well-formed but can't be satisfied here (the message says why)",
  426: 'A WebSocket endpoint asked without an Upgrade',
  503: 'A backend is unavailable (error.backend names it)',
} as const;
export type ErrStatus = keyof typeof ERR;
type ErrSpec = ErrStatus | readonly [ErrStatus, string];

const json = (schema: ZodTypeAny) => ({ 'application/json': { schema } });

export function ok(description: string, schema?: ZodTypeAny): ResponseConfig {
  return schema ? { description, content: json(schema) } : { description };
}

/** Responses of an authenticated route: its successes, 401, and the listed errors (a string replaces the default text). */
export function answers(
  success: Record<number, ResponseConfig>,
  errors: readonly ErrSpec[],
): Record<number, ResponseConfig> {
  const out: Record<number, ResponseConfig> = { ...success };
  for (const e of [401 as ErrSpec, ...errors]) {
    const [status, text] = typeof e === 'number' ? [e, ERR[e]] : e;
    out[status] = { description: text, content: json(errorSchema) };
  }
  return out;
}

/** A body is required exactly when the route refuses none (the routes read a missing body as {}). */
export const jsonBody = (schema: ZodTypeAny) => ({ required: !schema.safeParse({}).success, content: json(schema) });

export function newRegistry(): OpenAPIRegistry {
  const r = new OpenAPIRegistry();
  r.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' });
  return r;
}

/** Path parameters, each a non-empty string. */
export const idParams = z.object({ id: z.string().min(1).describe('Environment id or name') });
export const named = (extra: string) => idParams.extend({ [extra]: z.string().min(1) });
