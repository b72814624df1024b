// Named volumes and orphans (admin): backend objects with this gateway's labels and no row.
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { adoptOrphanSchema } from '../../../common/schemas';
import { answers, jsonBody, ok } from './registry';
import { environmentSchema, orphanSchema, volumeSchema } from './responses';

const byRef = z.object({ ref: z.string().min(1).describe("The orphan's env id") });

export function registerStorage(r: OpenAPIRegistry): void {
  r.registerPath({
    method: 'get',
    path: '/volumes',
    summary: "Named volumes: own and own team's (admin: all)",
    responses: answers({ 200: ok('Volumes', z.array(volumeSchema)) }, []),
  });
  r.registerPath({
    method: 'get',
    path: '/orphans',
    summary:
      "Backend objects with this gateway's labels and no row (a restored database, another data dir); never removed automatically (admin)",
    responses: answers({ 200: ok('Orphans', z.array(orphanSchema)) }, [403, 503]),
  });
  r.registerPath({
    method: 'post',
    path: '/orphans/{ref}/adopt',
    summary: "Rebuild the row from the object's labels (admin)",
    request: { params: byRef, body: jsonBody(adoptOrphanSchema.openapi('AdoptOrphan')) },
    responses: answers({ 201: ok('The adopted environment', environmentSchema) }, [
      400,
      403,
      [404, 'No such orphan'],
      [409, 'Name taken'],
      [422, 'No record to rebuild from'],
      503,
    ]),
  });
  r.registerPath({
    method: 'delete',
    path: '/orphans/{ref}',
    summary: 'Remove the object from its backend (admin)',
    request: { params: byRef },
    responses: answers({ 204: ok('Removed') }, [403, [404, 'No such orphan'], 503]),
  });
}
