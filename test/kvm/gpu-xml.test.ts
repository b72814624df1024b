// GPU passthrough and vGPU for VMs on a machine without GPUs: the domain XML the driver renders for granted devices is
// what real libvirt accepts (virsh define validates it against its schema) and stores (dumpxml reads it back).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseHostdevs, renderDomainXml } from '../../daemon/drivers/libvirt/domainXml';
import { pciAddressOf } from '../../daemon/drivers/libvirt/nodedev';
import { tmpDir } from '../helpers/tmp';
import { domainSpec } from '../helpers/libvirt';

const virsh = (...args: string[]) => execFileSync('virsh', ['-q', '-c', 'qemu:///system', ...args], { encoding: 'utf8' });

describe('kvm: GPU hostdev XML accepted and stored by libvirt', () => {
  const name = `hangar-00000000-0000-4000-8000-${String(Date.now()).slice(-12).padStart(12, '0')}`;
  after(() => { try { virsh('undefine', name); } catch { /* not defined */ } });

  it('PCI passthrough (managed) and an mdev vGPU survive define → dumpxml unchanged', () => {
    const mdev = '4b20d080-1b54-4048-85b3-a6a62d165c01';
    const xml = renderDomainXml(domainSpec({
      name, pciHostdevs: [pciAddressOf('pci_0000_41_00_0')!, pciAddressOf('pci_0000_81_00_0')!], mdevHostdevs: [mdev],
      graphics: { port: 15977, password: 'secret12', listen: '127.0.0.1' },
    }));
    const file = path.join(tmpDir(), 'd.xml');
    fs.writeFileSync(file, xml);
    virsh('define', '--validate', file);
    const stored = virsh('dumpxml', name);
    const hd = parseHostdevs(stored);
    assert.deepEqual(hd.map((h) => [h.type, h.managed ?? null, h.address?.['@bus'] ?? h.address?.['@uuid']]), [
      ['pci', 'yes', '0x41'], ['pci', 'yes', '0x81'], ['mdev', 'no', mdev],
    ]);
    assert.match(stored, /<hostdev mode='subsystem' type='mdev' managed='no' model='vfio-pci' display='off'>/);
    // The VNC password is kept out of plain dumpxml (libvirt needs --security-info to show it).
    assert.doesNotMatch(stored, /secret12/);
    assert.match(virsh('dumpxml', '--security-info', name), /passwd='secret12'/);
    assert.match(stored, /<hangar:id>00000000-0000-4000-8000-000000000001<\/hangar:id>/);
  });
});
