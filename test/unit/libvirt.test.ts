import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { loadConfig } from '../../daemon/config';
import { userData } from '../../daemon/backends/libvirt/cloudInit';
import { parseHostdevs, parseMeta, renderDomainXml } from '../../daemon/backends/libvirt/domainXml';
import { domainSpec } from '../helpers/libvirt';
import { sshTargetOf } from '../../daemon/backends/libvirt';
import { mdevSlot, parseNodeDevices, pciAddressOf } from '../../daemon/backends/libvirt/nodedev';
import { choose } from '../../daemon/gpu/allocate';
import type { GpuGrant } from '../../daemon/contract';

const nodedevXml = fs.readFileSync(path.resolve(__dirname, '../fixtures/libvirt/nodedev-a100-vgpu.xml'), 'utf8');

describe('libvirt: domain XML', () => {
  it('renders a TCG guest with ACPI, direct kernel boot, user-mode forwards on 127.0.0.1 and escaped text', () => {
    const xml = renderDomainXml(domainSpec());
    assert.match(xml, /<domain type='qemu' xmlns:qemu=/);
    assert.match(xml, /<features><acpi\/>/); // without ACPI a guest never finishes an ACPI shutdown
    assert.match(
      xml,
      /<kernel>\/p\/k<\/kernel><initrd>\/p\/i<\/initrd><cmdline>root=\/dev\/vda console=ttyS0<\/cmdline>/,
    );
    assert.match(
      xml,
      /<qemu:arg value='user,id=hangarnet,restrict=on,hostfwd=tcp:127.0.0.1:22001-:22,hostfwd=tcp:127.0.0.1:22002-:8888'\/>/,
    );
    assert.doesNotMatch(xml, /<interface/);
    assert.match(xml, /<title>train &lt;&amp;&gt; &quot;x&quot;<\/title>/);
    assert.match(xml, /<serial type='pty'><log file='\/p\/c.log' append='on'\/>/);
    assert.doesNotMatch(xml, /host-passthrough/);
    assert.match(renderDomainXml(domainSpec({ virtType: 'kvm' })), /<cpu mode='host-passthrough'\/>/);
  });

  it('round-trips our metadata (forwards, VNC port, mdevs)', () => {
    const spec = domainSpec({
      meta: { ...domainSpec().meta, vncPort: 15901, mdevs: ['4b20d080-1b54-4048-85b3-a6a62d165c01'] },
    });
    const meta = /<metadata>(.*)<\/metadata>/s.exec(renderDomainXml(spec))![1];
    assert.deepEqual(parseMeta(meta), spec.meta);
    assert.equal(parseMeta(''), undefined);
    assert.equal(parseMeta('<other/>'), undefined);
  });

  it('renders PCI passthrough and mdev hostdevs, VNC graphics with a password, and a libvirt network', () => {
    const xml = renderDomainXml(
      domainSpec({
        network: 'isolated',
        graphics: { port: 15901, password: 'pw', listen: '127.0.0.1' },
        pciHostdevs: [{ domain: 0, bus: 0x41, slot: 0, fn: 0 }],
        mdevHostdevs: ['4b20d080-1b54-4048-85b3-a6a62d165c01'],
      }),
    );
    assert.match(xml, /<interface type='network'><source network='isolated'\/>/);
    assert.doesNotMatch(xml, /hostfwd/);
    assert.match(
      xml,
      /<graphics type='vnc' port='15901' autoport='no' passwd='pw'><listen type='address' address='127.0.0.1'\/>/,
    );
    const hd = parseHostdevs(xml);
    assert.deepEqual(hd[0], {
      type: 'pci',
      managed: 'yes',
      address: { '@domain': '0x0000', '@bus': '0x41', '@slot': '0x00', '@function': '0x0' },
    });
    assert.equal(hd[1].type, 'mdev');
    assert.equal(hd[1].address?.['@uuid'], '4b20d080-1b54-4048-85b3-a6a62d165c01');
  });

  it('attaches named volumes as qcow2 data disks from vdc, with the serial the guest finds them by', () => {
    const xml = renderDomainXml(
      domainSpec({
        dataDisks: [
          { volume: 'hangar-vol-data.qcow2', serial: 'hv-0123456789abcdef', readOnly: false },
          { volume: 'hangar-vol-ref.qcow2', serial: 'hv-fedcba9876543210', readOnly: true },
        ],
      }),
    );
    assert.match(
      xml,
      /<source pool='hangar' volume='hangar-vol-data.qcow2'\/><target dev='vdc' bus='virtio'\/><serial>hv-0123456789abcdef<\/serial><\/disk>/,
    );
    assert.match(
      xml,
      /volume='hangar-vol-ref.qcow2'\/><target dev='vdd' bus='virtio'\/><serial>hv-fedcba9876543210<\/serial><readonly\/>/,
    );
  });

  it('boots UEFI templates with firmware=efi on q35 and BIOS templates from the disk', () => {
    assert.match(
      renderDomainXml(domainSpec({ boot: { kind: 'uefi' } })),
      /<os firmware='efi'><type arch='x86_64' machine='q35'>hvm<\/type><boot dev='hd'\/><\/os>/,
    );
    assert.match(
      renderDomainXml(domainSpec({ boot: { kind: 'bios' } })),
      /<os><type arch='x86_64' machine='pc'>hvm<\/type><boot dev='hd'\/><\/os>/,
    );
  });
});

describe('libvirt: cloud-init seed', () => {
  it('writes the boot files, removes the image host keys and runs the init unit in place of the image sshd', () => {
    const ud = userData({
      hostname: 'train',
      files: [{ path: '/.hangar/init.sh', content: '#!/bin/sh\necho hi\n', mode: 0o755 }],
      command: ['/bin/sh', '/.hangar/init.sh'],
    });
    assert.ok(ud.startsWith('#cloud-config\n'));
    const c = YAML.parse(ud);
    assert.equal(c.ssh_deletekeys, true);
    assert.deepEqual(c.ssh_genkeytypes, []);
    const init = c.write_files.find((f: { path: string }) => f.path === '/.hangar/init.sh');
    assert.equal(Buffer.from(init.content, 'base64').toString(), '#!/bin/sh\necho hi\n');
    assert.equal(init.permissions, '0755');
    const unit = c.write_files.find((f: { path: string }) => f.path.endsWith('hangar-init.service'));
    assert.match(unit.content, /ExecStart=\/bin\/sh \/.hangar\/init.sh/);
    assert.deepEqual(c.runcmd.at(-1), ['systemctl', 'enable', '--now', 'hangar-init.service']);
    assert.equal(c.bootcmd, undefined);
  });

  it('formats a blank data disk and mounts it at every boot; a read-only one is never formatted', () => {
    const c = YAML.parse(
      userData({
        hostname: 'h',
        files: [],
        command: ['true'],
        disks: [
          { serial: 'hv-1', target: '/data', readOnly: false },
          { serial: 'hv-2', target: "/it's", readOnly: true },
        ],
      }),
    );
    const script: string = c.bootcmd[0][2];
    const [rw, ro] = script.split('\n');
    assert.match(
      rw,
      /d='\/dev\/disk\/by-id\/virtio-hv-1'.*blkid "\$d" .*\|\| mkfs\.ext4 -q -L 'hv-1' "\$d".*mount "\$d" '\/data'/,
    );
    assert.doesNotMatch(ro, /mkfs/);
    assert.match(ro, /mount -o ro "\$d" '\/it'\\''s'/);
  });
});

describe('libvirt: GPU inventory from node devices', () => {
  it('finds NVIDIA GPUs (not other VGA devices) and one vGPU slot per instance a type allows', () => {
    const ds = parseNodeDevices(nodedevXml, 'kvm', 'host1', 'T');
    const gpus = ds.filter((d) => d.kind === 'gpu');
    assert.deepEqual(
      gpus.map((g) => [g.id, g.model, g.pci_bus_id, g.driver]),
      [
        ['pci_0000_41_00_0', 'A100 SXM4 40GB', '0000:41:00.0', 'nvidia'],
        ['pci_0000_81_00_0', 'A100 SXM4 40GB', '0000:81:00.0', 'vfio-pci'],
      ],
    );
    const slots = ds.filter((d) => d.kind === 'mdev');
    // nvidia-472: 9 available + 1 already made; nvidia-474: 4 available.
    assert.equal(slots.filter((s) => s.profile === 'nvidia-472').length, 10);
    assert.equal(slots.filter((s) => s.profile === 'nvidia-474').length, 4);
    assert.ok(slots.every((s) => s.parent_id === 'pci_0000_41_00_0' && s.capacity === 1));
    assert.equal(slots[0].model, 'A100 SXM4 40GB (GRID A100-4C)');
    assert.deepEqual(mdevSlot(slots[0].id), { parent: 'pci_0000_41_00_0', type: 'nvidia-472' });
    assert.deepEqual(pciAddressOf('pci_0000_41_00_0'), { domain: 0, bus: 0x41, slot: 0, fn: 0 });
    assert.equal(pciAddressOf('usb_1'), undefined);
  });

  it('allocates vGPUs of one type per GPU, and never passes through a GPU that hosts vGPUs', () => {
    const ds = parseNodeDevices(nodedevXml, 'kvm', 'host1', 'T');
    const g = (device_id: string, mode: GpuGrant['mode']): GpuGrant => ({
      id: device_id,
      env_id: 'e',
      device_id,
      mode,
      created_at: '',
    });
    const first = choose({ mode: 'vgpu', count: 2, model: null, profile: 'nvidia-472', deviceIds: [] }, ds, [], 'kvm');
    assert.ok(first.ok);
    const grants = first.ok ? first.deviceIds.map((id) => g(id, 'vgpu')) : [];
    // Another type on the same GPU: refused while nvidia-472 instances are held.
    const other = choose(
      { mode: 'vgpu', count: 1, model: null, profile: 'nvidia-474', deviceIds: [] },
      ds,
      grants,
      'kvm',
    );
    assert.equal(other.ok, false);
    assert.match(!other.ok ? other.reason : '', /need 1 free vGPU\(s\) of type nvidia-474 on kvm: 0 free of 4/);
    // Whole GPUs: only the one without vGPUs.
    const whole = choose({ mode: 'exclusive', count: 2, model: null, profile: null, deviceIds: [] }, ds, grants, 'kvm');
    assert.equal(whole.ok, false);
    const one = choose({ mode: 'exclusive', count: 1, model: 'A100', profile: null, deviceIds: [] }, ds, grants, 'kvm');
    assert.deepEqual(one, { ok: true, deviceIds: ['pci_0000_81_00_0'] });
    // A passed-through GPU offers no vGPUs.
    const passthrough = [g('pci_0000_41_00_0', 'exclusive')];
    assert.equal(
      choose({ mode: 'vgpu', count: 1, model: null, profile: null, deviceIds: [] }, ds, passthrough, 'kvm').ok,
      false,
    );
  });
});

describe('libvirt: configuration', () => {
  it('defaults a libvirt backend to qemu:///system, pool hangar, user networking on 127.0.0.1, auto virt type', () => {
    const dir = fs.mkdtempSync('/tmp/hangar-cfg-');
    fs.writeFileSync(path.join(dir, 'c.yaml'), 'backends:\n  - id: kvm\n    kind: libvirt\n');
    const b = loadConfig({ argv: ['--config', path.join(dir, 'c.yaml')] }).backends[0];
    assert.equal(b.kind, 'libvirt');
    if (b.kind !== 'libvirt') return;
    assert.equal(b.uri, 'qemu:///system');
    assert.equal(b.pool, 'hangar');
    assert.equal(b.network, 'user');
    assert.equal(b.forward_address, '127.0.0.1');
    assert.equal(b.virt_type, 'auto');
    fs.rmSync(dir, { recursive: true });
  });

  it('takes the SSH hop of a qemu+ssh URI and none for local URIs', () => {
    assert.equal(sshTargetOf('qemu:///system'), undefined);
    const t = sshTargetOf('qemu+ssh://ops@gpu-host:2222/system');
    assert.deepEqual(
      { host: t?.host, port: t?.port, username: t?.username },
      { host: 'gpu-host', port: 2222, username: 'ops' },
    );
  });
});
