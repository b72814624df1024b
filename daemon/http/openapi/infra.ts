// Backends, GPUs, the audit log and the event stream.
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { gpuUsageQuery } from '../../../common/lifecycle';
import { auditQuery, gpusQuery } from '../../../common/schemas';
import { answers, ok } from './registry';
import { auditPageSchema, backendSchema, eventSchema, gpuSchema } from './responses';

export function registerInfra(r: OpenAPIRegistry): void {
  r.registerPath({
    method: 'get',
    path: '/backends',
    summary: "Backends and their reachability (one's failure is data, not a failed request)",
    responses: answers({ 200: ok('Backends', z.array(backendSchema)) }, []),
  });
  r.registerPath({
    method: 'get',
    path: '/gpus',
    summary: 'GPU inventory of every backend with free units and holders',
    request: { query: gpusQuery },
    responses: answers({ 200: ok('GPUs, MIG instances and cluster GPU resources', z.array(gpuSchema)) }, [400]),
  });
  gpuUsagePath(r);
  r.registerPath({
    method: 'post',
    path: '/gpus/refresh',
    summary: "Re-read every backend's GPUs now",
    responses: answers(
      {
        200: ok(
          'Per backend: devices seen or the error',
          z.array(z.object({ backend: z.string(), devices: z.number().int(), error: z.string().optional() })),
        ),
      },
      [],
    ),
  });
  r.registerPath({
    method: 'get',
    path: '/audit',
    summary: 'Audit trail (admin), newest first; filters, cursor pages, JSON lines or CSV export',
    request: { query: auditQuery },
    responses: answers(
      {
        200: {
          description: 'A page (json), or its entries as JSON lines / CSV; X-Next-Cursor names the next page of those',
          headers: { 'x-next-cursor': { schema: { type: 'string' }, description: 'Next page (jsonl/csv)' } },
          content: {
            'application/json': { schema: auditPageSchema },
            'application/x-ndjson': { schema: z.string() },
            'text/csv': { schema: z.string() },
          },
        },
      },
      [400, 403],
    ),
  });
  r.registerPath({
    method: 'get',
    path: '/events',
    summary: 'WebSocket stream of Event messages (JSON text frames)',
    responses: answers({ 101: ok('Switching protocols; then Event frames', eventSchema) }, [426]),
  });
}

/** GET /gpus/usage: the lifecycle's GPU accounting. */
function gpuUsagePath(r: OpenAPIRegistry): void {
  r.registerPath({
    method: 'get',
    path: '/gpus/usage',
    summary:
      'GPU-hours held, busy and reclaimed by automatic (lifecycle) stops, per user or team, for a time range (default the last 7 days; hourly rows, sampled by the policy loop); a user sees their own',
    request: { query: gpuUsageQuery },
    responses: answers(
      {
        200: ok(
          'Totals per user id or team',
          z.object({
            from: z.string(),
            to: z.string(),
            by: z.enum(['user', 'team']),
            rows: z.array(
              z.object({
                key: z.string().nullable(),
                gpu_hours_held: z.number(),
                gpu_hours_busy: z.number(),
                gpu_hours_reclaimed: z.number(),
              }),
            ),
          }),
        ),
      },
      [[400, 'A bad time (named in error.field), or from after to']],
    ),
  });
}
