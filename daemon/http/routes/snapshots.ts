// Snapshots of volumes: list/create/delete under the volume, get and restore by the snapshot's id.
import { Router } from 'express';
import { createSnapshotSchema, restoreSnapshotSchema } from '../../../common/snapshots';
import { NotFoundError } from '../../errors';
import type { SnapshotService } from '../../snapshots/service';
import { userOf } from '../auth';
import { parse } from '../validate';

export function snapshotsRouter(snapshots: SnapshotService): Router {
  const r = Router();
  r.get('/volumes/:id/snapshots', async (req, res) => {
    res.json(await snapshots.list(userOf(res), req.params.id));
  });
  r.post('/volumes/:id/snapshots', async (req, res) => {
    res
      .status(201)
      .json(await snapshots.create(userOf(res), req.params.id, parse(createSnapshotSchema, req.body ?? {})));
  });
  r.delete('/volumes/:id/snapshots/:sid', async (req, res) => {
    const s = await snapshots.get(userOf(res), req.params.sid);
    if (s.volume_id !== req.params.id) throw new NotFoundError('snapshot', req.params.sid);
    await snapshots.delete(userOf(res), req.params.sid);
    res.status(204).end();
  });
  r.get('/snapshots/:id', async (req, res) => {
    res.json(await snapshots.get(userOf(res), req.params.id));
  });
  r.post('/snapshots/:id/restore', async (req, res) => {
    const body = parse(restoreSnapshotSchema, req.body ?? {});
    res.status(body.into === 'new' ? 201 : 200).json(await snapshots.restore(userOf(res), req.params.id, body));
  });
  return r;
}
