// Object stores and datasets: the catalogue, objects through the gateway, resumable multipart uploads, presigned URLs.
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import {
  completeUploadSchema,
  createDatasetSchema,
  deleteDatasetQuery,
  listObjectsQuery,
  objectQuery,
  presignSchema,
  startUploadSchema,
  updateDatasetSchema,
  uploadQuery,
} from '../../../common/datasets';
import { answers, jsonBody, ok } from './registry';

const byId = z.object({ id: z.string().min(1).describe('The dataset: id, name (own, then team) or team:NAME') });
const byUpload = byId.extend({ upload_id: z.string().min(1).describe('What POST /datasets/{id}/uploads answered') });
const byPart = byUpload.extend({
  part: z.number().int().min(1).max(10000).describe('Part number, 1-10000 (every part but the last ≥ 5 MiB)'),
});
const binary = z.string().openapi({ type: 'string', format: 'binary' } as object);
const octets = (description: string) => ({
  description,
  content: { 'application/octet-stream': { schema: binary } },
});

export const datasetSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    owner_id: z.string().nullable(),
    team: z.string().nullable(),
    store: z.string(),
    bucket: z.string(),
    prefix: z.string(),
    description: z.string(),
    tags: z.array(z.string()),
    size_bytes: z.number().int().describe('Completed objects only (an upload in flight is not counted)'),
    object_count: z.number().int(),
    created_at: z.string(),
    updated_at: z.string(),
    mounted_by: z.array(z.object({ id: z.string(), name: z.string() })).describe('Environments that mount it'),
  })
  .openapi('Dataset');
const objectSchema = z
  .object({
    key: z.string(),
    size: z.number().int(),
    last_modified: z.string().nullable(),
    etag: z.string().nullable(),
  })
  .openapi('DatasetObject');
const storeSchema = z
  .object({ name: z.string(), ok: z.boolean(), presign: z.boolean(), problem: z.string().optional() })
  .openapi('ObjectStoreStatus');
const uploadSchema = z.object({ upload_id: z.string(), key: z.string() });
const partsSchema = uploadSchema.extend({
  parts: z.array(z.object({ part: z.number().int(), etag: z.string(), size: z.number().int() })),
});

export function registerDatasets(r: OpenAPIRegistry): void {
  r.registerPath({
    method: 'get',
    path: '/object-stores',
    summary: "The gateway's object stores and whether each answers (never an endpoint's credentials)",
    responses: answers({ 200: ok('Stores', z.array(storeSchema)) }, []),
  });
  r.registerPath({
    method: 'get',
    path: '/datasets',
    summary: "Datasets: own and own team's (admin: all)",
    responses: answers({ 200: ok('Datasets', z.array(datasetSchema)) }, []),
  });
  r.registerPath({
    method: 'post',
    path: '/datasets',
    summary: 'Make a dataset: a bucket (made when missing) + prefix on a store',
    request: { body: jsonBody(createDatasetSchema.openapi('CreateDataset')) },
    responses: answers({ 201: ok('The dataset', datasetSchema) }, [
      400,
      [403, 'Not in that team, or the store refuses the bucket'],
      [409, 'A dataset of that name, or over that place, exists'],
      [503, 'The object store is unavailable (error.store names it)'],
    ]),
  });
  r.registerPath({
    method: 'get',
    path: '/datasets/{id}',
    summary: 'One dataset, counted again (size and count of completed objects), with the environments that mount it',
    request: { params: byId },
    responses: answers({ 200: ok('The dataset', datasetSchema) }, [400, 404, 503]),
  });
  r.registerPath({
    method: 'patch',
    path: '/datasets/{id}',
    summary: 'Change its description or tags',
    request: { params: byId, body: jsonBody(updateDatasetSchema.openapi('UpdateDataset')) },
    responses: answers({ 200: ok('The dataset', datasetSchema) }, [400, 404, 503]),
  });
  r.registerPath({
    method: 'delete',
    path: '/datasets/{id}',
    summary: 'Forget a dataset (its objects too with delete_objects=true); refused while an environment mounts it',
    request: { params: byId, query: deleteDatasetQuery },
    responses: answers({ 204: ok('Removed') }, [400, 404, [409, 'Mounted (the message names the environments)'], 503]),
  });
  registerObjects(r);
  registerUploads(r);
}

function registerObjects(r: OpenAPIRegistry): void {
  r.registerPath({
    method: 'get',
    path: '/datasets/{id}/objects',
    summary: 'Its objects (keys relative to its prefix), optionally under a sub-prefix',
    request: { params: byId, query: listObjectsQuery },
    responses: answers({ 200: ok('Objects', z.array(objectSchema)) }, [400, 404, 503]),
  });
  r.registerPath({
    method: 'get',
    path: '/datasets/{id}/object',
    summary: 'Download an object through the gateway (Range honoured)',
    request: { params: byId, query: objectQuery },
    responses: answers({ 200: octets('The bytes'), 206: octets('The range asked for') }, [
      400,
      [404, 'No such dataset or object'],
      [416, 'The range starts past the end of the object'],
      503,
    ]),
  });
  r.registerPath({
    method: 'put',
    path: '/datasets/{id}/object',
    summary: 'Upload an object through the gateway, streamed (multipart when big); a cut connection leaves none',
    request: { params: byId, query: objectQuery, body: { required: true, ...octets('The bytes') } },
    responses: answers({ 200: ok('The object', objectSchema) }, [400, 404, 503]),
  });
  r.registerPath({
    method: 'delete',
    path: '/datasets/{id}/object',
    summary: 'Delete an object',
    request: { params: byId, query: objectQuery },
    responses: answers({ 204: ok('Deleted') }, [400, [404, 'No such dataset or object'], 503]),
  });
  r.registerPath({
    method: 'post',
    path: '/datasets/{id}/presign',
    summary: 'A presigned URL straight to the store (its public_endpoint), where the store allows it',
    request: { params: byId, body: jsonBody(presignSchema.openapi('PresignRequest')) },
    responses: answers(
      { 200: ok('The URL', z.object({ url: z.string(), method: z.string(), expires_at: z.string() })) },
      [400, [404, 'No such dataset or object'], [422, 'The store does not presign (presign: false)'], 503],
    ),
  });
}

function registerUploads(r: OpenAPIRegistry): void {
  r.registerPath({
    method: 'post',
    path: '/datasets/{id}/uploads',
    summary: 'Start a resumable multipart upload',
    request: { params: byId, body: jsonBody(startUploadSchema.openapi('StartUpload')) },
    responses: answers({ 201: ok('The upload', uploadSchema) }, [400, 404, 503]),
  });
  r.registerPath({
    method: 'get',
    path: '/datasets/{id}/uploads/{upload_id}',
    summary: 'The parts the store has (a resumed client sends the rest)',
    request: { params: byUpload, query: uploadQuery },
    responses: answers({ 200: ok('Parts', partsSchema) }, [400, [404, 'No such dataset or upload'], 503]),
  });
  r.registerPath({
    method: 'put',
    path: '/datasets/{id}/uploads/{upload_id}/parts/{part}',
    summary: 'Upload one part (Content-Length required)',
    request: { params: byPart, query: uploadQuery, body: { required: true, ...octets('The part') } },
    responses: answers({ 200: ok('The part', z.object({ part: z.number().int(), etag: z.string() })) }, [
      400,
      [404, 'No such dataset or upload'],
      503,
    ]),
  });
  r.registerPath({
    method: 'post',
    path: '/datasets/{id}/uploads/{upload_id}/complete',
    summary: 'Join the parts into the object (only now is it in the catalogue)',
    request: { params: byUpload, body: jsonBody(completeUploadSchema.openapi('CompleteUpload')) },
    responses: answers({ 200: ok('The object', objectSchema) }, [
      400,
      [404, 'No such dataset or upload'],
      [409, "A part's etag does not match"],
      503,
    ]),
  });
  r.registerPath({
    method: 'delete',
    path: '/datasets/{id}/uploads/{upload_id}',
    summary: 'Abort an upload (its parts are dropped)',
    request: { params: byUpload, query: uploadQuery },
    responses: answers({ 204: ok('Aborted') }, [400, [404, 'No such dataset or upload'], 503]),
  });
}
