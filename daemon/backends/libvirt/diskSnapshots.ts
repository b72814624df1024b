// Snapshots of VM data disks (hangar-vol-<id>.qcow2 in the pool): a full copy made with `virsh vol-clone` while no
// VM holds the disk (the service refuses while an env that mounts it isn't stopped), so each snapshot stands alone
// and deleting the volume later can't break it. Restore clones the copy into a new volume, or puts it back in place
// of the same one (the old disk is deleted first). Works the same over qemu+ssh:// (no host path is needed).
import type { BackendSnapshotState, VolumeSnapshotsCapability } from '../../contract';
import { UnprocessableError } from '../../errors';
import type { Virsh } from './virsh';

const COPY = { timeoutMs: 3_600_000 };

export function diskSnapshots(virsh: () => Virsh, pool: string): VolumeSnapshotsCapability {
  const file = (name: string) => `${name}.qcow2`;
  const info = async (name: string): Promise<BackendSnapshotState> => {
    const out = await virsh().run(['vol-info', '--pool', pool, file(name), '--bytes']);
    const cap = /Capacity:\s+(\d+)/.exec(out)?.[1];
    return { state: 'ready', ...(cap ? { size_bytes: Number(cap) } : {}) };
  };
  const clone = async (from: string, to: string) => {
    await virsh()
      .act(['vol-clone', '--pool', pool, file(from), file(to)], COPY)
      .catch((err) => {
        throw new UnprocessableError(`copying disk ${file(from)} failed: ${(err as Error).message}`);
      });
  };
  return {
    kind: 'disk',
    async create(volume, snapshot) {
      await info(volume).catch(() => {
        throw new UnprocessableError(`volume ${volume} has no disk yet (it is made when an env first mounts it)`);
      });
      await clone(volume, snapshot);
      return info(snapshot);
    },
    state: (_volume, snapshot) => info(snapshot).catch(() => ({ state: 'failed', message: 'the disk copy is gone' })),
    async restore(_volume, snapshot, target, o) {
      if (o.replace) await virsh().act(['vol-delete', '--pool', pool, file(target)]);
      await clone(snapshot, target);
      return info(target);
    },
    async delete(_volume, snapshot) {
      await virsh()
        .act(['vol-delete', '--pool', pool, file(snapshot)])
        .catch((err) => {
          if (!/not found|no storage vol/i.test((err as Error).message)) throw err;
        });
    },
  };
}
