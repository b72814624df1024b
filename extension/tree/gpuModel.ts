// GPUs view as plain data (no vscode import): hosts → GPUs (MIG instances and vGPU types under their GPU).
import type { GpuInfo } from '../../common/model';

export interface GpuRow {
  label: string;
  description: string;
  tooltip: string;
  icon: string;
  children?: { label: string; description: string }[];
}
export interface HostRow {
  label: string;
  description: string;
  gpus: GpuRow[];
}

const gib = (mb: number | null) => (mb ? `${Math.round(mb / 1024)} GiB` : '');

function state(g: GpuInfo): string {
  if (!g.present) return 'gone';
  if (g.health !== 'ok') return 'unhealthy';
  if (g.mig_mode === 'enabled') return 'MIG';
  return g.free === g.capacity ? 'free' : g.free > 0 ? `${g.capacity - g.free}/${g.capacity} shared` : 'in use';
}

/** vGPU slots (one per instance an mdev type allows) as one row per type: free count and holders. */
function vgpuTypes(slots: GpuInfo[]): { label: string; description: string }[] {
  const byType = new Map<string, GpuInfo[]>();
  for (const s of slots) byType.set(s.profile ?? '', [...(byType.get(s.profile ?? '') ?? []), s]);
  return [...byType].map(([type, xs]) => {
    const holders = xs.flatMap((x) => x.holders.map((h) => h.env_name));
    return {
      label: `vGPU ${type}`,
      description: [
        `${xs.filter((x) => x.free > 0).length} of ${xs.length} free`,
        holders.length ? `held by ${holders.join(', ')}` : '',
      ]
        .filter(Boolean)
        .join(' · '),
    };
  });
}

export function gpuRows(gpus: GpuInfo[]): HostRow[] {
  const hosts = new Map<string, GpuInfo[]>();
  for (const g of gpus) {
    const key = `${g.backend_id}/${g.node}`;
    hosts.set(key, [...(hosts.get(key) ?? []), g]);
  }
  return [...hosts].map(([key, list]) => {
    const whole = list.filter((g) => g.kind !== 'mig' && g.kind !== 'mdev');
    const free = whole.filter((g) => g.free > 0).length;
    return {
      label: key.split('/')[1] === key.split('/')[0] ? key.split('/')[0] : key,
      description: `${free} of ${whole.length} free`,
      gpus: whole.map((g) => {
        const holders = g.holders.map((h) => `${h.env_name} (${h.mode})`).join(', ');
        const mig = list.filter((m) => m.kind === 'mig' && m.parent_id === g.id);
        const children = [
          ...mig.map((m) => ({
            label: `MIG ${m.profile}`,
            description: m.holders.length ? `held by ${m.holders.map((h) => h.env_name).join(', ')}` : 'free',
          })),
          ...vgpuTypes(list.filter((m) => m.kind === 'mdev' && m.parent_id === g.id)),
        ];
        return {
          label: `${g.index !== null ? `#${g.index} ` : ''}${g.model}`,
          description: [gib(g.memory_mb), state(g), holders].filter(Boolean).join(' · '),
          tooltip: [g.id, g.pci_bus_id, g.driver && `driver ${g.driver}`, g.health_message].filter(Boolean).join('\n'),
          icon: !g.present || g.health !== 'ok' ? 'warning' : g.free > 0 ? 'circuit-board' : 'lock',
          children: children.length ? children : undefined,
        };
      }),
    };
  });
}
