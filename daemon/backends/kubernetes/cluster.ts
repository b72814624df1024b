// What a cluster says beyond one env: how an exposed env is reached from outside, and its GPUs.
import type { ExposedService } from '../../../common/model';
import type { GpuDevice } from '../../contract';
import { parseRef } from './api';
import type { K8sClient } from './client';
import { clusterGpus } from './inventory';
import { PUBLIC_SUFFIX } from './conventions';

/** The public Service's node ports (and node addresses) or load balancer ingress. */
export async function exposure(c: K8sClient, ref: string): Promise<ExposedService | undefined> {
  const r = parseRef(ref);
  const svc = await c.maybe(() =>
    c.core.readNamespacedService({ name: `${r.name}${PUBLIC_SUFFIX}`, namespace: r.namespace }),
  );
  if (!svc || (svc.spec?.type !== 'NodePort' && svc.spec?.type !== 'LoadBalancer')) return undefined;
  const ports = (svc.spec.ports ?? []).map((p) => ({
    name: p.name ?? String(p.port),
    port: p.port,
    node_port: p.nodePort ?? null,
  }));
  if (svc.spec.type === 'LoadBalancer') {
    const hosts = (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? i.hostname ?? '').filter(Boolean);
    return { type: 'LoadBalancer', hosts, ports };
  }
  const nodes = await c.call(() => c.core.listNode({}));
  const hosts = new Set<string>();
  for (const n of nodes.items) {
    if (n.spec?.unschedulable || !n.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True'))
      continue;
    const a = n.status?.addresses ?? [];
    const addr = a.find((x) => x.type === 'ExternalIP') ?? a.find((x) => x.type === 'InternalIP');
    if (addr) hosts.add(addr.address);
  }
  return { type: 'NodePort', hosts: [...hosts].sort(), ports };
}

/** Nodes' allocatable GPU resources less what scheduled, unfinished pods request (see inventory.ts). */
export async function inventory(c: K8sClient): Promise<GpuDevice[]> {
  const [nodes, pods] = await Promise.all([
    c.call(() => c.core.listNode({})),
    c.call(() =>
      c.core.listPodForAllNamespaces({ fieldSelector: 'spec.nodeName!=,status.phase!=Succeeded,status.phase!=Failed' }),
    ),
  ]);
  return clusterGpus(c.id, nodes.items, pods.items);
}
