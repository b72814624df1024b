// Flag values → request fields (KEY=VALUE lists, port mappings, volume and host-path mounts).
import { UsageError } from './errors';

export function parseKv(list: string[] | undefined, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list ?? []) {
    const i = item.indexOf('=');
    if (i < 1) throw new UsageError(`${flag} expects KEY=VALUE, got '${item}'`);
    out[item.slice(0, i)] = item.slice(i + 1);
  }
  return out;
}

export const collect = (v: string, prev: string[] = []) => [...prev, v];

export function parsePort(spec: string) {
  const parts = spec.split(':');
  const [ip, host, container] =
    parts.length === 3 ? parts : parts.length === 2 ? [undefined, ...parts] : [undefined, undefined, parts[0]];
  const [cport, proto] = container!.split('/');
  return {
    container_port: Number(cport),
    host_port: host ? Number(host) : undefined,
    host_ip: ip,
    protocol: (proto as 'tcp' | 'udp') || undefined,
  };
}

/** NAME:/dst[:ro]; NAME may itself hold a colon (team:NAME, id:ID), so the target is the first part that is a path. */
export function parseVolume(spec: string) {
  const parts = spec.split(':');
  const at = parts.findIndex((p) => p.startsWith('/'));
  if (at === 0)
    throw new UsageError(
      `--volume '${spec}': host paths can't be given; ask the operator for a host_paths entry and use --host-path NAME:DST`,
    );
  if (at < 0 || (parts[at + 1] !== undefined && parts[at + 1] !== 'ro' && parts[at + 1] !== 'rw'))
    throw new UsageError(`--volume expects NAME:DST[:ro], got '${spec}'`);
  return {
    type: 'volume' as const,
    source: parts.slice(0, at).join(':'),
    target: parts[at],
    read_only: parts[at + 1] === 'ro',
  };
}

export function parseHostPath(spec: string) {
  const [source, target, mode, ...rest] = spec.split(':');
  if (!source || !target || rest.length || (mode !== undefined && mode !== 'ro' && mode !== 'rw'))
    throw new UsageError(`--host-path expects NAME:DST[:ro|rw], got '${spec}'`);
  return { type: 'host_path' as const, source, target, ...(mode ? { read_only: mode === 'ro' } : {}) };
}
