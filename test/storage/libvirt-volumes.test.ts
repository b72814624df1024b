// Volumes on a libvirt backend (real libvirtd, the test pool): POST makes a qcow2 data disk of the size asked for,
// PATCH grows it (vol-resize: qemu-img) and refuses to shrink, DELETE removes the file; another user's disk is a 404
// to get, resize and delete; Docker still can't resize (422 naming the backend that can). Mounting one in a VM (made
// ext4 by the guest, the login user's, kept after the env) is test/storage/vm-nfs.test.ts.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { HangarClient } from '../../common/client';
import { apiError } from '../helpers/apiError';
import { startDaemon, type TestDaemon } from '../helpers/daemon';
import { POOL, POOL_DIR } from '../helpers/libvirt';

const info = (file: string) =>
  JSON.parse(execFileSync('qemu-img', ['info', '-U', '--output=json', file], { encoding: 'utf8' })) as {
    format: string;
    'virtual-size': number;
  };

describe('storage: libvirt data disks through the volumes API (non-admin users)', function () {
  this.timeout(120_000);
  const sfx = Date.now() % 100000;
  let d: TestDaemon;
  let bob: HangarClient;
  let alice: HangarClient;
  before(async () => {
    d = await startDaemon({
      configYaml: `
backends:
  - id: kvm
    kind: libvirt
    uri: qemu:///system
    pool: ${POOL}
    virt_type: qemu
    forward_port_range: { from: 22660, to: 22669 }
  - id: local
volume_quotas:
  per_user: {max_total_gb: 8}
`,
    });
    bob = new HangarClient({ url: d.url, token: (await d.admin.createUser(`bob${sfx}`)).token });
    alice = new HangarClient({ url: d.url, token: (await d.admin.createUser(`alice${sfx}`)).token });
  });
  after(async () => {
    for (const v of (await d?.admin.volumes().catch(() => [])) ?? [])
      await d.admin.deleteVolume(v.id).catch(() => undefined);
    await d?.close();
  });

  it('create makes a qcow2 of size_gb in the pool; resize grows it; shrinking is 400, over the quota 403', async () => {
    const v = await bob.createVolume({ name: 'disk', size_gb: 3 });
    assert.deepEqual([v.backend_id, v.size_gb, v.backend_name], ['kvm', 3, `hangar-vol-${v.id}`]);
    const file = path.join(POOL_DIR, `${v.backend_name}.qcow2`);
    assert.deepEqual([info(file).format, info(file)['virtual-size']], ['qcow2', 3 * 2 ** 30]);
    const grown = await bob.resizeVolume(v.id, 5);
    assert.equal(grown.size_gb, 5);
    assert.equal(info(file)['virtual-size'], 5 * 2 ** 30);
    const shrink = await apiError(bob.resizeVolume(v.id, 4));
    assert.deepEqual([shrink.status, shrink.field], [400, 'size_gb']);
    const quota = await apiError(bob.resizeVolume(v.id, 9));
    assert.equal(quota.status, 403);
    assert.match(quota.message, /has 5 GB of 8 GB; 4 GB more would be 9 GB/);
    assert.equal(info(file)['virtual-size'], 5 * 2 ** 30, 'a refused resize changes nothing');
  });

  it("another user's disk is 404 to get, resize and delete; DELETE by its owner removes the file", async () => {
    const v = (await bob.volumes()).find((x) => x.name === 'disk')!;
    const file = path.join(POOL_DIR, `${v.backend_name}.qcow2`);
    for (const call of [() => alice.volume(v.id), () => alice.resizeVolume(v.id, 6), () => alice.deleteVolume(v.id)])
      assert.equal((await apiError(call())).status, 404);
    assert.deepEqual(await alice.volumes(), []);
    assert.ok(fs.existsSync(file));
    await bob.deleteVolume(v.id);
    assert.ok(!fs.existsSync(file), 'the qcow2 is gone');
    assert.ok(
      !execFileSync('virsh', ['-q', '-c', 'qemu:///system', 'vol-list', POOL], { encoding: 'utf8' }).includes(
        v.backend_name,
      ),
    );
    assert.equal((await apiError(bob.volume(v.id))).status, 404);
  });

  it('Docker volumes still have no size to grow: 422 naming the backend that can', async () => {
    const v = await bob.createVolume({ name: `dv${sfx}`, backend_id: 'local' });
    const r = await apiError(bob.resizeVolume(v.id, 2));
    assert.equal(r.status, 422);
    assert.match(r.message, /backend 'local' can't resize volumes \(backends that can: kvm\)/);
    await bob.deleteVolume(v.id);
  });
});
