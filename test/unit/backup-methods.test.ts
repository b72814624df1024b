// How a backend's env data is backed up, chosen from what it declares (no backend is probed): Docker archives, VM
// disk images, Kubernetes VolumeSnapshots; what each needs (a backup store, or none); the items' keys and kinds.
import assert from 'node:assert/strict';
import { csiKey, dropItem, itemKind, methodFor, parseCsiKey } from '../../daemon/backups/methods';
import type { Backends, Capabilities, Driver } from '../../daemon/contract';
import { UnprocessableError } from '../../daemon/errors';
import type { ArchiveStore } from '../../daemon/snapshots/archiveStore';

const drv = (id: string, capabilities: Capabilities) => ({ id, capabilities }) as unknown as Driver;
const backendsOf = (...ds: Driver[]): Backends => ({
  defaultId: ds[0].id,
  get: (id) => ds.find((d) => d.id === id)!,
  has: (id) => ds.some((d) => d.id === id),
  all: () => ds,
});
const deleted: string[] = [];
const csiSnaps = {
  kind: 'csi' as const,
  create: async () => ({ state: 'pending' as const }),
  state: async () => ({ state: 'pending' as const }),
  restore: async () => ({ state: 'ready' as const }),
  delete: async (claim: string, snap: string) => void deleted.push(`${claim}/${snap}`),
  swapIn: async () => undefined,
};
const backends = backendsOf(
  drv('docker', { volumeArchive: {} as never }),
  drv('kvm', { diskImages: {} as never, volumeSnapshots: { kind: 'disk' } as never, envData: {} as never }),
  drv('k8s', { volumeSnapshots: csiSnaps, envData: { home: async () => undefined } }),
  drv('bare', {}),
);
const store = { name: 's3', delete: async (k: string) => void deleted.push(k) } as unknown as ArchiveStore;

describe('unit: backup methods per backend', () => {
  it('Docker archives, libvirt disk images, Kubernetes VolumeSnapshots; a backend with none is a 422 naming those that can', () => {
    assert.equal(methodFor(backends, store, 'docker').kind, 'tar');
    assert.equal(methodFor(backends, store, 'kvm').kind, 'disk');
    assert.equal(methodFor(backends, undefined, 'k8s').kind, 'csi', 'VolumeSnapshots need no backup store');
    assert.throws(() => methodFor(backends, undefined, 'kvm'), /no backup store is configured/);
    assert.throws(
      () => methodFor(backends, store, 'bare'),
      (e: Error) =>
        e instanceof UnprocessableError &&
        /backend 'bare' can't back up .*that can: docker, kvm, k8s\)/.test(e.message),
    );
  });

  it("items' keys say what they are; dropping one removes the store's object or the VolumeSnapshot", async () => {
    const key = csiKey({ backendId: 'k8s', claim: 'dev-1234abcd-home', snapshot: 'hangar-bak-x-0' });
    assert.deepEqual(parseCsiKey(key), { backendId: 'k8s', claim: 'dev-1234abcd-home', snapshot: 'hangar-bak-x-0' });
    assert.equal(parseCsiKey('snap/backups/x/home.tar'), undefined);
    assert.deepEqual([key, 'snap/backups/x/root.qcow2', 'snap/backups/x/home.tar'].map(itemKind), [
      'volume_snapshot',
      'disk_image',
      'archive',
    ]);
    await dropItem(backends, store, key);
    await dropItem(backends, store, 'snap/backups/x/root.qcow2');
    await dropItem(backends, store, csiKey({ backendId: 'gone', claim: 'c', snapshot: 's' }));
    assert.deepEqual(deleted, ['dev-1234abcd-home/hangar-bak-x-0', 'snap/backups/x/root.qcow2']);
  });
});
