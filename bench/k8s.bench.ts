// Side by side in one run, on the kwok test cluster (test/setup/k8s-cluster.sh):
//  1. create→Running latency through Hangar (POST, then the `running` event on the event stream) vs. applying
//     the same objects directly with @kubernetes/client-node (Secret, Service, Deployment with 1 replica, then a
//     watch until its pod is Ready), alternating, medians and the ratio;
//  2. reconcile time for 1,000 envs: rows and Deployments made directly, then Reconciler.run() timed; also the
//     status watch's first sync over them (every env's status computed once).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Watch, type V1Pod } from '@kubernetes/client-node';
import { loadConfig } from '../daemon/config';
import { LABELS, type EnvSpec } from '../daemon/contract';
import {
  bootSecret,
  deployment,
  namespaceFor,
  service,
  STARTED_ANNOTATION,
} from '../daemon/backends/kubernetes/manifests';
import { createLogger } from '../daemon/log';
import { EnvWatch } from '../daemon/backends/kubernetes/watch';
import { startServer } from '../daemon/server';
import { openDatabase } from '../daemon/store/db';
import { startDaemon } from '../test/helpers/daemon';
import { ensureCluster, eventLog, IMAGE, k8sApis, k8sConfig } from '../test/helpers/k8s';
import { tmpDir } from '../test/helpers/tmp';
import { figure } from './figures';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const ENVS = Number(process.env.BENCH_ENVS ?? 1000);
const { kc, core, apps } = (ensureCluster(), k8sApis());

const spec = (envId: string, name: string, owner: string): EnvSpec => ({
  envId,
  name,
  owner,
  image: IMAGE,
  pullPolicy: 'if-not-present',
  cpu: null,
  memoryMb: null,
  env: {},
  ports: [],
  mounts: [],
  gpus: { mode: 'none', deviceIds: [], count: 0 },
  files: [{ path: '/.hangar/init.sh', content: '#!/bin/sh\n', mode: 0o755 }],
  command: ['/bin/sh', '/.hangar/init.sh'],
});

/** Resolves when a pod with the env's label is Ready (a watch, as the daemon does it). */
function podReady(namespace: string, envId: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let ctl: AbortController | undefined;
    let done = false;
    void new Watch(kc)
      .watch(
        `/api/v1/namespaces/${namespace}/pods`,
        { labelSelector: `${LABELS.envId}=${envId}` },
        (_t, p: V1Pod) => {
          if (!done && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) {
            done = true;
            ctl?.abort();
            resolve();
          }
        },
        (err) => {
          if (!done && err && (err as Error).name !== 'AbortError') reject(err);
        },
      )
      .then((c) => {
        ctl = c;
        if (done) c.abort();
      });
  });
}

async function latency(): Promise<void> {
  const d = await startDaemon({ configYaml: k8sConfig() });
  const gatewayId = fs.readFileSync(path.join(d.dataDir, 'gateway.id'), 'utf8').trim();
  const log = await eventLog(d.url, d.token);
  const namespace = namespaceFor('hangar', `d${crypto.randomBytes(3).toString('hex')}`); // new per run: the last may be terminating
  await core.createNamespace({ body: { metadata: { name: namespace, labels: { [LABELS.gateway]: gatewayId } } } });
  const o = { gatewayId: `${gatewayId}-direct`, backendId: 'direct', namespacePrefix: 'hangar', imagePullSecrets: [] };
  const viaHangar: number[] = [];
  const direct: number[] = [];
  try {
    for (let i = -2; i < ROUNDS; i++) {
      // two warm-up rounds, not counted
      let t0 = process.hrtime.bigint();
      const env = await d.admin.createEnvironment({
        name: `lat-${i + 2}`,
        image: IMAGE,
        deployment_mode: 'k8s_pod',
        environment_type: 'terminal',
        backend_id: 'k8s',
      });
      await log.next((e) => e.environment_id === env.id && e.status === 'running', 'running', 60_000);
      if (i >= 0) viaHangar.push(ms(t0));

      const s = spec(crypto.randomUUID(), `direct-${i + 2}`, 'bench-direct');
      t0 = process.hrtime.bigint();
      const ready = podReady(namespace, s.envId);
      await core.createNamespacedSecret({ namespace, body: bootSecret(s, o, namespace) });
      await core.createNamespacedService({ namespace, body: service(s, o, namespace) });
      const dep = deployment(s, o, namespace, {});
      dep.spec!.replicas = 1;
      await apps.createNamespacedDeployment({ namespace, body: dep });
      await ready;
      if (i >= 0) direct.push(ms(t0));
    }
  } finally {
    log.close();
    for (const e of await d.admin.listEnvironments()) await d.admin.deleteEnvironment(e.id).catch(() => undefined);
    await d.close();
    for (const n of (await core.listNamespace({ labelSelector: `${LABELS.gateway}=${gatewayId}` })).items)
      await core.deleteNamespace({ name: n.metadata!.name! }).catch(() => undefined);
  }
  const h = median(viaHangar);
  const k = median(direct);
  figure({
    figure: `Kubernetes create→Running on kwok vs client-node applying the same objects (median of ${ROUNDS})`,
    hangar: h,
    floor: k,
    unit: 'ms',
    goal: 1.2,
    goal_on: 'ratio',
    cmp: '<=',
  });
  console.log(
    `  (Hangar: POST → 'running' event; it also dry-runs the pod, checks the namespace and follows readiness with watches)`,
  );
}

async function reconcile(): Promise<void> {
  const dataDir = tmpDir('hangar-k8s-bench-');
  const gatewayId = crypto.randomBytes(6).toString('hex');
  fs.writeFileSync(path.join(dataDir, 'gateway.id'), gatewayId + '\n');
  const owner = crypto.randomUUID();
  const namespace = namespaceFor('hangar', owner);
  const now = new Date().toISOString();
  const db = await openDatabase(dataDir);
  await db.insertInto('users').values({ id: owner, name: 'bench', role: 'admin', created_at: now }).execute();
  const o = { gatewayId, backendId: 'k8s', namespacePrefix: 'hangar', imagePullSecrets: [] };
  await core.createNamespace({
    body: {
      metadata: {
        name: namespace,
        labels: { [LABELS.managed]: 'true', [LABELS.gateway]: gatewayId, [LABELS.backend]: 'k8s' },
      },
    },
  });
  try {
    const t0 = process.hrtime.bigint();
    const ids = Array.from({ length: ENVS }, () => crypto.randomUUID());
    // Stopped envs (a started Deployment scaled to zero): rows and objects agree, as in a steady state.
    for (let i = 0; i < ids.length; i += 16) {
      await Promise.all(
        ids.slice(i, i + 16).map(async (id, j) => {
          const name = `r${i + j}`;
          const dep = deployment(spec(id, name, owner), o, namespace, {});
          dep.metadata!.annotations = { [STARTED_ANNOTATION]: 'true' };
          await apps.createNamespacedDeployment({ namespace, body: dep });
          await db
            .insertInto('environments')
            .values({
              id,
              name,
              owner_id: owner,
              deployment_mode: 'k8s_pod',
              environment_type: 'terminal',
              gpu_mode: 'none',
              storage_type: 'local',
              storage_config: null,
              lifecycle_policy: 'persistent',
              network_config: null,
              use_jumpserver: 0,
              vnc_port: null,
              vnc_password: null,
              backend_id: 'k8s',
              backend_ref: `${namespace}/deployment/${dep.metadata!.name}/${id}`,
              image: IMAGE,
              image_pull_policy: 'if-not-present',
              cpu: null,
              memory_mb: null,
              gpu_count: 0,
              gpu_device_ids: '[]',
              gpu_model: null,
              gpu_mig_profile: null,
              env_vars: '{}',
              ssh_user: 'hangar',
              host_key: null,
              jupyter_token: null,
              status: 'stopped',
              status_message: null,
              created_at: now,
              updated_at: now,
            })
            .execute();
        }),
      );
    }
    await db.destroy();
    console.log(`  (made ${ENVS} rows and Deployments directly in ${(ms(t0) / 1000).toFixed(1)} s)`);

    // The status watch's first sync: list + watch of every kind, then each env's status computed once.
    const seen = new Set<string>();
    const t1 = process.hrtime.bigint();
    await new Promise<void>((resolve) => {
      const w = new EnvWatch({
        kc,
        labelSelector: `${LABELS.managed}=true,${LABELS.gateway}=${gatewayId},${LABELS.backend}=k8s`,
        log: createLogger('silent'),
        onChange: (id) => {
          seen.add(id);
          if (seen.size === ENVS) {
            w.stop();
            resolve();
          }
        },
        onResync: () => undefined,
      });
      w.start();
    });
    console.log(
      `status watch, first sync of ${ENVS} envs (every status computed and reported): ${ms(t1).toFixed(0)} ms`,
    );

    const kubeconfig = (k8sConfig().match(/kubeconfig: (\S+)/) ?? [])[1];
    const cfg = loadConfig({ argv: ['--listen', '127.0.0.1:0', '--data-dir', dataDir, '--log-level', 'silent'] });
    cfg.backends = [
      {
        id: 'k8s',
        kind: 'kubernetes',
        kubeconfig,
        namespace_policy: 'per-user',
        namespace_prefix: 'hangar',
        image_pull_secrets: [],
        gpu_tolerations: [],
        pod_security: 'baseline',
        restricted_uid: 1000,
      },
    ];
    cfg.reconcile_interval_s = 3600;
    const server = await startServer(cfg, { log: createLogger('silent') });
    try {
      const times: number[] = [];
      let last;
      for (let i = 0; i < 5; i++) {
        const t = process.hrtime.bigint();
        [last] = await server.reconciler.run();
        times.push(ms(t));
      }
      const changed = last!.statusSynced.length + last!.markedMissing.length + last!.orphans.length;
      console.log(
        `reconcile of ${ENVS} envs (rows + Deployments): median ${median(times).toFixed(0)} ms of 5 passes (min ${Math.min(...times).toFixed(0)}, max ${Math.max(...times).toFixed(0)}); changes: ${changed}`,
      );
    } finally {
      await server.close();
    }
  } finally {
    await core.deleteNamespace({ name: namespace }).catch(() => undefined);
  }
}

async function main(): Promise<void> {
  await latency();
  await reconcile();
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
