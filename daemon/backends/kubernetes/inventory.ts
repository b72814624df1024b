// A cluster's GPUs: per node and GPU resource (nvidia.com/gpu, nvidia.com/mig-<profile>), what is allocatable and
// what scheduled pods that haven't ended request of it — whoever made them (the scheduler decides, the inventory
// reflects it). Model, memory and driver come from GPU Feature Discovery's labels. Pure: nodes and pods in.
import type { V1Container, V1Node, V1Pod } from '@kubernetes/client-node';
import type { GpuDevice } from '../../contract';
import { GPU_PRODUCT_LABEL } from './conventions';

export const isGpuResource = (res: string) => res === 'nvidia.com/gpu' || res.startsWith('nvidia.com/mig-');

const units = (q: unknown) => {
  const n = Number.parseInt(String(q ?? ''), 10);
  return Number.isFinite(n) && n > 0 ? n : 0;
};

/** What a pod asks of each GPU resource: the sum over its containers, or the largest init container's, whichever
 *  is more (the scheduler's rule). Extended resources: the request is the limit when only a limit is set. */
export function podGpuRequests(p: V1Pod): Map<string, number> {
  const per = (cs: V1Container[]) => {
    const m = new Map<string, number>();
    for (const c of cs) {
      const res = { ...(c.resources?.limits ?? {}), ...(c.resources?.requests ?? {}) };
      for (const [k, v] of Object.entries(res)) if (isGpuResource(k)) m.set(k, (m.get(k) ?? 0) + units(v));
    }
    return m;
  };
  const sum = per(p.spec?.containers ?? []);
  for (const c of p.spec?.initContainers ?? []) {
    for (const [k, v] of per([c])) if (v > (sum.get(k) ?? 0)) sum.set(k, v);
  }
  return sum;
}

/** Scheduled pods that still hold what they asked for. */
export const holdsResources = (p: V1Pod) =>
  Boolean(p.spec?.nodeName) && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed';

export function clusterGpus(
  backendId: string,
  nodes: V1Node[],
  pods: V1Pod[],
  now = new Date().toISOString(),
): GpuDevice[] {
  const used = new Map<string, number>(); // `<node>/<resource>` → units requested
  for (const p of pods) {
    if (!holdsResources(p)) continue;
    for (const [res, n] of podGpuRequests(p))
      used.set(`${p.spec!.nodeName}/${res}`, (used.get(`${p.spec!.nodeName}/${res}`) ?? 0) + n);
  }
  const out: GpuDevice[] = [];
  for (const n of nodes) {
    const node = n.metadata?.name ?? '?';
    const labels = n.metadata?.labels ?? {};
    const ready = n.status?.conditions?.find((c) => c.type === 'Ready');
    const healthy = ready?.status === 'True' && !n.spec?.unschedulable;
    for (const [res, qty] of Object.entries(n.status?.allocatable ?? {})) {
      if (!isGpuResource(res)) continue;
      const capacity = units(qty);
      if (capacity <= 0) continue;
      const mem = Number.parseInt(labels['nvidia.com/gpu.memory'] ?? '', 10);
      out.push({
        id: `${node}/${res}`,
        backend_id: backendId,
        node,
        kind: 'k8s',
        index: null,
        model: labels[GPU_PRODUCT_LABEL] ?? 'unknown',
        memory_mb: res === 'nvidia.com/gpu' && Number.isFinite(mem) ? mem : null,
        pci_bus_id: null,
        driver: labels['nvidia.com/cuda.driver-version.full'] ?? labels['nvidia.com/cuda.driver.major'] ?? null,
        // 'n/a' even for MIG resources: each row is itself grantable (GpuService counts 'enabled' rows as 0 free).
        mig_mode: 'n/a',
        parent_id: null,
        profile: res,
        utilization: null,
        health: healthy ? 'ok' : 'error',
        health_message: healthy
          ? null
          : `node ${node} is ${n.spec?.unschedulable ? 'cordoned' : `not Ready (${ready?.reason ?? 'unknown'})`}`,
        capacity,
        used: Math.min(capacity, used.get(`${node}/${res}`) ?? 0),
        present: true,
        last_seen: now,
      });
    }
  }
  return out;
}
