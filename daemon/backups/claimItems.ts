// Backups of Kubernetes env data as VolumeSnapshots: one of the env's home claim (item `home`) and one of each
// volume's claim (item `volume:<id>`), named hangar-bak-<backup id>-<n> beside their claims. The backup is complete
// once every VolumeSnapshot object is made; the CSI driver takes them (readyToUse) on its own time. A restore needs
// every one ready (409 naming the ones that aren't, nothing touched) and the env stopped; then each claim is swapped:
// deleted and made again under its name with the snapshot as dataSource, so the workload needs no change.
import type { Volume } from '../../common/model';
import type { EnvDataObject, VolumeSnapshotsCapability } from '../contract';
import { ConflictError, UnprocessableError } from '../errors';
import type { BackupRow } from '../store/backups';
import type { BackupItemsTable } from '../store/schema';
import { csiKey, itemRow, parseCsiKey } from './methods';

export interface ClaimPlan {
  id: string;
  backendId: string;
  snaps: VolumeSnapshotsCapability;
  home?: EnvDataObject;
  volumes: Volume[];
}

export async function writeClaims(p: ClaimPlan, out: BackupItemsTable[]): Promise<void> {
  const claims = [
    ...(p.home ? [{ item: 'home', claim: p.home.name, volumeId: null, path: p.home.path }] : []),
    ...p.volumes.map((v) => ({ item: `volume:${v.id}`, claim: v.backend_name, volumeId: v.id, path: null })),
  ];
  for (const [n, c] of claims.entries()) {
    const snapshot = `hangar-bak-${p.id}-${n}`;
    // Recorded before it is made: a failure later removes it with the rest.
    const row = itemRow(
      p.id,
      c.item,
      { key: csiKey({ backendId: p.backendId, ...c, snapshot }), size_bytes: 0, sha256: '' },
      c.volumeId,
      c.path,
    );
    out.push(row);
    const st = await p.snaps.create(c.claim, snapshot);
    if (st.state === 'failed') throw new UnprocessableError(`VolumeSnapshot ${snapshot} failed: ${st.message ?? ''}`);
  }
}

export async function restoreClaims(b: BackupRow, snaps: VolumeSnapshotsCapability): Promise<void> {
  const keys = b.items.map((i) => {
    const k = parseCsiKey(i.object_key);
    if (!k) throw new UnprocessableError(`backup ${b.id}: item '${i.item}' is not a VolumeSnapshot`);
    return k;
  });
  const waiting: string[] = [];
  for (const k of keys) {
    const st = await snaps.state(k.claim, k.snapshot);
    if (st.state !== 'ready') waiting.push(`${k.snapshot} (${st.state}${st.message ? `: ${st.message}` : ''})`);
  }
  if (waiting.length)
    throw new ConflictError(`backup '${b.id}' is not restorable yet: VolumeSnapshots not ready: ${waiting.join(', ')}`);
  if (!snaps.swapIn) throw new UnprocessableError('this backend cannot put a snapshot back into a claim');
  for (const k of keys) await snaps.swapIn(k.claim, k.snapshot);
}
