// JumpServer: status, drift repair, an env's connection token and its JumpServer sessions.
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { answers, idParams, ok } from './registry';

const NOT_CONFIGURED = [404, 'Unknown env, or not the caller’s; or JumpServer is not configured'] as const;
const NOT_REGISTERED = [409, 'The env is not registered in JumpServer'] as const;
const JMS_DOWN = [503, 'JumpServer is unavailable (error.backend is "jumpserver")'] as const;
const JMS_REFUSED = [422, 'JumpServer refused the request (the message says what)'] as const;

const statusSchema = z
  .object({
    configured: z.boolean(),
    url: z.string().optional(),
    org_id: z.string().optional(),
    available: z.boolean().optional(),
    as: z.string().optional().describe('The JumpServer user the gateway acts as'),
    error: z.string().optional(),
    required: z.boolean().optional(),
    koko: z.object({ host: z.string(), port: z.number().int() }).optional(),
    registered: z.number().int().optional(),
  })
  .openapi('JumpServerStatus');
const driftSchema = z
  .object({
    registered: z.array(z.string()),
    reactivated: z.array(z.string()),
    removed: z.array(z.string()),
    errors: z.array(z.string()),
  })
  .openapi('JumpServerDrift');
const tokenSchema = z
  .object({
    id: z.string(),
    username: z.string().describe('KoKo login: JMS-<id>'),
    password: z.string().describe('The token value'),
    host: z.string(),
    port: z.number().int(),
    expire_time: z.number().int(),
    date_expired: z.string().nullable(),
  })
  .openapi('ConnectionToken');
const rdpSchema = z
  .object({
    via: z.enum(['jumpserver', 'direct']),
    filename: z.string(),
    rdp_file: z
      .string()
      .describe("The .rdp file: JumpServer's (its RDP gateway, username <jmsuser>|<token id>) or the gateway's"),
    host: z.string(),
    port: z.number().int(),
    user: z.string(),
    password: z.string().describe('Through JumpServer: the connection token value; direct: the xrdp login password'),
    expire_time: z.number().int().optional(),
  })
  .openapi('RdpLogin');
const sessionSchema = z
  .object({
    id: z.string(),
    replay_url: z.string().nullable(),
    commands: z.array(z.object({ input: z.string(), timestamp: z.number().nullable(), risk_level: z.number().int() })),
  })
  .passthrough()
  .openapi('JumpServerSession');

export function registerJumpServer(r: OpenAPIRegistry): void {
  r.registerPath({
    method: 'get',
    path: '/jumpserver',
    summary: 'Whether JumpServer is configured, answers, and as whom',
    responses: answers({ 200: ok('Status', statusSchema) }, []),
  });
  r.registerPath({
    method: 'post',
    path: '/jumpserver/reconcile',
    summary: 'Repair drift with JumpServer now, both ways (admin)',
    responses: answers({ 200: ok('What changed', driftSchema) }, [403, NOT_CONFIGURED, JMS_DOWN, JMS_REFUSED]),
  });
  r.registerPath({
    method: 'post',
    path: '/environments/{id}/connection-token',
    summary: 'A JumpServer connection token for KoKo (username JMS-<id>, the value as password)',
    request: { params: idParams },
    responses: answers({ 201: ok('Token', tokenSchema) }, [NOT_CONFIGURED, NOT_REGISTERED, JMS_REFUSED, JMS_DOWN]),
  });
  r.registerPath({
    method: 'post',
    path: '/environments/{id}/rdp',
    summary: "The env's RDP login and .rdp file: through JumpServer when registered there (a fresh token), else direct",
    request: { params: idParams },
    responses: answers({ 200: ok('RDP login', rdpSchema) }, [
      [404, 'Unknown env, or not the caller’s'],
      [409, 'The env offers no RDP (or is JumpServer-only and not registered there yet)'],
      JMS_REFUSED,
      JMS_DOWN,
    ]),
  });
  r.registerPath({
    method: 'get',
    path: '/environments/{id}/sessions',
    summary: "The env's JumpServer sessions with their commands and replay links",
    request: { params: idParams },
    responses: answers({ 200: ok('Sessions, newest first', z.array(sessionSchema)) }, [
      NOT_CONFIGURED,
      NOT_REGISTERED,
      JMS_REFUSED,
      JMS_DOWN,
    ]),
  });
}
