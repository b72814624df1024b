// Which devices a request gets, given the inventory and current grants. Pure: the service runs it inside a
// transaction, and a partial unique index on exclusive grants backs it up in the database.
import type { GpuDevice, GpuGrant, GpuRequest } from '../contract';

export type Choice = { ok: true; deviceIds: string[] } | { ok: false; reason: string };

const matchesModel = (d: GpuDevice, model: string | null) =>
  !model || d.model.toLowerCase().includes(model.toLowerCase());

function describeFree(devices: GpuDevice[], used: Map<string, number>): string {
  const byModel = new Map<string, { free: number; total: number; mig: number }>();
  for (const d of devices.filter((x) => x.kind === 'gpu')) {
    const m = byModel.get(d.model) ?? { free: 0, total: 0, mig: 0 };
    m.total++;
    if (d.mig_mode === 'enabled') m.mig++;
    else if (!used.has(d.id) && d.health === 'ok' && d.present) m.free++;
    byModel.set(d.model, m);
  }
  return (
    [...byModel]
      .map(([model, c]) => `${c.free} of ${c.total} ${model} free${c.mig ? ` (${c.mig} in MIG mode)` : ''}`)
      .join(', ') || 'no GPUs in the inventory'
  );
}

/** Who holds what: grants per device, devices held whole, and the mdev type each vGPU-hosting GPU runs. */
interface Occupancy {
  used: Map<string, number>;
  held: Set<string>;
  vgpuType: Map<string, string>;
}

function occupancy(devices: GpuDevice[], grants: GpuGrant[]): Occupancy {
  const used = new Map<string, number>();
  const held = new Set<string>(); // held whole (exclusive/mig/vgpu): not shareable either
  for (const g of grants) {
    used.set(g.device_id, (used.get(g.device_id) ?? 0) + 1);
    if (g.mode !== 'shared') held.add(g.device_id);
  }
  // A GPU hosting vGPUs can't also be passed through whole, and NVIDIA vGPU runs one type per GPU at a time.
  const byId = new Map(devices.map((d) => [d.id, d]));
  const vgpuType = new Map<string, string>(); // parent GPU → the mdev type its granted vGPUs have
  for (const id of held) {
    const d = byId.get(id);
    if (d?.kind === 'mdev' && d.parent_id) vgpuType.set(d.parent_id, d.profile ?? '');
  }
  return { used, held, vgpuType };
}

const usable = (d: GpuDevice) => d.present && d.health === 'ok';

export function choose(req: GpuRequest, devices: GpuDevice[], grants: GpuGrant[], where: string): Choice {
  const occ = occupancy(devices, grants);
  if (req.mode === 'vgpu') return chooseVgpu(req, devices, occ, where);
  if (req.mode === 'mig') return chooseMig(req, devices, occ, where);
  return chooseWhole(req, devices, occ, where);
}

function chooseVgpu(req: GpuRequest, devices: GpuDevice[], { used, held, vgpuType }: Occupancy, where: string): Choice {
  const slots = devices.filter(
    (d) => d.kind === 'mdev' && (!req.profile || d.profile === req.profile) && matchesModel(d, req.model),
  );
  if (!devices.some((d) => d.kind === 'mdev'))
    return { ok: false, reason: `gpu_mode vgpu needs a libvirt host with mdev types; ${where} has none` };
  const free = slots.filter(
    (d) =>
      usable(d) &&
      !used.has(d.id) &&
      !(d.parent_id && held.has(d.parent_id)) &&
      (!d.parent_id || !vgpuType.has(d.parent_id) || vgpuType.get(d.parent_id) === d.profile),
  );
  const n = Math.max(1, req.count);
  if (free.length < n) {
    const types = [...new Set(devices.filter((d) => d.kind === 'mdev').map((d) => d.profile))].join(', ');
    return {
      ok: false,
      reason: `need ${n} free vGPU(s)${req.profile ? ` of type ${req.profile}` : ''} on ${where}: ${free.length} free of ${slots.length} (types there: ${types})`,
    };
  }
  return { ok: true, deviceIds: free.slice(0, n).map((d) => d.id) };
}

function chooseMig(req: GpuRequest, devices: GpuDevice[], { used }: Occupancy, where: string): Choice {
  const instances = devices.filter((d) => d.kind === 'mig' && (!req.profile || d.profile === req.profile));
  const free = instances.filter((d) => usable(d) && !used.has(d.id) && (!req.model || matchesModel(d, req.model)));
  const n = Math.max(1, req.count);
  if (free.length < n) {
    const profiles = [...new Set(devices.filter((d) => d.kind === 'mig').map((d) => d.profile))].join(', ') || 'none';
    return {
      ok: false,
      reason: `need ${n} free MIG ${req.profile ?? 'instance'}(s) on ${where}: ${free.length} free of ${instances.length} (profiles there: ${profiles})`,
    };
  }
  return { ok: true, deviceIds: free.slice(0, n).map((d) => d.id) };
}

/** Whole GPUs (exclusive or shared): those with MIG on are only granted as instances. */
function chooseWhole(
  req: GpuRequest,
  devices: GpuDevice[],
  { used, held, vgpuType }: Occupancy,
  where: string,
): Choice {
  const whole = devices.filter((d) => d.kind === 'gpu' && d.mig_mode !== 'enabled' && !vgpuType.has(d.id));
  if (req.deviceIds.length) {
    for (const id of req.deviceIds) {
      const d = whole.find((x) => x.id === id);
      if (!d) return { ok: false, reason: `GPU ${id} is not a whole GPU known on ${where}` };
      if (!usable(d))
        return {
          ok: false,
          reason: `GPU ${id} on ${where} is ${d.present ? `unhealthy (${d.health_message})` : 'gone'}`,
        };
      if (held.has(id) || (req.mode === 'exclusive' ? used.has(id) : (used.get(id) ?? 0) >= d.capacity)) {
        return { ok: false, reason: `GPU ${id} on ${where} is already granted` };
      }
    }
    return { ok: true, deviceIds: req.deviceIds };
  }

  const candidates = whole.filter((d) => usable(d) && matchesModel(d, req.model));
  if (req.mode === 'shared') {
    // Least-loaded GPU with a replica left (time-slicing: no memory or fault isolation between sharers).
    const open = candidates
      .filter((d) => !held.has(d.id) && (used.get(d.id) ?? 0) < d.capacity)
      .sort((a, b) => (used.get(a.id) ?? 0) - (used.get(b.id) ?? 0) || (a.index ?? 0) - (b.index ?? 0));
    const n = Math.max(1, req.count);
    if (open.length < n)
      return {
        ok: false,
        reason: `need a share of ${n} GPU(s)${req.model ? ` (${req.model})` : ''} on ${where}: every replica is taken (${describeFree(devices, used)})`,
      };
    return { ok: true, deviceIds: open.slice(0, n).map((d) => d.id) };
  }

  const free = candidates.filter((d) => !used.has(d.id)).sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
  if (free.length < req.count) {
    const model = req.model ? ` ${req.model}` : '';
    const missing =
      req.model && !whole.some((d) => matchesModel(d, req.model)) ? ` (no${model} on ${where} at all)` : '';
    return {
      ok: false,
      reason: `need ${req.count}×${model || ' GPU'} on ${where}; ${describeFree(devices, used)}${missing}`,
    };
  }
  return { ok: true, deviceIds: free.slice(0, req.count).map((d) => d.id) };
}
