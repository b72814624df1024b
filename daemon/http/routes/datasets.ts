// Object stores (whether each answers) and datasets: the catalogue, their objects through the gateway (streamed both
// ways; the resumable multipart protocol), and presigned URLs straight to the store.
import { Router, type Request, type Response } from 'express';
import { pipeline } from 'node:stream/promises';
import {
  completeUploadSchema,
  createDatasetSchema,
  deleteDatasetQuery,
  listObjectsQuery,
  objectQuery,
  partParams,
  presignSchema,
  startUploadSchema,
  updateDatasetSchema,
  uploadQuery,
} from '../../../common/datasets';
import { InputError } from '../../errors';
import type { DatasetObjects } from '../../services/datasetObjects';
import type { DatasetService } from '../../services/datasets';
import { userOf } from '../auth';
import { parse } from '../validate';

/** Aborts when the client goes away before the answer is sent (a cut upload leaves no object behind). */
function clientGone(req: Request, res: Response): AbortSignal {
  const ac = new AbortController();
  req.once('aborted', () => ac.abort());
  res.once('close', () => {
    if (!res.writableEnded) ac.abort();
  });
  return ac.signal;
}

function contentLength(req: Request, required: boolean): number | undefined {
  const h = req.headers['content-length'];
  if (h === undefined) {
    if (required) throw new InputError('content-length', 'content-length: a part needs its length');
    return undefined;
  }
  const n = Number(h);
  if (!Number.isSafeInteger(n) || n < 0) throw new InputError('content-length', 'content-length: must be a number');
  return n;
}

export function datasetsRouter(datasets: DatasetService, objects: DatasetObjects): Router {
  const r = Router();
  r.get('/object-stores', async (_req, res) => {
    const all = await datasets.stores.health();
    res.json(all.map(({ name, ok, problem, presign }) => ({ name, ok, presign, ...(problem ? { problem } : {}) })));
  });
  r.get('/datasets', async (_req, res) => {
    res.json(await datasets.list(userOf(res)));
  });
  r.post('/datasets', async (req, res) => {
    res.status(201).json(await datasets.create(userOf(res), parse(createDatasetSchema, req.body ?? {})));
  });
  r.get('/datasets/:id', async (req, res) => {
    res.json(await datasets.get(userOf(res), req.params.id, { recount: true }));
  });
  r.patch('/datasets/:id', async (req, res) => {
    res.json(await datasets.update(userOf(res), req.params.id, parse(updateDatasetSchema, req.body ?? {})));
  });
  r.delete('/datasets/:id', async (req, res) => {
    const q = parse(deleteDatasetQuery, req.query);
    await datasets.remove(userOf(res), req.params.id, q.delete_objects === 'true');
    res.status(204).end();
  });
  r.get('/datasets/:id/objects', async (req, res) => {
    const q = parse(listObjectsQuery, req.query);
    res.json(await objects.list(userOf(res), req.params.id, q.prefix));
  });
  r.get('/datasets/:id/object', async (req, res) => {
    const { key } = parse(objectQuery, req.query);
    const range = req.headers.range;
    // One range of bytes, as the clients ask; anything else is not handed to the store.
    if (range !== undefined && !/^bytes=\d{1,15}-\d{0,15}$/.test(range))
      throw new InputError('range', 'range: must be one byte range, bytes=<first>-[<last>]');
    const d = await objects.download(userOf(res), req.params.id, key, range);
    res.status(d.status);
    res.setHeader('content-type', 'application/octet-stream');
    if (d.length !== undefined) res.setHeader('content-length', String(d.length));
    if (d.contentRange) res.setHeader('content-range', d.contentRange);
    if (d.etag) res.setHeader('etag', d.etag);
    res.setHeader('accept-ranges', 'bytes');
    await pipeline(d.body, res).catch(() => d.body.destroy());
  });
  r.put('/datasets/:id/object', async (req, res) => {
    const { key } = parse(objectQuery, req.query);
    const signal = clientGone(req, res);
    res.json(await objects.upload(userOf(res), req.params.id, key, req, signal, contentLength(req, false)));
  });
  r.delete('/datasets/:id/object', async (req, res) => {
    const { key } = parse(objectQuery, req.query);
    await objects.remove(userOf(res), req.params.id, key);
    res.status(204).end();
  });
  uploadRoutes(r, objects);
  r.post('/datasets/:id/presign', async (req, res) => {
    const p = parse(presignSchema, req.body ?? {});
    res.json(await objects.presign(userOf(res), req.params.id, p.key, p.method, p.expires_s));
  });
  return r;
}

function uploadRoutes(r: Router, objects: DatasetObjects): void {
  r.post('/datasets/:id/uploads', async (req, res) => {
    const { key } = parse(startUploadSchema, req.body ?? {});
    res.status(201).json(await objects.startUpload(userOf(res), req.params.id, key));
  });
  r.get('/datasets/:id/uploads/:upload_id', async (req, res) => {
    const { key } = parse(uploadQuery, req.query);
    res.json(await objects.parts(userOf(res), req.params.id, req.params.upload_id, key));
  });
  r.put('/datasets/:id/uploads/:upload_id/parts/:part', async (req, res) => {
    const { key } = parse(uploadQuery, req.query);
    const p = parse(partParams, req.params);
    const length = contentLength(req, true)!;
    res.json(await objects.uploadPart(userOf(res), p.id, p.upload_id, key, p.part, req, length));
  });
  r.post('/datasets/:id/uploads/:upload_id/complete', async (req, res) => {
    const c = parse(completeUploadSchema, req.body ?? {});
    res.json(await objects.complete(userOf(res), req.params.id, req.params.upload_id, c.key, c.parts));
  });
  r.delete('/datasets/:id/uploads/:upload_id', async (req, res) => {
    const { key } = parse(uploadQuery, req.query);
    await objects.abort(userOf(res), req.params.id, req.params.upload_id, key);
    res.status(204).end();
  });
}
