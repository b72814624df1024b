// GPU inventory of a libvirt host from its node devices (https://libvirt.org/formatnode.html): NVIDIA PCI functions
// (vendor 0x10de, display class 0x03xxxx) for whole-GPU passthrough, and the mdev types they offer for vGPU.
import { XMLParser } from 'fast-xml-parser';
import type { GpuDevice } from '../../contract';

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  isArray: (n) => ['capability', 'type', 'device'].includes(n),
});
const NVIDIA = 0x10de;

export interface PciAddress {
  domain: number;
  bus: number;
  slot: number;
  fn: number;
}

/** pci_0000_41_00_0 → its address (the node device name libvirt gives a PCI function). */
export function pciAddressOf(nodedev: string): PciAddress | undefined {
  const m = /^pci_([0-9a-f]{4})_([0-9a-f]{2})_([0-9a-f]{2})_([0-7])$/i.exec(nodedev);
  if (!m) return undefined;
  return { domain: parseInt(m[1], 16), bus: parseInt(m[2], 16), slot: parseInt(m[3], 16), fn: parseInt(m[4], 16) };
}

/** "GA100 [A100 SXM4 40GB]" → "A100 SXM4 40GB": the marketing name lspci/libvirt put in brackets. */
function productName(p: unknown): string {
  const text = typeof p === 'object' && p ? String((p as Record<string, unknown>)['#text'] ?? '') : String(p ?? '');
  return /\[([^\]]+)\]/.exec(text)?.[1] ?? (text || 'NVIDIA GPU');
}

const num = (v: unknown) => Number(String(v ?? '0').trim());

/** Offered vGPU type of a GPU: its parent PCI function, the GPU's model, and how many more instances it allows. */
interface MdevType {
  parent: string;
  model: string;
  type: string;
  name: string;
  available: number;
}

/** Where the devices are seen: the backend, its node and the time of the look. */
interface Seen {
  backendId: string;
  node: string;
  now: string;
}

/** Parses concatenated `virsh nodedev-dumpxml` outputs (PCI functions and existing mdev instances). */
export function parseNodeDevices(
  xml: string,
  backendId: string,
  node: string,
  now = new Date().toISOString(),
): GpuDevice[] {
  const seen: Seen = { backendId, node, now };
  const docs = xml
    .split(/(?<=<\/device>)/)
    .map((d) => d.trim())
    .filter(Boolean);
  const gpus: GpuDevice[] = [];
  const existingMdevs = new Map<string, number>(); // `${parent}/${type}` → instances already made
  const pending: MdevType[] = [];
  for (const doc of docs) {
    const dev = parser.parse(doc)?.device?.[0];
    if (!dev?.name) continue;
    const caps: Record<string, unknown>[] = dev.capability ?? [];
    const mdev = caps.find((c) => c['@type'] === 'mdev');
    if (mdev) {
      const type = (mdev.type as Record<string, string>[] | undefined)?.[0]?.['@id'];
      if (type && dev.parent)
        existingMdevs.set(`${dev.parent}/${type}`, (existingMdevs.get(`${dev.parent}/${type}`) ?? 0) + 1);
      continue;
    }
    const pci = caps.find((c) => c['@type'] === 'pci');
    if (!pci) continue;
    const vendor = num((pci.vendor as Record<string, string>)?.['@id']);
    const cls = num(pci.class);
    if (vendor !== NVIDIA || cls >> 16 !== 0x03) continue;
    const gpu = wholeGpu(dev, pci, gpus.length, seen);
    gpus.push(gpu);
    pending.push(...mdevTypesOf(pci, gpu.id, gpu.model));
  }
  return [...gpus, ...vgpuSlots(pending, existingMdevs, gpus, seen)];
}

/** 0000:41:00.0, the form nvidia-smi and lspci print. */
function pciBusId(addr: PciAddress): string {
  return `${addr.domain.toString(16).padStart(4, '0')}:${addr.bus.toString(16).padStart(2, '0')}:${addr.slot.toString(16).padStart(2, '0')}.${addr.fn}`;
}

/** An NVIDIA display-class PCI function as a whole GPU (for passthrough). */
function wholeGpu(dev: Record<string, any>, pci: Record<string, unknown>, index: number, seen: Seen): GpuDevice {
  const name = String(dev.name);
  const addr = pciAddressOf(name);
  return {
    id: name,
    backend_id: seen.backendId,
    node: seen.node,
    kind: 'gpu',
    index,
    model: productName(pci.product),
    memory_mb: null,
    pci_bus_id: addr ? pciBusId(addr) : null,
    driver: dev.driver?.name ? String(dev.driver.name) : null,
    mig_mode: 'n/a',
    parent_id: null,
    profile: null,
    utilization: null,
    health: 'ok',
    health_message: null,
    capacity: 1,
    present: true,
    last_seen: seen.now,
  };
}

/** The mdev types (vGPU profiles) a PCI function offers, from its mdev_types capability. */
function mdevTypesOf(pci: Record<string, unknown>, parent: string, model: string): MdevType[] {
  const types = ((pci.capability as Record<string, unknown>[] | undefined) ?? []).find(
    (c) => c['@type'] === 'mdev_types',
  );
  return ((types?.type as Record<string, unknown>[] | undefined) ?? []).map((t) => ({
    parent,
    model,
    type: String(t['@id']),
    name: String(t.name ?? t['@id']),
    available: num(t.availableInstances),
  }));
}

/** One grantable slot per vGPU instance the type allows (available now plus those already made), so an exclusive
 *  grant per slot keeps two VMs from being promised the same instance. */
function vgpuSlots(
  pending: MdevType[],
  existingMdevs: Map<string, number>,
  gpus: GpuDevice[],
  seen: Seen,
): GpuDevice[] {
  return pending.flatMap((p) => {
    const total = p.available + (existingMdevs.get(`${p.parent}/${p.type}`) ?? 0);
    return Array.from({ length: total }, (_, i): GpuDevice => ({
      id: `${p.parent}/${p.type}#${i}`,
      backend_id: seen.backendId,
      node: seen.node,
      kind: 'mdev',
      index: i,
      model: `${p.model} (${p.name})`,
      memory_mb: null,
      pci_bus_id: gpus.find((g) => g.id === p.parent)?.pci_bus_id ?? null,
      driver: null,
      mig_mode: 'n/a',
      parent_id: p.parent,
      profile: p.type,
      utilization: null,
      health: 'ok',
      health_message: null,
      capacity: 1,
      present: true,
      last_seen: seen.now,
    }));
  });
}

/** The mdev type and parent of a granted vGPU slot id (`<parent>/<type>#<n>`). */
export function mdevSlot(id: string): { parent: string; type: string } | undefined {
  const m = /^([^/]+)\/([^#]+)#\d+$/.exec(id);
  return m ? { parent: m[1], type: m[2] } : undefined;
}

/** Node device XML that defines a persistent mdev instance (libvirt ≥ 7.6: nodedev-define + nodedev-start). */
export function mdevXml(o: { parent: string; type: string; uuid: string }): string {
  return `<device><parent>${o.parent}</parent><capability type='mdev'><type id='${o.type}'/><uuid>${o.uuid}</uuid></capability></device>\n`;
}
