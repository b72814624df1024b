// What the Environments tree shows, as plain data: grouping, labels, icons, contextValue tags. No vscode import,
// so it is unit-tested under plain mocha and benchmarked with thousands of environments.
import { describeNextAction } from '../../common/lifecycle';
import type { Environment, EnvStatus, Snapshot } from '../../common/model';

export type StatusGroup = 'running' | 'busy' | 'stopped' | 'problem';
export const GROUP_ORDER: StatusGroup[] = ['running', 'busy', 'stopped', 'problem'];
export const GROUP_LABEL: Record<StatusGroup, string> = {
  running: 'Running',
  busy: 'In progress',
  stopped: 'Stopped',
  problem: 'Needs attention',
};

export function statusGroup(s: EnvStatus): StatusGroup {
  if (s === 'running') return 'running';
  if (s === 'stopped') return 'stopped';
  if (s === 'failed' || s === 'missing') return 'problem';
  return 'busy';
}

/** Codicon id and theme colour per status. */
export function statusIcon(s: EnvStatus): { id: string; color?: string } {
  switch (s) {
    case 'running':
      return { id: 'vm-running', color: 'testing.iconPassed' };
    case 'stopped':
      return { id: 'vm-outline', color: 'disabledForeground' };
    case 'failed':
      return { id: 'error', color: 'testing.iconFailed' };
    case 'missing':
      return { id: 'warning', color: 'list.warningForeground' };
    // Waiting for the scheduler (its reason is the env's status message), not busy doing something.
    case 'pending':
      return { id: 'watch', color: 'list.warningForeground' };
    default:
      return { id: 'loading~spin' };
  }
}

export function gpuSummary(e: Pick<Environment, 'gpu_mode' | 'gpu_count' | 'gpu_device_ids'>): string {
  if (e.gpu_mode === 'none') return '';
  const n = e.gpu_count || e.gpu_device_ids.length;
  return `${n}× GPU${e.gpu_mode === 'exclusive' ? '' : ` (${e.gpu_mode})`}`;
}

/** "stop in 12 min" (the lifecycle's next automatic action), or '' when there is none. */
export function nextActionShort(e: Environment, now = Date.now()): string {
  const n = e.next_action;
  if (!n || n.action === 'none' || !n.at) return '';
  return describeNextAction(n, now).replace(/ \(.*\)$/, '');
}

export function envDescription(e: Environment): string {
  return [e.environment_type, e.backend_id, gpuSummary(e), nextActionShort(e)].filter(Boolean).join(' · ');
}

const JUPYTER_TYPES = new Set(['ide', 'data_process']);

/** `hangarEnv+<status>[+ssh][+jupyter][+desktop][+vm]`: package.json menus match these tags with regexes. */
/** Pods copy their datasets in at start and back at stop: a read-write one can also be copied back on demand. */
export function syncsDatasets(e: Environment): boolean {
  return (
    e.deployment_mode.startsWith('k8s_') &&
    (e.storage_config?.mounts ?? []).some((m) => m.type === 'dataset' && !m.read_only)
  );
}

export function envContextValue(e: Environment): string {
  const tags = ['hangarEnv', e.status];
  if (e.status === 'running') tags.push('ssh');
  if (JUPYTER_TYPES.has(e.environment_type)) tags.push('jupyter');
  if (e.environment_type === 'desktop' || e.vnc_port !== null) tags.push('desktop');
  if (e.deployment_mode === 'vm') tags.push('vm');
  if (e.status === 'running' && syncsDatasets(e)) tags.push('syncds');
  return tags.join('+');
}

export interface Detail {
  label: string;
  value: string;
  icon: string;
}

export function envDetails(e: Environment): Detail[] {
  const d: Detail[] = [];
  if (e.status_message)
    d.push({
      label: e.status === 'failed' || e.status === 'missing' ? 'Problem' : 'Status',
      value: e.status_message,
      icon: 'info',
    });
  d.push({ label: 'Image', value: e.image, icon: 'package' });
  if (e.ssh_server)
    d.push({
      label: 'SSH server',
      value: e.ssh_server === 'agent' ? 'hangar-agent' : "the image's sshd",
      icon: 'terminal',
    });
  d.push({ label: 'Backend', value: `${e.backend_id} (${e.deployment_mode})`, icon: 'server' });
  const res = [e.cpu ? `${e.cpu} CPU` : '', e.memory_mb ? `${e.memory_mb} MiB` : ''].filter(Boolean).join(', ');
  if (res) d.push({ label: 'Resources', value: res, icon: 'dashboard' });
  if (e.gpu_mode !== 'none')
    d.push({ label: 'GPUs', value: [gpuSummary(e), ...e.gpu_device_ids].join(' '), icon: 'circuit-board' });
  const ports = e.network_config?.ports ?? [];
  if (ports.length)
    d.push({
      label: 'Ports',
      value: ports
        .map((p) => `${p.host_ip ?? '127.0.0.1'}:${p.host_port || '*'}→${p.container_port}/${p.protocol ?? 'tcp'}`)
        .join(', '),
      icon: 'plug',
    });
  const mounts = e.storage_config?.mounts ?? [];
  d.push({
    label: 'Storage',
    value: [e.storage_type, ...mounts.map((m) => `${m.source}→${m.target}${m.read_only ? ' (ro)' : ''}`)].join(', '),
    icon: 'database',
  });
  d.push({ label: 'Lifecycle', value: e.lifecycle_policy, icon: 'history' });
  if (e.use_jumpserver) d.push({ label: 'Access', value: 'through JumpServer', icon: 'shield' });
  return d;
}

/** A snapshot row: name, then when and in which state it was taken. */
export function snapshotDescription(s: Snapshot): string {
  return [
    s.current ? 'current' : '',
    s.state === 'running' ? 'with memory' : 'disk only',
    s.created_at.replace('T', ' ').slice(0, 16),
  ]
    .filter(Boolean)
    .join(' · ');
}

export interface EnvGroup {
  group: StatusGroup;
  label: string;
  envs: Environment[];
}

/** Groups by status in a fixed order, names sorted; `filter` keeps names/images/backends containing it. */
export function groupEnvironments(envs: Environment[], filter = ''): EnvGroup[] {
  const f = filter.trim().toLowerCase();
  const buckets = new Map<StatusGroup, Environment[]>();
  for (const e of envs) {
    if (f && !`${e.name} ${e.image} ${e.backend_id} ${e.environment_type}`.toLowerCase().includes(f)) continue;
    const g = statusGroup(e.status);
    let b = buckets.get(g);
    if (!b) buckets.set(g, (b = []));
    b.push(e);
  }
  return GROUP_ORDER.filter((g) => buckets.has(g)).map((g) => ({
    group: g,
    label: GROUP_LABEL[g],
    envs: buckets.get(g)!.sort((a, b) => a.name.localeCompare(b.name)),
  }));
}

/** Envs one tree level shows; the rest sit under a "more" node (VS Code builds items only for what is shown). */
export const TREE_PAGE = 200;

/** `envs[from, from + TREE_PAGE)` and how many follow them (a "more" node when any). */
export function treePage(envs: Environment[], from = 0, size = TREE_PAGE): { visible: Environment[]; more: number } {
  const visible = envs.slice(from, from + size);
  return { visible, more: Math.max(0, envs.length - from - visible.length) };
}

export function tooltipMarkdown(e: Environment, gatewayUrl: string): string {
  return [
    `**${e.name}** — ${e.status}${e.status_message ? `: ${e.status_message}` : ''}`,
    '',
    `| | |`,
    `|---|---|`,
    `| Type | ${e.environment_type} |`,
    `| Backend | ${e.backend_id} (${e.deployment_mode}) |`,
    `| Image | \`${e.image}\` |`,
    ...(e.gpu_mode !== 'none' ? [`| GPUs | ${gpuSummary(e)} |`] : []),
    `| Lifecycle | ${e.lifecycle_policy}${e.next_action ? ` — next: ${describeNextAction(e.next_action)}` : ''} |`,
    `| Gateway | ${gatewayUrl} |`,
  ].join('\n');
}
