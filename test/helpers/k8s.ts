// Shared by the Kubernetes tests: the test cluster (test/setup/k8s-cluster.sh), client-node APIs on it, the
// objects an env left behind, and the daemon's event stream.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import WebSocket from 'ws';
import { AppsV1Api, BatchV1Api, CoreV1Api, KubeConfig, NetworkingV1Api, type V1Pod } from '@kubernetes/client-node';
import type { EnvEvent, Environment } from '../../common/model';
import { CACHE_DIR } from './cache';

// Where test/setup/k8s-cluster.sh writes it (under HANGAR_CACHE_DIR like every setup script).
export const KUBECONFIG = path.join(CACHE_DIR, 'k8s/kubeconfig');
const CLUSTER = path.resolve(__dirname, '../setup/k8s-cluster.sh');
export const IMAGE = 'hangar-test/ssh:latest';
export const ENV_ID = 'dev.hangar.env-id';

export function ensureCluster(): void {
  try {
    execFileSync('bash', [CLUSTER, 'status'], { stdio: 'ignore', timeout: 30_000 });
  } catch {
    execFileSync('bash', [CLUSTER, 'up'], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 900_000 });
  }
}

export function k8sApis() {
  const kc = new KubeConfig();
  kc.loadFromFile(KUBECONFIG);
  return {
    kc,
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    batch: kc.makeApiClient(BatchV1Api),
    net: kc.makeApiClient(NetworkingV1Api),
  };
}

/** A daemon config with one Kubernetes backend `k8s` on the test cluster (extra YAML lines indented under it). */
export const k8sConfig = (extra = '', kubeconfig = KUBECONFIG) =>
  `backends:\n  - id: k8s\n    kind: kubernetes\n    kubeconfig: ${kubeconfig}\n${extra}`;

export async function eventually<T>(
  fn: () => Promise<T | undefined | false>,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export const nsOf = (env: Environment) => env.backend_ref!.split('/')[0];

/** Every namespaced object carrying the env's id label, by kind (pods that are terminating included). */
export async function objectsOf(namespace: string, envId: string): Promise<string[]> {
  const { core, apps, batch, net } = k8sApis();
  const labelSelector = `${ENV_ID}=${envId}`;
  const [d, s, j, cj, svc, sec, pvc, np, pods] = await Promise.all([
    apps.listNamespacedDeployment({ namespace, labelSelector }),
    apps.listNamespacedStatefulSet({ namespace, labelSelector }),
    batch.listNamespacedJob({ namespace, labelSelector }),
    batch.listNamespacedCronJob({ namespace, labelSelector }),
    core.listNamespacedService({ namespace, labelSelector }),
    core.listNamespacedSecret({ namespace, labelSelector }),
    core.listNamespacedPersistentVolumeClaim({ namespace, labelSelector }),
    net.listNamespacedNetworkPolicy({ namespace, labelSelector }),
    core.listNamespacedPod({ namespace, labelSelector }),
  ]);
  const names = (kind: string, l: { items: { metadata?: { name?: string } }[] }) =>
    l.items.map((x) => `${kind}/${x.metadata!.name}`);
  return [
    ...names('deployment', d),
    ...names('statefulset', s),
    ...names('job', j),
    ...names('cronjob', cj),
    ...names('service', svc),
    ...names('secret', sec),
    ...names('pvc', pvc),
    ...names('networkpolicy', np),
    ...names('pod', pods),
  ];
}

export async function podsOf(env: Environment): Promise<V1Pod[]> {
  const { core } = k8sApis();
  return (await core.listNamespacedPod({ namespace: nsOf(env), labelSelector: `${ENV_ID}=${env.id}` })).items.filter(
    (p) => !p.metadata?.deletionTimestamp,
  );
}

export interface EventLog {
  events: EnvEvent[];
  next(pred: (e: EnvEvent) => boolean, what: string, timeoutMs?: number): Promise<EnvEvent>;
  close(): void;
}

/** The daemon's /api/v1/events WebSocket, recorded from now on. */
export async function eventLog(url: string, token: string): Promise<EventLog> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/api/v1/events`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const events: EnvEvent[] = [];
  const waiters = new Set<(e: EnvEvent) => void>();
  ws.on('message', (m) => {
    const e = JSON.parse(m.toString()) as EnvEvent;
    events.push(e);
    for (const w of [...waiters]) w(e);
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  // Resolves as the matching event arrives (the benchmark times with it), or with one already seen.
  const next = (pred: (e: EnvEvent) => boolean, what: string, timeoutMs = 30_000) =>
    new Promise<EnvEvent>((resolve, reject) => {
      const seen = events.find(pred);
      if (seen) return resolve(seen);
      const timer = setTimeout(() => {
        waiters.delete(w);
        reject(new assert.AssertionError({ message: `timed out waiting for event: ${what}` }));
      }, timeoutMs);
      const w = (e: EnvEvent) => {
        if (pred(e)) {
          clearTimeout(timer);
          waiters.delete(w);
          resolve(e);
        }
      };
      waiters.add(w);
    });
  return { events, next, close: () => ws.close() };
}
