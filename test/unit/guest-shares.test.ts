// Shares in a VM as cloud-init gets them: fstab lines with the share's version and options (escaped paths), the unit
// that makes the login user's directories before the mounts, the host alias on user-mode networking, and the
// refusal on a restricted network (the real guest mount is test/storage/vm-nfs.test.ts).
import assert from 'node:assert/strict';
import YAML from 'yaml';
import { userData } from '../../daemon/backends/libvirt/cloudInit';
import { fstabLines, guestShares, sharesScript } from '../../daemon/backends/libvirt/guestShares';
import type { SpecMount } from '../../daemon/contract';

const nfs = (over: Partial<NonNullable<SpecMount['nfs']>> = {}, target = '/nfs/home'): SpecMount => ({
  type: 'nfs',
  source: 'homes',
  target,
  nfs: { kind: 'nfs', server: '127.0.0.1', path: '/export/h/alice', version: '4.2', options: ['hard'], ...over },
});

describe('libvirt: NFS shares in the guest (cloud-init)', () => {
  const user = { backendId: 'kvm', network: 'user', restrict: false };

  it('fstab: the share version and options, ro/rw, _netdev, nofail; a loopback server is QEMU’s host alias', () => {
    const shares = guestShares(
      [nfs(), { ...nfs({ server: 'nfs.example.org', version: '4.1', options: [] }, '/a b'), read_only: true }],
      user,
    );
    assert.equal(
      fstabLines(shares),
      '10.0.2.2:/export/h/alice /nfs/home nfs nfsvers=4.2,hard,rw,_netdev,nofail,x-systemd.mount-timeout=120 0 0\n' +
        'nfs.example.org:/export/h/alice /a\\040b nfs nfsvers=4.1,ro,_netdev,nofail,x-systemd.mount-timeout=120 0 0\n',
    );
    // On a libvirt network the guest reaches the server by its own name.
    assert.equal(guestShares([nfs()], { ...user, network: 'hangar-net' })[0].address, '127.0.0.1');
  });

  it('refused where the guest can reach nothing (restrict_network), and for CephFS', () => {
    assert.throws(() => guestShares([nfs()], { ...user, restrict: true }), /restrict_network keeps its guests/);
    assert.throws(() => guestShares([nfs({ kind: 'cephfs' })], user), /VMs mount NFS shares only/);
    assert.deepEqual(guestShares([], { ...user, restrict: true }), []);
  });

  it('the shares unit runs before the fstab mounts; the first boot reloads, makes the directories and mounts', () => {
    const shares = guestShares([nfs({ make: { base: '/export/h', sub: 'alice' } })], user);
    const script = sharesScript(shares);
    assert.match(script, /mount -t nfs -o nfsvers=4\.2,hard '10\.0\.2\.2:\/export\/h' \/run\/hangar\/share-0/);
    assert.match(script, /chown 1000:1000 "\$p"/);
    assert.match(script, /umount \/run\/hangar\/share-0\n$/);
    const cfg = YAML.parse(userData({ hostname: 'h', files: [], command: ['/bin/true'], shares }).slice(14));
    const paths = cfg.write_files.map((f: { path: string; append?: boolean }) => [f.path, f.append ?? false]);
    assert.deepEqual(paths.slice(-3), [
      ['/var/lib/hangar/shares.sh', false],
      ['/etc/systemd/system/hangar-shares.service', false],
      ['/etc/fstab', true],
    ]);
    const unit = cfg.write_files.find((f: { path: string }) => f.path.endsWith('hangar-shares.service')).content;
    assert.match(unit, /After=network-online\.target\nBefore=remote-fs-pre\.target/);
    assert.deepEqual(cfg.runcmd.slice(1, 4), [
      ['systemctl', 'daemon-reload'],
      ['systemctl', 'enable', '--now', 'hangar-shares.service'],
      ['systemctl', 'start', 'remote-fs.target'],
    ]);
    // No shares: nothing of this in the seed.
    const plain = YAML.parse(userData({ hostname: 'h', files: [], command: ['/bin/true'] }).slice(14));
    assert.ok(!plain.write_files.some((f: { path: string }) => f.path === '/etc/fstab'));
  });
});
