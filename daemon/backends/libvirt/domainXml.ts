// Domain XML for one environment (https://libvirt.org/formatdomain.html), and reading our metadata back.
// Pure: the driver decides names, ports and volumes; this file only renders and parses.
import { XMLParser } from 'fast-xml-parser';

export const HANGAR_NS = 'https://hangar.dev/xmlns/libvirt/1';

export interface Forward {
  guest: number;
  host: number;
}

export interface DomainMeta {
  envId: string;
  envName: string;
  owner: string;
  gateway: string;
  backend: string;
  template: string;
  forwards: Forward[];
  /** Guest port 5901 maps to the VM's own VNC display (graphics), not to a guest service. */
  vncPort: number | null;
  /** mdev instances made for this VM (removed with it). */
  mdevs: string[];
  /** JSON EnvRecord (driver.ts): what adopting this domain after a restore rebuilds its row from. */
  record?: string;
}

export interface DomainSpec {
  name: string;
  title: string;
  virtType: 'kvm' | 'qemu';
  vcpus: number;
  memoryMb: number;
  pool: string;
  disk: string;
  seed: string;
  /** Data disks (named volumes), in order from vdc; the serial names them inside the guest. */
  dataDisks: { volume: string; serial: string; readOnly: boolean }[];
  /** Direct kernel boot (paths on the host) or the disk's own boot loader (bios) / UEFI firmware. */
  boot:
    { kind: 'direct-kernel'; kernel: string; initrd?: string; cmdline?: string } | { kind: 'bios' } | { kind: 'uefi' };
  /** 'user': user-mode networking with port forwards on the forward address; otherwise a libvirt network's name. */
  network: string;
  /** User-mode networking only: the guest can't open connections out (forwarded ports still reach it). */
  restrictNetwork: boolean;
  forwardAddress: string;
  consoleLog: string;
  graphics: { port: number; password: string; listen: string } | null;
  pciHostdevs: { domain: number; bus: number; slot: number; fn: number }[];
  mdevHostdevs: string[];
  meta: DomainMeta;
}

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;').replace(/"/g, '&quot;');
const hex = (n: number, width: number) => '0x' + n.toString(16).padStart(width, '0');

function metadataXml(m: DomainMeta): string {
  return [
    `<hangar:env xmlns:hangar='${HANGAR_NS}'>`,
    `<hangar:id>${esc(m.envId)}</hangar:id>`,
    `<hangar:name>${esc(m.envName)}</hangar:name>`,
    `<hangar:owner>${esc(m.owner)}</hangar:owner>`,
    `<hangar:gateway>${esc(m.gateway)}</hangar:gateway>`,
    `<hangar:backend>${esc(m.backend)}</hangar:backend>`,
    `<hangar:template>${esc(m.template)}</hangar:template>`,
    ...m.forwards.map((f) => `<hangar:forward guest='${f.guest}' host='${f.host}'/>`),
    ...(m.vncPort !== null ? [`<hangar:vnc port='${m.vncPort}'/>`] : []),
    ...m.mdevs.map((u) => `<hangar:mdev uuid='${esc(u)}'/>`),
    ...(m.record ? [`<hangar:record>${esc(m.record)}</hangar:record>`] : []),
    '</hangar:env>',
  ].join('');
}

function osXml(s: DomainSpec): string {
  const type = `<type arch='x86_64' machine='${s.boot.kind === 'uefi' ? 'q35' : 'pc'}'>hvm</type>`;
  if (s.boot.kind === 'direct-kernel') {
    return `<os>${type}<kernel>${esc(s.boot.kernel)}</kernel>${s.boot.initrd ? `<initrd>${esc(s.boot.initrd)}</initrd>` : ''}${s.boot.cmdline ? `<cmdline>${esc(s.boot.cmdline)}</cmdline>` : ''}</os>`;
  }
  if (s.boot.kind === 'uefi') return `<os firmware='efi'>${type}<boot dev='hd'/></os>`;
  return `<os>${type}<boot dev='hd'/></os>`;
}

const QEMU_NS = 'http://libvirt.org/schemas/domain/qemu/1.0';

function interfaceXml(s: DomainSpec): string {
  if (s.network !== 'user')
    return `<interface type='network'><source network='${esc(s.network)}'/><model type='virtio'/></interface>`;
  return ''; // user-mode networking is in qemuArgs
}

/** User-mode networking (QEMU's slirp): the VM gets its own network stack with no bridge and no route into it from
 *  the host; only the forwarded ports reach it, and only on the forward address. libvirt can't express host
 *  forwards for slirp (its passt backend can, but Debian 12's libvirt 9.0 is built without passt), so the netdev is
 *  passed to QEMU directly; libvirt marks such domains "custom-argv". restrict=on also stops the guest from opening
 *  connections to the host or beyond (forwards still work). */
function qemuArgs(s: DomainSpec): string {
  if (s.network !== 'user') return '';
  const fwd = s.meta.forwards.map((f) => `hostfwd=tcp:${s.forwardAddress}:${f.host}-:${f.guest}`).join(',');
  const netdev = ['user', 'id=hangarnet', `restrict=${s.restrictNetwork ? 'on' : 'off'}`, ...(fwd ? [fwd] : [])].join(
    ',',
  );
  return `<qemu:commandline><qemu:arg value='-netdev'/><qemu:arg value='${esc(netdev)}'/><qemu:arg value='-device'/><qemu:arg value='virtio-net-pci,netdev=hangarnet,addr=0x10'/></qemu:commandline>`;
}

export function renderDomainXml(s: DomainSpec): string {
  const disk = (vol: string, dev: string, serial?: string, readOnly = false) =>
    `<disk type='volume' device='disk'><driver name='qemu' type='qcow2' discard='unmap'/><source pool='${esc(s.pool)}' volume='${esc(vol)}'/><target dev='${dev}' bus='virtio'/>${serial ? `<serial>${esc(serial)}</serial>` : ''}${readOnly ? '<readonly/>' : ''}</disk>`;
  return `<domain type='${s.virtType}' xmlns:qemu='${QEMU_NS}'>
  <name>${esc(s.name)}</name>
  <title>${esc(s.title)}</title>
  <metadata>${metadataXml(s.meta)}</metadata>
  <memory unit='MiB'>${s.memoryMb}</memory>
  <vcpu>${s.vcpus}</vcpu>
  ${osXml(s)}
  <features><acpi/><apic/></features>
  ${s.virtType === 'kvm' ? "<cpu mode='host-passthrough'/>" : ''}
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    ${disk(s.disk, 'vda')}
    ${disk(s.seed, 'vdb')}
    ${s.dataDisks.map((d, i) => disk(d.volume, `vd${String.fromCharCode(99 + i)}`, d.serial, d.readOnly)).join('\n    ')}
    ${interfaceXml(s)}
    <serial type='pty'><log file='${esc(s.consoleLog)}' append='on'/><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
    ${s.graphics ? `<graphics type='vnc' port='${s.graphics.port}' autoport='no' passwd='${esc(s.graphics.password)}'><listen type='address' address='${esc(s.graphics.listen)}'/></graphics><video><model type='virtio'/></video>` : ''}
    ${s.pciHostdevs.map((p) => `<hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='${hex(p.domain, 4)}' bus='${hex(p.bus, 2)}' slot='${hex(p.slot, 2)}' function='${hex(p.fn, 1)}'/></source></hostdev>`).join('')}
    ${s.mdevHostdevs.map((u) => `<hostdev mode='subsystem' type='mdev' model='vfio-pci' display='off'><source><address uuid='${esc(u)}'/></source></hostdev>`).join('')}
    <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>
    <memballoon model='virtio'/>
  </devices>
  ${qemuArgs(s)}
</domain>
`;
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  removeNSPrefix: true,
  isArray: (n) => ['forward', 'mdev', 'hostdev', 'disk'].includes(n),
});

/** Our metadata element as `virsh metadata <dom> <ns>` prints it; undefined when absent or not ours. */
export function parseMeta(xml: string): DomainMeta | undefined {
  if (!xml.trim()) return undefined;
  const e = parser.parse(xml)?.env;
  if (!e || typeof e !== 'object' || !e.id) return undefined;
  const str = (v: unknown) => (v === undefined || v === null ? '' : String(v));
  return {
    envId: str(e.id),
    envName: str(e.name),
    owner: str(e.owner),
    gateway: str(e.gateway),
    backend: str(e.backend),
    template: str(e.template),
    forwards: (e.forward ?? []).map((f: Record<string, string>) => ({
      guest: Number(f['@guest']),
      host: Number(f['@host']),
    })),
    vncPort: e.vnc ? Number(e.vnc['@port']) : null,
    mdevs: (e.mdev ?? []).map((m: Record<string, string>) => m['@uuid']),
    ...(typeof e.record === 'string' ? { record: e.record } : {}),
  };
}

/** Hostdevs as libvirt stored them (for tests and for the GPU view). */
export function parseHostdevs(
  domainXml: string,
): { type: string; managed?: string; address?: Record<string, string> }[] {
  const d = parser.parse(domainXml)?.domain;
  return (d?.devices?.hostdev ?? []).map((h: Record<string, unknown>) => {
    const src = h.source as { address?: Record<string, string> } | undefined;
    return { type: String(h['@type']), managed: h['@managed'] as string | undefined, address: src?.address };
  });
}
