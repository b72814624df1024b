// GPU passthrough and vGPU for VMs on a machine without GPUs: the domain XML the driver renders for granted devices is
// what real libvirt accepts (virsh define validates it against its schema) and stores (dumpxml reads it back).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseHostdevs, renderDomainXml } from '../../daemon/backends/libvirt/domainXml';
import { pciAddressOf } from '../../daemon/backends/libvirt/nodedev';
import { tmpDir } from '../helpers/tmp';
import type { GpuInfo } from '../../common/model';
import { startDaemon, type TestDaemon } from '../helpers/daemon';
import { domainSpec, LIBVIRT_CONFIG } from '../helpers/libvirt';

const virsh = (...args: string[]) =>
  execFileSync('virsh', ['-q', '-c', 'qemu:///system', ...args], { encoding: 'utf8' });

describe('kvm: GPU hostdev XML accepted and stored by libvirt', () => {
  const name = `hangar-00000000-0000-4000-8000-${String(Date.now()).slice(-12).padStart(12, '0')}`;
  after(() => {
    try {
      virsh('undefine', name);
    } catch {
      /* not defined */
    }
  });

  it('PCI passthrough (managed) and an mdev vGPU survive define → dumpxml unchanged', () => {
    const mdev = '4b20d080-1b54-4048-85b3-a6a62d165c01';
    const xml = renderDomainXml(
      domainSpec({
        name,
        pciHostdevs: [pciAddressOf('pci_0000_41_00_0')!, pciAddressOf('pci_0000_81_00_0')!],
        mdevHostdevs: [mdev],
        graphics: { port: 15977, password: 'secret12', listen: '127.0.0.1' },
      }),
    );
    const file = path.join(tmpDir(), 'd.xml');
    fs.writeFileSync(file, xml);
    virsh('define', '--validate', file);
    const stored = virsh('dumpxml', name);
    const hd = parseHostdevs(stored);
    assert.deepEqual(
      hd.map((h) => [h.type, h.managed ?? null, h.address?.['@bus'] ?? h.address?.['@uuid']]),
      [
        ['pci', 'yes', '0x41'],
        ['pci', 'yes', '0x81'],
        ['mdev', 'no', mdev],
      ],
    );
    assert.match(stored, /<hostdev mode='subsystem' type='mdev' managed='no' model='vfio-pci' display='off'>/);
    // The VNC password is kept out of plain dumpxml (libvirt needs --security-info to show it).
    assert.doesNotMatch(stored, /secret12/);
    assert.match(virsh('dumpxml', '--security-info', name), /passwd='secret12'/);
    assert.match(stored, /<hangar:id>00000000-0000-4000-8000-000000000001<\/hangar:id>/);
  });
});

describe('kvm: GPU grants from the host node devices reach the domain', function () {
  this.timeout(300_000);
  let d: TestDaemon;
  const DOUBLE = path.resolve(__dirname, '../doubles/virsh');
  const gpus = () => d.admin.request<GpuInfo[]>('GET', '/api/v1/gpus?backend=kvm');

  before(async () => {
    d = await startDaemon({
      configYaml: LIBVIRT_CONFIG.replace('    kind: libvirt\n', `    kind: libvirt\n    virsh: ${DOUBLE}\n`),
    });
    const disk = path.join(tmpDir(), 'blank.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', disk, '64M']);
    await d.admin.deleteTemplate('kvm', 'gpu-blank').catch(() => undefined);
    await d.admin.importTemplate('kvm', { name: 'gpu-blank', os: 'none', firmware: 'bios', disk: { file: disk } });
    await d.admin.request('POST', '/api/v1/gpus/refresh');
  });
  after(async () => {
    for (const e of (await d?.admin.listEnvironments()) ?? [])
      await d.admin.deleteEnvironment(e.id).catch(() => undefined);
    await d?.server.envs.idle();
    await d?.admin.deleteTemplate('kvm', 'gpu-blank').catch(() => undefined);
    await d?.close();
  });

  it('inventory: NVIDIA PCI functions for passthrough and one slot per vGPU instance, no other VGA device', async () => {
    const gs = await gpus();
    assert.deepEqual(
      gs.filter((g) => g.kind === 'gpu').map((g) => [g.id, g.model, g.free]),
      [
        ['pci_0000_41_00_0', 'A100 SXM4 40GB', 1],
        ['pci_0000_81_00_0', 'A100 SXM4 40GB', 1],
      ],
    );
    assert.equal(gs.filter((g) => g.kind === 'mdev').length, 14);
  });

  it('exclusive: the granted GPU is a managed PCI hostdev of the domain; libvirt refuses to start it here (no IOMMU), the env fails with that reason and the grant is released', async () => {
    const env = await d.admin.createEnvironment({
      name: 'pt',
      deployment_mode: 'vm',
      backend_id: 'kvm',
      image: 'gpu-blank',
      environment_type: 'terminal',
      gpu_mode: 'exclusive',
      gpu_count: 1,
      gpu_model: 'A100',
    });
    const failed = await d.admin.waitFor(env.id, ['failed', 'running'], { timeoutMs: 120_000 });
    assert.equal(failed.status, 'failed');
    assert.deepEqual(failed.gpu_device_ids, ['pci_0000_41_00_0']);
    // No IOMMU/VFIO here: libvirt refuses the PCI hostdev itself (a host with the GPU would boot it).
    assert.match(failed.status_message!, /virsh start: .*(passthrough of host PCI devices|0000:41:00\.0)/);
    assert.ok((await gpus()).every((g) => g.holders.length === 0));
    assert.ok(!virsh('list', '--all', '--name').includes(`hangar-${env.id}`));
  });

  it('vgpu: an mdev instance of the requested type is defined on the GPU; here libvirt has no such parent, so the env fails with its reason and nothing is held', async () => {
    const env = await d.admin.createEnvironment({
      name: 'vg',
      deployment_mode: 'vm',
      backend_id: 'kvm',
      image: 'gpu-blank',
      environment_type: 'terminal',
      gpu_mode: 'vgpu',
      gpu_count: 1,
      gpu_mig_profile: 'nvidia-474',
    });
    const failed = await d.admin.waitFor(env.id, ['failed', 'running'], { timeoutMs: 120_000 });
    assert.equal(failed.status, 'failed');
    assert.match(failed.gpu_device_ids[0], /^pci_0000_41_00_0\/nvidia-474#\d+$/);
    assert.match(failed.status_message!, /virsh nodedev-define/);
    assert.ok((await gpus()).every((g) => g.holders.length === 0));
  });
});
