// Backups of a booted VM env (real libvirtd, TCG) into the real test S3 server, one VM for every check: files are
// written in the guest (in the login user's home, on the root overlay, and on a data disk), the env is backed up
// WHILE IT RUNS (each disk copied at one point in time by blockcopy, then streamed: the items are the root overlay
// and the data disk, qcow2 images), the files are changed, added and deleted, a restore of the running env is a
// 409, the env is stopped and restored, started again: every file's SHA-256 in the guest is the backup's, the file
// made after it is gone. Another user gets 404 for the env's backups; the data disk alone, while the VM holds it, is 409. Commands run in the guest through the guest
// agent (the login user's shell, as SSH would give it; SSH itself is test/kvm).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { HangarClient } from '../../common/client';
import type { Environment, User } from '../../common/model';
import { apiError } from '../helpers/apiError';
import { startDaemon, type TestDaemon } from '../helpers/daemon';
import { importTestTemplate, POOL } from '../helpers/libvirt';
import { ensureS3Server, uniqueBucket } from '../helpers/s3';
import { backupStoreYaml } from '../helpers/volumeData';

describe('datasets: backup of a running VM env (root overlay + data disk), restore, checksums in the guest', function () {
  this.timeout(3_600_000);
  const sfx = crypto.randomBytes(3).toString('hex');
  const TEMPLATE = `vmbak-${sfx}`;
  const bucket = uniqueBucket('hangar-vmenv');
  let d: TestDaemon;
  let bob: HangarClient;
  let bobUser: User;
  let alice: HangarClient;
  let env: Environment;
  let volId: string;
  const sh = async (script: string): Promise<string> => {
    const r = await d.server.drivers
      .get('kvm')
      .exec(env.backend_ref!, ['env', `HOME=/home/${env.ssh_user}`, 'sh', '-c', script], { user: env.ssh_user });
    if (r.exitCode !== 0) throw new Error(`${script}: exit ${r.exitCode}: ${r.stderr}`);
    return r.stdout.trim();
  };
  const sums = () => sh('cd $HOME && sha256sum a.bin notes.txt sub/b.bin && cd /data && sha256sum d.bin');

  before(async function () {
    this.timeout(2_400_000);
    ensureS3Server();
    d = await startDaemon({
      configYaml: `
backends:
  - id: kvm
    kind: libvirt
    uri: qemu:///system
    pool: ${POOL}
    virt_type: qemu
    restrict_network: true
    forward_port_range: { from: 22800, to: 22809 }
    default_vcpus: 1
    default_memory_mb: 768
    boot_timeout_s: 1800
    shutdown_timeout_s: 120
${backupStoreYaml(bucket)}`,
    });
    await importTestTemplate(d.admin, 'kvm', TEMPLATE);
    const b = await d.admin.createUser(`bob${sfx}`, 'user');
    bobUser = b.user;
    bob = new HangarClient({ url: d.url, token: b.token, timeoutMs: 600_000 });
    alice = new HangarClient({ url: d.url, token: (await d.admin.createUser(`alice${sfx}`, 'user')).token });
    const vol = await bob.createVolume({ name: 'vmdata', size_gb: 1, backend_id: 'kvm' });
    volId = vol.id;
    const created = await bob.createEnvironment({
      name: `vmbak-${sfx}`,
      deployment_mode: 'vm',
      backend_id: 'kvm',
      image: TEMPLATE,
      environment_type: 'terminal',
      storage_config: { mounts: [{ type: 'volume', source: `id:${vol.id}`, target: '/data' }] },
    });
    env = await bob.waitFor(created.id, ['running', 'failed'], { timeoutMs: 2_000_000 });
    assert.equal(env.status, 'running', env.status_message ?? '');
  });
  after(async () => {
    for (const b of (await d?.admin.backups().catch(() => [])) ?? []) await d.admin.deleteBackup(b.id).catch(() => 0);
    for (const e of (await d?.admin.listEnvironments().catch(() => [])) ?? [])
      await d.admin.deleteEnvironment(e.id).catch(() => undefined);
    await d?.server.envs.idle();
    for (const v of (await d?.admin.volumes().catch(() => [])) ?? [])
      await d.admin.deleteVolume(v.id).catch(() => undefined);
    await d?.admin.deleteTemplate('kvm', TEMPLATE).catch(() => undefined);
    await d?.close();
  });

  it('backed up while it runs, changed, stopped, restored, started: every file is the backup’s again', async () => {
    await sh(
      'mkdir -p $HOME/sub && head -c 3000000 /dev/urandom > $HOME/a.bin && echo hello > $HOME/notes.txt && ' +
        'head -c 200000 /dev/urandom > $HOME/sub/b.bin && head -c 2000000 /dev/urandom > /data/d.bin && sync',
    );
    const before = await sums();
    const b = await bob.runBackup({ environment: env.id });
    assert.equal(b.status, 'complete', b.message ?? '');
    assert.deepEqual(
      b.items.map((i) => [i.item.replace(/:.*/, ''), i.kind, i.path]),
      [
        ['home', 'disk_image', '/'],
        ['volume', 'disk_image', null],
      ],
    );
    assert.equal((await bob.getEnvironment(env.id)).status, 'running', 'the env ran on through its backup');
    console.log(`      images: ${b.items.map((i) => `${i.item.replace(/:.*/, '')} ${i.size_bytes} B`).join(', ')}`);
    const copies = execFileSync('virsh', ['-q', '-c', 'qemu:///system', 'vol-list', POOL], { encoding: 'utf8' });
    assert.doesNotMatch(copies, /hangar-bkcopy-/, 'the point-in-time copies are removed');
    for (const call of [
      () => alice.backup(b.id),
      () => alice.restoreBackup(b.id),
      () => alice.backups({ environment: env.id }),
      () => alice.runBackup({ environment: env.id }),
    ])
      assert.equal((await apiError(call())).status, 404);

    await sh(
      'head -c 1000 /dev/urandom >> $HOME/a.bin && rm $HOME/notes.txt && echo later > $HOME/new.txt && ' +
        'head -c 2000000 /dev/urandom > /data/d.bin && sync',
    );
    assert.notEqual(await sh('cd $HOME && sha256sum a.bin'), before.split('\n')[0]);
    assert.equal((await apiError(bob.restoreBackup(b.id))).status, 409, 'a running env is not restored');
    const held = await apiError(bob.runBackup({ volume: volId }));
    assert.equal(held.status, 409, 'a disk a running VM holds is backed up through its env, not alone');
    assert.match(held.message, /is mounted by 'vmbak-.*' \(running\)/);
    assert.equal((await bob.action(env.id, 'stop')).status, 'stopped');
    const restored = await bob.restoreBackup(b.id);
    assert.equal(restored.id, b.id);
    // Start answers once the guest's sshd does (minutes under TCG, past HTTP's header timeout): on the service itself.
    assert.equal((await d.server.envs.start(bobUser, env.id)).status, 'running');
    assert.equal(await sums(), before);
    assert.equal(await sh('ls $HOME/new.txt 2>/dev/null || echo gone'), 'gone');
  });
});
