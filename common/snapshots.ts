// Snapshots of volumes and backups of envs and volumes: what the API answers and accepts, shared by the daemon, the
// CLI and the extension.
import { extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { scheduleSchema } from './lifecycle';

extendZodWithOpenApi(z);

/** archive: a tar of a Docker volume in the backup store; csi: a Kubernetes VolumeSnapshot; disk: a VM disk copy. */
export type SnapshotKind = 'archive' | 'csi' | 'disk';
/** pending: the backend hasn't finished it (a CSI snapshot not yet readyToUse); failed: with `message`. */
export type VolumeSnapshotStatus = 'creating' | 'pending' | 'ready' | 'failed';

export interface VolumeSnapshot {
  id: string;
  volume_id: string;
  name: string;
  backend_id: string;
  kind: SnapshotKind;
  status: VolumeSnapshotStatus;
  message: string | null;
  /** The object store an archive is in (archive only). */
  store: string | null;
  size_bytes: number | null;
  sha256: string | null;
  created_at: string;
}

export type BackupTargetKind = 'environment' | 'volume';
export type BackupStatus = 'running' | 'complete' | 'failed';

export interface BackupItem {
  /** home, or volume:<volume id> */
  item: string;
  volume_id: string | null;
  path: string | null;
  size_bytes: number;
  /** Of the object as stored; empty for a VolumeSnapshot (it stays in the cluster, nothing to hash). */
  sha256: string;
  /** archive: a tar in the backup store (Docker); disk_image: a qcow2 file's bytes there (VM); volume_snapshot: a
   *  Kubernetes VolumeSnapshot of the claim. */
  kind: 'archive' | 'disk_image' | 'volume_snapshot';
}

export interface Backup {
  id: string;
  target_kind: BackupTargetKind;
  target_id: string;
  trigger: 'schedule' | 'manual';
  status: BackupStatus;
  message: string | null;
  store: string;
  size_bytes: number;
  objects: number;
  started_at: string;
  finished_at: string | null;
  items: BackupItem[];
}

export interface BackupSchedule {
  id: string;
  target_kind: BackupTargetKind;
  target_id: string;
  cron: string;
  timezone: string;
  keep: number;
  enabled: boolean;
  last_run_at: string | null;
  next_run_at: string | null;
  created_at: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const name = z
  .string()
  .regex(NAME, 'must be letters, digits, "_", "." and "-" (at most 63, starting with a letter or digit)');

export const createSnapshotSchema = z.object({ name: name.optional() }).strict();
export type CreateSnapshotInput = z.infer<typeof createSnapshotSchema>;

export const restoreSnapshotSchema = z
  .object({
    into: z.enum(['new', 'same']).describe('new: a new volume made from the snapshot; same: back into its volume'),
    name: name.optional().describe("into new: the new volume's name (default <volume>-<snapshot>)"),
  })
  .strict();
export type RestoreSnapshotInput = z.infer<typeof restoreSnapshotSchema>;

const target = {
  environment: z.string().min(1).max(128).optional().describe('An environment, by id or name'),
  volume: z.string().min(1).max(128).optional().describe('A volume, by id'),
};
const oneTarget = (v: { environment?: string; volume?: string }) =>
  (v.environment === undefined) !== (v.volume === undefined);
const oneTargetMessage = { message: 'give exactly one of environment or volume', path: ['environment'] };

export const runBackupSchema = z.object(target).strict().refine(oneTarget, oneTargetMessage);
export type RunBackupInput = z.infer<typeof runBackupSchema>;

export const putBackupScheduleSchema = z
  .object({
    ...target,
    cron: scheduleSchema.shape.start.unwrap(),
    timezone: scheduleSchema.shape.timezone,
    keep: z.number().int().min(1).max(1000).default(7).describe('How many complete backups to keep'),
    enabled: z.boolean().default(true),
  })
  .strict()
  .refine(oneTarget, oneTargetMessage);
export type PutBackupScheduleInput = z.infer<typeof putBackupScheduleSchema>;

export const backupQuerySchema = z.object({ environment: target.environment, volume: target.volume }).strict();
