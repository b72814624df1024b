// Backups (run now, list, get, restore, delete) and their schedules.
import { Router } from 'express';
import { backupQuerySchema, putBackupScheduleSchema, runBackupSchema } from '../../../common/snapshots';
import type { BackupSchedules } from '../../backups/schedules';
import type { BackupService } from '../../backups/service';
import { userOf } from '../auth';
import { parse } from '../validate';

export function backupsRouter(backups: BackupService, schedules: BackupSchedules): Router {
  const r = Router();
  r.get('/backups', async (req, res) => {
    res.json(await backups.list(userOf(res), parse(backupQuerySchema, req.query)));
  });
  r.post('/backups', async (req, res) => {
    res.status(201).json(await backups.run(userOf(res), parse(runBackupSchema, req.body ?? {})));
  });
  r.get('/backups/:id', async (req, res) => {
    res.json(await backups.get(userOf(res), req.params.id));
  });
  r.delete('/backups/:id', async (req, res) => {
    await backups.delete(userOf(res), req.params.id);
    res.status(204).end();
  });
  r.post('/backups/:id/restore', async (req, res) => {
    res.json(await backups.restore(userOf(res), req.params.id));
  });
  r.get('/backup-schedules', async (_req, res) => {
    res.json(await schedules.list(userOf(res)));
  });
  r.put('/backup-schedules', async (req, res) => {
    res.json(await schedules.put(userOf(res), parse(putBackupScheduleSchema, req.body ?? {})));
  });
  r.delete('/backup-schedules/:id', async (req, res) => {
    await schedules.delete(userOf(res), req.params.id);
    res.status(204).end();
  });
  return r;
}
