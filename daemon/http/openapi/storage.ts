// Named volumes and orphans (admin): backend objects with this gateway's labels and no row.
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { adoptOrphanSchema, createVolumeSchema, resizeVolumeSchema } from '../../../common/schemas';
import { answers, jsonBody, ok } from './registry';
import { environmentSchema, orphanSchema, storageOverviewSchema, volumeSchema } from './responses';

const byId = z.object({ id: z.string().min(1).describe('The volume id') });
const byRef = z.object({ ref: z.string().min(1).describe("The orphan's env id") });

export function registerStorage(r: OpenAPIRegistry): void {
  r.registerPath({
    method: 'get',
    path: '/volumes',
    summary: "Named volumes: own and own team's (admin: all)",
    responses: answers({ 200: ok('Volumes', z.array(volumeSchema)) }, []),
  });
  r.registerPath({
    method: 'post',
    path: '/volumes',
    summary: "Make a volume of one's own (or of one's team: team), within the quotas",
    request: { body: jsonBody(createVolumeSchema.openapi('CreateVolume')) },
    responses: answers({ 201: ok('The volume', volumeSchema) }, [
      400,
      [403, 'Over a volume quota (the message has the numbers), or not in that team'],
      [409, 'A volume of that name exists'],
      [422, 'The backend refused the object (a Kubernetes claim the API server rejects)'],
      503,
    ]),
  });
  r.registerPath({
    method: 'get',
    path: '/volumes/{id}',
    summary: 'One volume, with the environments that mount it',
    request: { params: byId },
    responses: answers({ 200: ok('The volume', volumeSchema) }, [404]),
  });
  registerVolumeEdits(r);
  registerOrphans(r);
}

function registerVolumeEdits(r: OpenAPIRegistry): void {
  r.registerPath({
    method: 'patch',
    path: '/volumes/{id}',
    summary: 'Grow a volume where its backend can',
    request: { params: byId, body: jsonBody(resizeVolumeSchema.openapi('ResizeVolume')) },
    responses: answers({ 200: ok('The volume', volumeSchema) }, [
      400,
      [403, 'Over a volume quota'],
      404,
      [422, "The backend can't resize (the message names those that can), or its StorageClass doesn't allow expansion"],
      503,
    ]),
  });
  r.registerPath({
    method: 'delete',
    path: '/volumes/{id}',
    summary: 'Remove a volume and its data; refused while an environment mounts it',
    request: { params: byId },
    responses: answers({ 204: ok('Removed') }, [404, [409, 'Mounted (the message names the environments)'], 503]),
  });
  r.registerPath({
    method: 'get',
    path: '/storage',
    summary: 'What the caller may mount: own and team volumes, the shares and host paths listed for them',
    responses: answers({ 200: ok('Storage', storageOverviewSchema) }, []),
  });
}

function registerOrphans(r: OpenAPIRegistry): void {
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
