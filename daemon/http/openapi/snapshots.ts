// Snapshots of volumes and backups (schedules, runs, restores): the paths and their answers.
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import {
  backupQuerySchema,
  createSnapshotSchema,
  putBackupScheduleSchema,
  restoreSnapshotSchema,
  runBackupSchema,
} from '../../../common/snapshots';
import { answers, jsonBody, ok } from './registry';
import { volumeSchema } from './responses';

const STORE_503 = [503, 'A backend or the backup store is unavailable (error.backend / error.store names it)'] as const;

export const volumeSnapshotSchema = z
  .object({
    id: z.string(),
    volume_id: z.string(),
    name: z.string(),
    backend_id: z.string(),
    kind: z.enum(['archive', 'csi', 'disk']),
    status: z.enum(['creating', 'pending', 'ready', 'failed']),
    message: z.string().nullable(),
    store: z.string().nullable(),
    size_bytes: z.number().int().nullable(),
    sha256: z.string().nullable(),
    created_at: z.string(),
  })
  .openapi('VolumeSnapshot');

const target = { target_kind: z.enum(['environment', 'volume']), target_id: z.string() };
export const backupSchema = z
  .object({
    id: z.string(),
    ...target,
    trigger: z.enum(['schedule', 'manual']),
    status: z.enum(['running', 'complete', 'failed']),
    message: z.string().nullable(),
    store: z.string(),
    size_bytes: z.number().int(),
    objects: z.number().int(),
    started_at: z.string(),
    finished_at: z.string().nullable(),
    items: z.array(
      z.object({
        item: z.string(),
        volume_id: z.string().nullable(),
        path: z.string().nullable(),
        size_bytes: z.number().int(),
        sha256: z.string().describe('Of the object as stored; empty for a VolumeSnapshot'),
        kind: z
          .enum(['archive', 'disk_image', 'volume_snapshot'])
          .describe('a tar in the store (Docker), a qcow2 image in the store (VM), a VolumeSnapshot (Kubernetes)'),
      }),
    ),
  })
  .openapi('Backup');

export const backupScheduleSchema = z
  .object({
    id: z.string(),
    ...target,
    cron: z.string(),
    timezone: z.string(),
    keep: z.number().int(),
    enabled: z.boolean(),
    last_run_at: z.string().nullable(),
    next_run_at: z.string().nullable(),
    created_at: z.string(),
  })
  .openapi('BackupSchedule');

const volumeId = z.object({ id: z.string().min(1).describe('The volume id') });
const snapshotId = z.object({ id: z.string().min(1).describe('The snapshot id') });
const byId = z.object({ id: z.string().min(1) });

export function registerSnapshots(r: OpenAPIRegistry): void {
  r.registerPath({
    method: 'get',
    path: '/volumes/{id}/snapshots',
    summary: "A volume's snapshots (a pending CSI snapshot is asked again)",
    request: { params: volumeId },
    responses: answers({ 200: ok('Snapshots', z.array(volumeSnapshotSchema)) }, [404]),
  });
  r.registerPath({
    method: 'post',
    path: '/volumes/{id}/snapshots',
    summary:
      'Snapshot a volume (Docker: a tar archive into the backup store; Kubernetes: a VolumeSnapshot; VM: a disk copy)',
    request: { params: volumeId, body: jsonBody(createSnapshotSchema.openapi('CreateVolumeSnapshot')) },
    responses: answers({ 201: ok('The snapshot', volumeSnapshotSchema) }, [
      400,
      404,
      [409, 'A snapshot of that name exists, or the VM holding the disk runs'],
      [422, "The backend can't snapshot volumes, no backup store is configured, or no image to archive with"],
      STORE_503,
    ]),
  });
  r.registerPath({
    method: 'delete',
    path: '/volumes/{id}/snapshots/{sid}',
    summary: 'Delete a snapshot (and its archive or backend object)',
    request: { params: volumeId.extend({ sid: z.string().min(1) }) },
    responses: answers({ 204: ok('Deleted') }, [404, STORE_503]),
  });
  r.registerPath({
    method: 'get',
    path: '/snapshots/{id}',
    summary: 'One snapshot',
    request: { params: snapshotId },
    responses: answers({ 200: ok('The snapshot', volumeSnapshotSchema) }, [404]),
  });
  r.registerPath({
    method: 'post',
    path: '/snapshots/{id}/restore',
    summary: 'Restore into a new volume (201) or back into the same one (200); archives are checked by SHA-256 first',
    request: { params: snapshotId, body: jsonBody(restoreSnapshotSchema.openapi('RestoreVolumeSnapshot')) },
    responses: answers({ 200: ok('The volume restored into', volumeSchema), 201: ok('The new volume', volumeSchema) }, [
      400,
      [403, 'Over a volume quota (into new)'],
      404,
      [409, 'The volume is mounted by an env that is not stopped, the snapshot is not ready, or the name is taken'],
      [422, "The backend can't restore this way, or the archive's checksum does not match"],
      STORE_503,
    ]),
  });
  registerBackups(r);
}

function registerBackups(r: OpenAPIRegistry): void {
  r.registerPath({
    method: 'get',
    path: '/backups',
    summary: 'Backups, newest first: own (admin: all), of one env or volume when asked',
    request: { query: backupQuerySchema },
    responses: answers({ 200: ok('Backups', z.array(backupSchema)) }, [400, 404]),
  });
  r.registerPath({
    method: 'post',
    path: '/backups',
    summary:
      "Back up an env's home and volumes, or one volume, now (the answer is the finished backup): Docker tar archives and VM disk images into the backup store, Kubernetes VolumeSnapshots",
    request: { body: jsonBody(runBackupSchema.openapi('RunBackup')) },
    responses: answers({ 201: ok('The backup', backupSchema) }, [
      400,
      404,
      [409, "VM: the env is starting or stopping, or the volume's disk is held by a VM that is not stopped"],
      [422, "The backend can't back up, no backup store is configured, or the backend refused (libvirt's message)"],
      STORE_503,
    ]),
  });
  r.registerPath({
    method: 'get',
    path: '/backups/{id}',
    summary: 'One backup with its items (size, SHA-256)',
    request: { params: byId },
    responses: answers({ 200: ok('The backup', backupSchema) }, [404]),
  });
  r.registerPath({
    method: 'delete',
    path: '/backups/{id}',
    summary: 'Delete a backup and its objects',
    request: { params: byId },
    responses: answers({ 204: ok('Deleted') }, [404, STORE_503]),
  });
  r.registerPath({
    method: 'post',
    path: '/backups/{id}/restore',
    summary:
      "Make an env's (or volume's) data exactly a complete backup's: the env must be stopped; each archive's SHA-256 checked and the tar read through first",
    request: { params: byId },
    responses: answers({ 200: ok('The backup restored', backupSchema) }, [
      404,
      [
        409,
        'The env is not stopped, the backup is not complete, a mount lies inside the home, or (Kubernetes) a VolumeSnapshot is not ready yet',
      ],
      [
        422,
        "An archive's checksum does not match, it is cut or holds entries outside its root, or the backend refused it",
      ],
      STORE_503,
    ]),
  });
  registerSchedules(r);
}

function registerSchedules(r: OpenAPIRegistry): void {
  r.registerPath({
    method: 'get',
    path: '/backup-schedules',
    summary: 'Backup schedules: own (admin: all)',
    responses: answers({ 200: ok('Schedules', z.array(backupScheduleSchema)) }, []),
  });
  r.registerPath({
    method: 'put',
    path: '/backup-schedules',
    summary: 'Set the schedule of an env or volume (one per target; cron in a time zone, keep N complete backups)',
    request: { body: jsonBody(putBackupScheduleSchema.openapi('PutBackupSchedule')) },
    responses: answers({ 200: ok('The schedule', backupScheduleSchema) }, [
      400,
      404,
      [422, "The backend can't back up, or no backup store is configured"],
    ]),
  });
  r.registerPath({
    method: 'delete',
    path: '/backup-schedules/{id}',
    summary: 'Remove a schedule (its backups stay)',
    request: { params: byId },
    responses: answers({ 204: ok('Removed') }, [404]),
  });
}
