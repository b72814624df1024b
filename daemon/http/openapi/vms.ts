// VM templates on libvirt backends and snapshots of an env's VM.
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { createSnapshotSchema, importTemplateSchema, templatesQuery } from '../../../common/schemas';
import { answers, idParams, jsonBody, named, ok } from './registry';
import { environmentSchema, snapshotSchema, templateSchema } from './responses';

const NOT_LIBVIRT = [404, 'No such backend, or not a libvirt one'] as const;
const backend = z.object({ backend: z.string().min(1) });

function templates(r: OpenAPIRegistry): void {
  r.registerPath({
    method: 'get',
    path: '/templates',
    summary:
      'VM templates on libvirt backends (base images; an env of deployment_mode vm names one as its image), with the envs using each',
    request: { query: templatesQuery },
    responses: answers({ 200: ok('Templates', z.array(templateSchema)) }, [400, NOT_LIBVIRT, 503]),
  });
  r.registerPath({
    method: 'post',
    path: '/backends/{backend}/templates',
    summary: "Import a template (admin); the gateway uploads it into the host's storage pool",
    request: { params: backend, body: jsonBody(importTemplateSchema.openapi('ImportTemplate')) },
    responses: answers({ 201: ok('Template', templateSchema) }, [400, 403, NOT_LIBVIRT, [409, 'Exists'], 422, 503]),
  });
  r.registerPath({
    method: 'delete',
    path: '/backends/{backend}/templates/{name}',
    summary: 'Delete a template no environment uses (admin); 409 names the envs using it',
    request: { params: backend.extend({ name: z.string().min(1) }) },
    responses: answers({ 204: ok('Deleted') }, [403, NOT_LIBVIRT, [409, 'In use'], 503]),
  });
}

function snapshots(r: OpenAPIRegistry): void {
  const vmErrors = [404, [409, 'No VM yet, or busy'], [422, 'Not a VM'], 503] as const;
  r.registerPath({
    method: 'get',
    path: '/environments/{id}/snapshots',
    summary: "Snapshots of the env's VM",
    request: { params: idParams },
    responses: answers({ 200: ok('Snapshots', z.array(snapshotSchema)) }, [...vmErrors]),
  });
  r.registerPath({
    method: 'post',
    path: '/environments/{id}/snapshots',
    summary: 'Take a snapshot: with memory when the VM runs, disk only when it is off',
    request: { params: idParams, body: jsonBody(createSnapshotSchema.openapi('CreateSnapshot')) },
    responses: answers({ 201: ok('Snapshot', snapshotSchema) }, [400, ...vmErrors]),
  });
  r.registerPath({
    method: 'post',
    path: '/environments/{id}/snapshots/{name}/revert',
    summary: "Return the VM to a snapshot (running with its memory, or off); the env's status and GPUs follow",
    request: { params: named('name') },
    responses: answers({ 200: ok('Environment', environmentSchema) }, [...vmErrors]),
  });
  r.registerPath({
    method: 'delete',
    path: '/environments/{id}/snapshots/{name}',
    summary: 'Delete a snapshot',
    request: { params: named('name') },
    responses: answers({ 204: ok('Deleted') }, [...vmErrors]),
  });
}

export function registerVms(r: OpenAPIRegistry): void {
  templates(r);
  snapshots(r);
}
