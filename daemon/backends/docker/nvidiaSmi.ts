// Parsers for nvidia-smi output. NVIDIA does not promise a stable format across drivers, so: parse defensively,
// keep what can be read, and report each line that can't be with a reason.
import type { GpuDevice } from '../../contract';

export const QUERY_FIELDS = [
  'index',
  'uuid',
  'name',
  'pci.bus_id',
  'memory.total',
  'memory.used',
  'utilization.gpu',
  'driver_version',
  'mig.mode.current',
] as const;
export const QUERY_ARGS = [`--query-gpu=${QUERY_FIELDS.join(',')}`, '--format=csv,noheader,nounits'];

export interface ParseResult<T> {
  items: T[];
  problems: string[];
}

/** "[N/A]", "[Not Supported]", "[Unknown Error]", "[GPU requires reset]"… → null, with errors flagged. */
function value(v: string): { v: string | null; error?: string } {
  const t = v.trim();
  if (/^\[(N\/A|Not Supported)\]$/i.test(t) || t === 'N/A' || t === '') return { v: null };
  if (/^\[.*\]$/.test(t)) return { v: null, error: t.slice(1, -1) };
  return { v: t };
}

const num = (s: string | null) => (s === null || !/^-?\d+(\.\d+)?$/.test(s) ? null : Number(s));

export function parseQuery(
  out: string,
  backendId: string,
  node: string,
  now = new Date().toISOString(),
): ParseResult<GpuDevice> {
  const items: GpuDevice[] = [];
  const problems: string[] = [];
  for (const [i, raw] of out.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (!line) continue;
    let cells = line.split(',');
    // A model name with a comma in it: the extra cells belong to the name (3rd field).
    if (cells.length > QUERY_FIELDS.length) {
      const extra = cells.length - QUERY_FIELDS.length;
      cells = [cells[0], cells[1], cells.slice(2, 3 + extra).join(','), ...cells.slice(3 + extra)];
    }
    if (cells.length !== QUERY_FIELDS.length) {
      problems.push(
        `line ${i + 1}: expected ${QUERY_FIELDS.length} fields, got ${cells.length}: ${line.slice(0, 120)}`,
      );
      continue;
    }
    const f = Object.fromEntries(QUERY_FIELDS.map((k, j) => [k, value(cells[j])])) as Record<
      (typeof QUERY_FIELDS)[number],
      { v: string | null; error?: string }
    >;
    const uuid = f.uuid.v;
    if (!uuid || !/^GPU-[0-9a-fA-F-]+$/.test(uuid)) {
      problems.push(`line ${i + 1}: no GPU UUID: ${line.slice(0, 120)}`);
      continue;
    }
    const errors = Object.entries(f)
      .filter(([, x]) => x.error)
      .map(([k, x]) => `${k}: ${x.error}`);
    const mig = (f['mig.mode.current'].v ?? '').toLowerCase();
    items.push({
      id: uuid,
      backend_id: backendId,
      node,
      kind: 'gpu',
      index: num(f.index.v),
      model: f.name.v ?? 'unknown',
      memory_mb: num(f['memory.total'].v),
      pci_bus_id: f['pci.bus_id'].v,
      driver: f.driver_version.v,
      mig_mode: mig === 'enabled' ? 'enabled' : mig === 'disabled' ? 'disabled' : 'n/a',
      parent_id: null,
      profile: null,
      utilization: num(f['utilization.gpu'].v),
      health: errors.length ? 'error' : 'ok',
      health_message: errors.length ? errors.join('; ') : null,
      capacity: 1,
      present: true,
      last_seen: now,
    });
  }
  return { items, problems };
}

/** MIG instances from `nvidia-smi -L`, under their parent GPU. Older drivers name them MIG-GPU-<uuid>/<gi>/<ci>. */
export function parseList(
  out: string,
  backendId: string,
  node: string,
  parents: GpuDevice[],
  now = new Date().toISOString(),
): ParseResult<GpuDevice> {
  const items: GpuDevice[] = [];
  const problems: string[] = [];
  let parent: GpuDevice | undefined;
  for (const [i, raw] of out.split(/\r?\n/).entries()) {
    const line = raw.trimEnd();
    if (!line.trim()) continue;
    const gpu = /^GPU (\d+): (.+?) \(UUID: (GPU-[0-9a-fA-F-]+)\)\s*$/.exec(line);
    if (gpu) {
      parent = parents.find((p) => p.id === gpu[3]);
      continue;
    }
    const mig = /^\s+MIG (\S+)\s+Device\s+(\d+): \(UUID: (MIG-[0-9A-Za-z/-]+)\)\s*$/.exec(line);
    if (mig) {
      if (!parent) {
        problems.push(`line ${i + 1}: MIG device outside a known GPU`);
        continue;
      }
      const gb = /\.(\d+)gb$/.exec(mig[1]);
      items.push({
        id: mig[3],
        backend_id: backendId,
        node,
        kind: 'mig',
        index: Number(mig[2]),
        model: `${parent.model} MIG ${mig[1]}`,
        memory_mb: gb ? Number(gb[1]) * 1024 : null,
        pci_bus_id: parent.pci_bus_id,
        driver: parent.driver,
        mig_mode: 'n/a',
        parent_id: parent.id,
        profile: mig[1],
        utilization: null,
        health: parent.health,
        health_message: parent.health_message,
        capacity: 1,
        present: true,
        last_seen: now,
      });
      continue;
    }
    problems.push(`line ${i + 1}: not understood: ${line.slice(0, 120)}`);
  }
  return { items, problems };
}
