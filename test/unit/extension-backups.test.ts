// What the trees show of backups and what "Restore from backup…" offers and asks, as plain data: the last backup
// first (when, status with a failure's reason, size), picks of complete backups only, the modal's text (a running
// env is stopped for it), and a scheduled volume's Backups row in the Storage view.
import assert from 'node:assert/strict';
import type { StorageOverview } from '../../common/model';
import type { Backup, BackupSchedule } from '../../common/snapshots';
import { backupPicks, backupRows, noBackupsText, restorePlan } from '../../extension/tree/backupModel';
import { storageRows } from '../../extension/tree/storageModel';

const backup = (id: string, at: string, over: Partial<Backup> = {}): Backup => ({
  id,
  target_kind: 'environment',
  target_id: 'e1',
  trigger: 'manual',
  status: 'complete',
  message: null,
  store: 'test-s3',
  size_bytes: 3 * 1024 * 1024 + 200_000,
  objects: 2,
  started_at: at,
  finished_at: at,
  items: [
    { item: 'home', volume_id: null, path: '/home/alice', size_bytes: 3 * 1024 * 1024, sha256: 'a', kind: 'archive' },
    { item: 'volume:v1', volume_id: 'v1', path: null, size_bytes: 200_000, sha256: 'b', kind: 'archive' },
  ],
  ...over,
});
const list = [
  backup('b1', '2030-03-01T19:00:30.000Z', { trigger: 'schedule' }),
  backup('b3', '2030-03-03T19:00:30.000Z', {
    status: 'failed',
    message: "object store 'test-s3' is unavailable",
    size_bytes: 0,
    items: [],
  }),
  backup('b2', '2030-03-02T08:15:00.000Z', { size_bytes: 512 }),
];
const schedule: BackupSchedule = {
  id: 's1',
  target_kind: 'volume',
  target_id: 'v1',
  cron: '0 3 * * *',
  timezone: 'Asia/Shanghai',
  keep: 7,
  enabled: true,
  last_run_at: null,
  next_run_at: '2030-03-04T19:00:00.000Z',
  created_at: '2030-03-01T00:00:00.000Z',
};

describe('extension: backups in the trees and "Restore from backup…"', () => {
  it('rows newest first, the first one the last backup: when, status (a failure with its reason), size, trigger', () => {
    const rows = backupRows(list);
    assert.deepEqual(
      rows.map((r) => [r.label, r.description, r.icon, r.context]),
      [
        [
          'Last backup: 2030-03-03 19:00 UTC',
          "failed: object store 'test-s3' is unavailable",
          'error',
          'hangarBackup+failed',
        ],
        ['2030-03-02 08:15 UTC', 'complete · 512 B · manual', 'pass', 'hangarBackup+complete'],
        ['2030-03-01 19:00 UTC', 'complete · 3.2 MiB · scheduled', 'pass', 'hangarBackup+complete'],
      ],
    );
    assert.match(rows[2].tooltip, /\/home\/alice: 3\.0 MiB\nvolume:v1: 200000 B\nstore: test-s3$/);
    assert.equal(backupRows(list, (m) => `«${m}»`)[1].description.split(' · ')[0], '«complete»');
    assert.equal(backupRows(list, undefined, 1).length, 1);
  });

  it('no backups: says whether a schedule will make one', () => {
    assert.equal(noBackupsText(undefined), 'No backups (no schedule)');
    assert.equal(noBackupsText(schedule), 'No backups yet: next at 2030-03-04 19:00 UTC');
    assert.equal(noBackupsText({ ...schedule, next_run_at: null }), 'No backups yet (schedule disabled)');
  });

  it('the QuickPick lists complete backups only, newest first, with time, size, status and what each holds', () => {
    const picks = backupPicks(list);
    assert.deepEqual(
      picks.map((p) => [p.label, p.description, p.detail, p.backup.id]),
      [
        ['2030-03-02 08:15 UTC', 'complete · 512 B · manual', '/home/alice, volume:v1', 'b2'],
        ['2030-03-01 19:00 UTC', 'complete · 3.2 MiB · scheduled', '/home/alice, volume:v1', 'b1'],
      ],
    );
    assert.deepEqual(backupPicks([list[1]]), []);
  });

  it('the modal says the data is replaced; a running env is stopped first (and the button says so)', () => {
    const b = list[0];
    const stopped = restorePlan({ kind: 'environment', name: 'train', status: 'stopped' }, b);
    assert.deepEqual([stopped.stopFirst, stopped.confirm], [false, 'Restore']);
    assert.equal(
      stopped.message,
      "Restore train from the backup of 2030-03-01 19:00 UTC? Its home directory and volumes are replaced by the backup's: files made or changed since then are lost.",
    );
    const running = restorePlan({ kind: 'environment', name: 'train', status: 'running' }, b);
    assert.deepEqual([running.stopFirst, running.confirm], [true, 'Stop and Restore']);
    assert.match(running.message, /train is running: it is stopped for the restore and started again after\.$/);
    assert.equal(restorePlan({ kind: 'environment', name: 'x', status: 'failed' }, b).stopFirst, false);
    const vol = restorePlan({ kind: 'volume', name: 'data' }, b);
    assert.deepEqual([vol.stopFirst, vol.confirm], [false, 'Restore']);
    assert.match(vol.message, /^Restore volume data from the backup of .*Its content is replaced/);
  });

  it('the Storage view: a volume with a schedule gets a Backups row (schedule as description); others none', () => {
    const vol = (id: string, name: string) => ({
      id,
      name,
      owner_id: 'u1',
      team: null,
      backend_id: 'local',
      backend_name: `hangar-vol-${id}`,
      size_gb: null,
      created_at: '2030-03-01T00:00:00Z',
      mounted_by: [],
    });
    const overview: StorageOverview = {
      volumes: [vol('v1', 'data'), vol('v2', 'scratch')],
      shares: [],
      host_paths: [],
    };
    const [vols] = storageRows(overview, [], undefined, [schedule]);
    const [data, scratch] = vols.children!;
    assert.deepEqual(
      data.children!.map((r) => [r.label, r.description, r.context, r.backupsOf]),
      [['Backups', '0 3 * * * (Asia/Shanghai), keep 7', 'volumeBackups', { volume_id: 'v1', name: 'data' }]],
    );
    assert.deepEqual(scratch.children, []);
    assert.equal(storageRows(overview, [])[0].children![0].children, undefined);
  });

  it("a Kubernetes backup (VolumeSnapshots) says so instead of a size; a VM one shows its images' size", () => {
    const snaps = backup('k', '2030-03-02T03:00:00Z', {
      store: 'k8s',
      size_bytes: 0,
      items: [
        { item: 'home', volume_id: null, path: '/home', size_bytes: 0, sha256: '', kind: 'volume_snapshot' },
        { item: 'volume:v1', volume_id: 'v1', path: null, size_bytes: 0, sha256: '', kind: 'volume_snapshot' },
      ],
    });
    const [row] = backupRows([snaps]);
    assert.equal(row.description, 'complete · VolumeSnapshots · manual');
    assert.match(row.tooltip, /\/home: VolumeSnapshot\nvolume:v1: VolumeSnapshot\nstore: k8s/);
    const vm = backup('v', '2030-03-02T03:00:00Z', {
      size_bytes: 2 * 1024 * 1024,
      items: [
        { item: 'home', volume_id: null, path: '/', size_bytes: 2 * 1024 * 1024, sha256: 'c', kind: 'disk_image' },
      ],
    });
    assert.match(backupRows([vm])[0].description, /^complete · 2(\.0)? MiB · manual$/);
  });
});
