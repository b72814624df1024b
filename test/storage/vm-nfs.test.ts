// NFS shares in a VM, through the guest kernel's own NFS client (the only NFS client on this machine that is a
// kernel's): cloud-init writes fstab entries and a unit that makes the login user's directories on the export. The
// guest reaches the test ganesha on the host's 127.0.0.1 as 10.0.2.2 (QEMU's user-mode NAT; restrict_network off for
// this backend, and the template's guests take no default route: only the host's loopback is on-link). The login user writes
// through SSH, the export dir and libnfs's nfs-cat read it back, nfs-cp writes a file the VM reads; stop/start keeps
// the mounts. The same VM mounts a libvirt data disk made by POST /volumes: ext4, the login user's, resized while off.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { HangarClient } from '../../common/client';
import type { Environment, User } from '../../common/model';
import { apiError } from '../helpers/apiError';
import { Cli } from '../helpers/cli';
import { startDaemon, type TestDaemon } from '../helpers/daemon';
import { POOL, POOL_DIR } from '../helpers/libvirt';
import { tmpDir } from '../helpers/tmp';

const run = promisify(execFile);
const NFS_DIR = process.env.HANGAR_NFS_DIR ?? '/var/lib/hangar-test/nfs/export';
const templateDir = () => execFileSync('bash', ['test/setup/build-vm-image.sh', 'path'], { encoding: 'utf8' }).trim();
const virtualSize = (file: string) =>
  JSON.parse(execFileSync('qemu-img', ['info', '-U', '--output=json', file], { encoding: 'utf8' }))['virtual-size'];

describe('storage: NFS shares and data disks in a VM (guest kernel NFS client)', function () {
  this.timeout(3_600_000);
  const sfx = `${process.pid % 1000}${Date.now() % 100000}`;
  const bobName = `bob${sfx}`;
  const TEMPLATE = `vmnfs-${sfx}`;
  const homes = `vmhomes-${sfx}`; // a per_user share's export (an operator's directory)
  const proj = `vmproj-${sfx}`; // an operator's directory below which {env} is made
  let d: TestDaemon;
  let bob: HangarClient;
  let bobUser: User;
  let cli: Cli;
  let env: Environment;
  let volId: string;

  const ssh = async (command: string): Promise<string> => {
    const r = await cli.run(['ssh', env.name, '--', command], { timeoutMs: 180_000 });
    if (r.code !== 0) throw new Error(`hangar ssh ${command}: exit ${r.code}: ${r.stderr}`);
    return r.stdout.trim();
  };

  before(async function () {
    this.timeout(900_000);
    // The operator's directories on the export; the user's one exists already, root's (as before this fix).
    fs.mkdirSync(path.join(NFS_DIR, homes, bobName), { recursive: true, mode: 0o755 });
    fs.mkdirSync(path.join(NFS_DIR, proj), { mode: 0o755 });
    fs.chmodSync(path.join(NFS_DIR, homes), 0o755);
    d = await startDaemon({
      configYaml: `
backends:
  - id: kvm
    kind: libvirt
    uri: qemu:///system
    pool: ${POOL}
    virt_type: qemu
    restrict_network: false    # the guest must reach ganesha; it has no default route (see the header)
    forward_port_range: { from: 22600, to: 22649 }
    default_vcpus: 1
    default_memory_mb: 768
    boot_timeout_s: 1800     # TCG on a shared 2-core machine: a boot has taken 677 s
    shutdown_timeout_s: 120
shares:
  - {name: homes, server: 127.0.0.1, export: /export/${homes}, nfs_version: '4.2', users: [${bobName}], sub_directories: per_user}
  - {name: proj, server: 127.0.0.1, export: /export, nfs_version: '4.1', options: [hard, timeo=600], users: [${bobName}]}
`,
    });
    const dir = templateDir();
    const meta = JSON.parse(fs.readFileSync(path.join(dir, 'template.json'), 'utf8'));
    await d.admin.importTemplate('kvm', {
      name: TEMPLATE,
      os: 'debian-12',
      cloud_init: true,
      firmware: 'direct-kernel',
      default_user: 'debian',
      cmdline: meta.cmdline,
      disk: { file: path.join(dir, 'disk.qcow2') },
      kernel: { file: path.join(dir, meta.kernel) },
      initrd: { file: path.join(dir, meta.initrd) },
    });
    const { user, token } = await d.admin.createUser(bobName);
    bobUser = user;
    bob = new HangarClient({ url: d.url, token, timeoutMs: 600_000 }); // stop waits for an ACPI shutdown under TCG
    cli = new Cli(d.url);
    await cli.login(token);
  });
  after(async () => {
    for (const e of (await d?.admin.listEnvironments().catch(() => [])) ?? [])
      await d.admin.deleteEnvironment(e.id).catch(() => undefined);
    await d?.server.envs.idle();
    for (const v of (await d?.admin.volumes().catch(() => [])) ?? [])
      await d.admin.deleteVolume(v.id).catch(() => undefined);
    await d?.admin.deleteTemplate('kvm', TEMPLATE).catch(() => undefined);
    await d?.close();
    for (const p of [homes, proj]) fs.rmSync(path.join(NFS_DIR, p), { recursive: true, force: true });
  });

  it('boots a VM whose guest mounts two shares (per_user and {env}) and a data disk made by POST /volumes', async () => {
    const vol = await bob.createVolume({ name: 'vmdisk', size_gb: 1, backend_id: 'kvm' });
    volId = vol.id;
    assert.equal(virtualSize(path.join(POOL_DIR, `${vol.backend_name}.qcow2`)), 2 ** 30, 'a 1 GiB qcow2 in the pool');
    const created = await bob.createEnvironment({
      name: 'vmnfs',
      deployment_mode: 'vm',
      backend_id: 'kvm',
      image: TEMPLATE,
      environment_type: 'terminal',
      storage_type: 'nfs',
      storage_config: {
        mounts: [
          { type: 'share', source: 'homes', target: '/nfs/home' },
          { type: 'share', source: 'proj', sub_path: `${proj}/{env}`, target: '/nfs/proj' },
          { type: 'volume', source: `id:${vol.id}`, target: '/data' },
        ],
      },
    });
    env = await bob.waitFor(created.id, ['running', 'failed'], { timeoutMs: 2_000_000 });
    assert.equal(env.status, 'running', env.status_message ?? '');
    const xml = execFileSync('virsh', ['-q', '-c', 'qemu:///system', 'dumpxml', env.backend_ref!], {
      encoding: 'utf8',
    });
    assert.match(xml, /user,id=hangarnet,restrict=off,hostfwd=tcp:127\.0\.0\.1:226\d\d-:2222'/);
  });

  it("the guest's kernel mounted them from fstab; the login user (uid 1000) writes, the export and nfs-cat see it", async () => {
    const fstab = await ssh('grep " nfs " /etc/fstab');
    assert.match(
      fstab,
      new RegExp(`^10\\.0\\.2\\.2:/export/${homes}/${bobName} /nfs/home nfs nfsvers=4\\.2,rw,_netdev,nofail,`, 'm'),
    );
    assert.match(fstab, /\/nfs\/proj nfs nfsvers=4\.1,hard,timeo=600,rw,_netdev,nofail,/);
    assert.equal(await ssh('id -u; id -g'), '1000\n1000');
    const mounts = (await ssh('findmnt -no FSTYPE,SOURCE /nfs/home; findmnt -no FSTYPE,SOURCE /nfs/proj')).replace(
      / +/g,
      ' ',
    );
    assert.equal(mounts, `nfs4 10.0.2.2:/export/${homes}/${bobName}\nnfs4 10.0.2.2:/export/${proj}/${env.id}`);
    await ssh('echo from-vm > /nfs/home/from-vm.txt && echo into-env-dir > /nfs/proj/p.txt && sync');
    const mine = path.join(NFS_DIR, homes, bobName);
    assert.equal(fs.readFileSync(path.join(mine, 'from-vm.txt'), 'utf8'), 'from-vm\n');
    // The directory that root owned before is the login user's now; the {env} one was made for it.
    for (const p of [mine, path.join(NFS_DIR, proj, env.id)]) {
      const st = fs.statSync(p);
      assert.deepEqual([st.uid, st.gid], [1000, 1000], p);
    }
    assert.equal(fs.statSync(path.join(mine, 'from-vm.txt')).uid, 1000);
    assert.equal(fs.statSync(path.join(NFS_DIR, proj)).uid, 0, "the operator's directory above stays root's");
    const { stdout } = await run('nfs-cat', [`nfs://127.0.0.1/export/${homes}/${bobName}/from-vm.txt?version=4`]);
    assert.equal(stdout, 'from-vm\n');
    const local = path.join(tmpDir(), 'from-host.txt');
    fs.writeFileSync(local, 'through libnfs\n');
    // As uid 1000 (libnfs's AUTH_SYS credentials): nfs-cp creates files 0660, which root's would keep from the user.
    await run('nfs-cp', [
      local,
      `nfs://127.0.0.1/export/${homes}/${bobName}/from-host.txt?version=4&uid=1000&gid=1000`,
    ]);
    assert.equal(await ssh('cat /nfs/home/from-host.txt'), 'through libnfs');
  });

  it("the data disk is ext4, the login user's; it can't be deleted or resized while the VM runs (409 naming it)", async () => {
    assert.equal(
      await ssh('findmnt -no FSTYPE /data; stat -c %u /data; echo d > /data/d.txt && cat /data/d.txt'),
      'ext4\n1000\nd',
    );
    const del = await apiError(bob.deleteVolume(volId));
    assert.equal(del.status, 409);
    assert.match(del.message, /mounted by 'vmnfs'/);
    const rs = await apiError(bob.resizeVolume(volId, 2));
    assert.equal(rs.status, 409);
    assert.match(rs.message, new RegExp(`attached to 'vmnfs' \\(${env.id}, running\\)`));
  });

  it('stop, resize the disk (qemu-img) while off, start: the shares are mounted again, the files and the bigger disk are there', async () => {
    assert.equal((await bob.action(env.id, 'stop')).status, 'stopped');
    const grown = await bob.resizeVolume(volId, 2);
    assert.equal(grown.size_gb, 2);
    assert.equal(virtualSize(path.join(POOL_DIR, `hangar-vol-${volId}.qcow2`)), 2 * 2 ** 30);
    // Start answers once the guest's sshd does (minutes under TCG, past HTTP's header timeout): on the service itself.
    assert.equal((await d.server.envs.start(bobUser, env.id)).status, 'running');
    assert.equal(
      await ssh('findmnt -no SOURCE /nfs/home; cat /nfs/home/from-vm.txt /nfs/proj/p.txt /data/d.txt'),
      `10.0.2.2:/export/${homes}/${bobName}\nfrom-vm\ninto-env-dir\nd`,
    );
    const size = Number(await ssh('df -B1 --output=size /data | tail -n 1'));
    assert.ok(size > 1.5 * 2 ** 30, `the guest grew its file system (${size} bytes)`);
  });

  it('deleting the env keeps the data disk and the files on the export; DELETE /volumes removes the disk file', async () => {
    await bob.deleteEnvironment(env.id);
    await d.server.envs.idle();
    const disk = path.join(POOL_DIR, `hangar-vol-${volId}.qcow2`);
    assert.ok(fs.existsSync(disk), 'kept, like a Docker named volume');
    assert.ok(fs.existsSync(path.join(NFS_DIR, homes, bobName, 'from-vm.txt')));
    await bob.deleteVolume(volId);
    assert.ok(!fs.existsSync(disk), 'the qcow2 is gone from the pool');
  });
});
