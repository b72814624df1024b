// VM data disk snapshots on real libvirtd (the test pool): a disk copy made with virsh vol-clone, checked by content
// with qemu-io (QEMU's own block layer reads the qcow2 as a guest would see it): data written, snapshot, changed,
// restored into the same volume and into a new one, read back by pattern. Booting a VM to write the data is left
// to test:kvm (minutes under TCG); the disk is the one POST /volumes makes (a qcow2 of size_gb in the pool).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { HangarClient } from '../../common/client';
import type { Volume } from '../../common/model';
import { apiError } from '../helpers/apiError';
import { startDaemon, type TestDaemon } from '../helpers/daemon';
import { holds, LIBVIRT_CONFIG, POOL, qemuIo } from '../helpers/libvirt';

const run = promisify(execFile);
const virsh = (...a: string[]) => run('virsh', ['-q', '-c', 'qemu:///system', ...a]);

describe('datasets: libvirt data disk snapshots (virsh vol-clone), checked by content', function () {
  this.timeout(180_000);
  let d: TestDaemon;
  let bob: HangarClient;
  let alice: HangarClient;
  let vol: Volume;
  const sfx = crypto.randomBytes(3).toString('hex');

  before(async () => {
    await virsh('pool-info', POOL); // a libvirtd that isn't up fails here, not later
    d = await startDaemon({ configYaml: LIBVIRT_CONFIG });
    bob = new HangarClient({ url: d.url, token: (await d.admin.createUser(`bob${sfx}`, 'user')).token });
    alice = new HangarClient({ url: d.url, token: (await d.admin.createUser(`alice${sfx}`, 'user')).token });
    vol = await bob.createVolume({ name: 'disk', backend_id: 'kvm', size_gb: 1 });
    await qemuIo(vol.backend_name, 'write -P 0xab 0 1M');
  });
  after(async () => {
    for (const v of (await d?.admin.volumes().catch(() => [])) ?? []) {
      for (const s of await d.admin.volumeSnapshots(v.id).catch(() => []))
        await d.admin.deleteVolumeSnapshot(v.id, s.id).catch(() => 0);
      await virsh('vol-delete', '--pool', POOL, `${v.backend_name}.qcow2`).catch(() => 0);
    }
    await d?.close();
  });

  it('snapshot, change, restore into the same volume: the old bytes are back; into a new one: a copy', async () => {
    const s = await bob.createVolumeSnapshot(vol.id, 'before');
    assert.deepEqual([s.kind, s.status, s.size_bytes], ['disk', 'ready', 1024 * 1024 * 1024]);
    assert.match((await virsh('vol-list', POOL)).stdout, new RegExp(`hangar-snap-${s.id}\\.qcow2`));
    await qemuIo(vol.backend_name, 'write -P 0xcd 0 1M');
    assert.equal(await holds(vol.backend_name, 0xab), false);
    await bob.restoreSnapshot(s.id, { into: 'same' });
    assert.equal(await holds(vol.backend_name, 0xab), true);
    const nv = await bob.restoreSnapshot(s.id, { into: 'new', name: 'disk-copy' });
    assert.equal(await holds(nv.backend_name, 0xab), true);
    assert.equal(nv.backend_id, 'kvm');
  });

  it("another user's volume and snapshot are 404; delete removes the copy from the pool", async () => {
    const [s] = await bob.volumeSnapshots(vol.id);
    assert.equal((await apiError(alice.volumeSnapshots(vol.id))).status, 404);
    assert.equal((await apiError(alice.restoreSnapshot(s.id, { into: 'same' }))).status, 404);
    await bob.deleteVolumeSnapshot(vol.id, s.id);
    assert.doesNotMatch((await virsh('vol-list', POOL)).stdout, new RegExp(`hangar-snap-${s.id}`));
  });
});
