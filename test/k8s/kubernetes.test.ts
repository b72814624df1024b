// The Kubernetes backend end to end against the real test control plane (test/setup/k8s-cluster.sh: a real
// kube-apiserver, scheduler and controller-manager; kwok fake GPU nodes run the pods). Traffic only to 127.0.0.1.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, NetworkingV1Api } from '@kubernetes/client-node';
import type { Environment } from '../../common/model';
import { startDaemon, type TestDaemon } from '../helpers/daemon';
import {
  ENV_ID,
  ensureCluster,
  eventLog,
  eventually,
  IMAGE,
  k8sApis,
  k8sConfig,
  KUBECONFIG,
  nsOf,
  objectsOf,
  podsOf,
} from '../helpers/k8s';
import { apiError } from '../helpers/apiError';

let core: CoreV1Api;
let apps: AppsV1Api;
let netApi: NetworkingV1Api;
let custom: CustomObjectsApi;

describe('k8s: Kubernetes backend on the test control plane', function () {
  this.timeout(180_000);
  let d: TestDaemon;
  let gatewayId: string;

  before(async function () {
    this.timeout(900_000);
    ensureCluster();
    const k = k8sApis();
    ({ core, apps } = k);
    netApi = k.net;
    custom = k.kc.makeApiClient(CustomObjectsApi);
    d = await startDaemon({ configYaml: k8sConfig() });
    gatewayId = fs.readFileSync(path.join(d.dataDir, 'gateway.id'), 'utf8').trim();
  });

  after(async () => {
    for (const e of (await d?.admin.listEnvironments().catch(() => [])) ?? [])
      await d.admin.deleteEnvironment(e.id).catch(() => undefined);
    await d?.close();
    // This run's namespaces (the gateway id is new for every data dir).
    if (gatewayId) {
      const nss = await core
        .listNamespace({ labelSelector: `dev.hangar.gateway=${gatewayId}` })
        .catch(() => ({ items: [] }));
      for (const ns of nss.items) await core.deleteNamespace({ name: ns.metadata!.name! }).catch(() => undefined);
    }
  });

  it('reports the cluster version through /backends', async () => {
    const b = (await d.admin.backends()).find((x) => x.id === 'k8s')!;
    assert.equal(b.kind, 'kubernetes');
    assert.equal(b.available, true, JSON.stringify(b));
    assert.match(b.version ?? '', /^v1\.37\.2/);
  });

  let h100: Environment;
  it('k8s_pod: a Deployment with limits, env vars, a hardened pod, boot Secret, Service, NetworkPolicy; 2× H100 lands on gpu-h100-0', async () => {
    const created = await d.admin.createEnvironment({
      name: 'k8s-h100',
      image: IMAGE,
      deployment_mode: 'k8s_pod',
      environment_type: 'terminal',
      backend_id: 'k8s',
      gpu_mode: 'exclusive',
      gpu_count: 2,
      gpu_model: 'H100',
      cpu: 0.5,
      memory_mb: 256,
      env_vars: { GREETING: 'hello world' },
      image_pull_policy: 'if-not-present',
    });
    h100 = await d.admin.waitFor(created.id, ['running'], { timeoutMs: 60_000 });
    const [namespace, kind, name, envId] = h100.backend_ref!.split('/');
    assert.equal(kind, 'deployment');
    assert.equal(envId, h100.id);
    assert.match(namespace, /^hangar-[a-z0-9]{1,8}$/);

    const ns = await core.readNamespace({ name: namespace });
    assert.equal(ns.metadata!.labels!['dev.hangar.managed'], 'true');
    assert.equal(ns.metadata!.labels!['dev.hangar.gateway'], gatewayId);
    const np = await netApi.readNamespacedNetworkPolicy({ name: 'hangar-gateway-only', namespace });
    assert.deepEqual(np.spec!.policyTypes, ['Ingress']);
    assert.deepEqual(np.spec!.ingress![0]._from![0].podSelector!.matchLabels, { 'dev.hangar.gateway': gatewayId });

    const dep = await apps.readNamespacedDeployment({ name, namespace });
    assert.equal(dep.spec!.replicas, 1);
    assert.equal(dep.spec!.strategy!.type, 'Recreate');
    for (const labels of [dep.metadata!.labels!, dep.spec!.template.metadata!.labels!]) {
      assert.equal(labels['dev.hangar.managed'], 'true');
      assert.equal(labels['dev.hangar.gateway'], gatewayId);
      assert.equal(labels['dev.hangar.backend'], 'k8s');
      assert.equal(labels[ENV_ID], h100.id);
      assert.equal(labels['dev.hangar.env-name'], 'k8s-h100');
      assert.equal(labels['dev.hangar.owner'], h100.owner_id);
    }
    const pod = dep.spec!.template.spec!;
    const c = pod.containers[0];
    assert.deepEqual(c.resources!.limits, { 'nvidia.com/gpu': '2', cpu: '500m', memory: '256Mi' });
    assert.deepEqual(c.resources!.requests, c.resources!.limits);
    assert.deepEqual(pod.nodeSelector, { 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3' });
    assert.equal(c.image, IMAGE);
    assert.equal(c.imagePullPolicy, 'IfNotPresent');
    assert.deepEqual(c.command!.slice(-2), ['/bin/sh', '/.hangar/init.sh']);
    assert.ok(c.env!.some((e) => e.name === 'GREETING' && e.value === 'hello world'));
    assert.equal(c.securityContext!.allowPrivilegeEscalation, false);
    assert.equal(c.securityContext!.privileged, false);
    assert.deepEqual(c.securityContext!.capabilities!.drop, ['ALL']);
    assert.ok(c.securityContext!.capabilities!.add!.includes('SETUID'));
    assert.ok(!c.securityContext!.capabilities!.add!.includes('SYS_ADMIN'));
    assert.equal(c.securityContext!.seccompProfile!.type, 'RuntimeDefault');
    assert.equal(pod.securityContext!.seccompProfile!.type, 'RuntimeDefault');
    assert.equal(pod.automountServiceAccountToken, false);
    assert.deepEqual(c.readinessProbe!.tcpSocket!.port, 22);
    // Boot files: a Secret, projected with their modes.
    const secretVol = pod.volumes!.find((v) => v.secret)!.secret!;
    const secret = await core.readNamespacedSecret({ name: secretVol.secretName!, namespace });
    assert.equal(secret.metadata!.labels![ENV_ID], h100.id);
    assert.ok(Buffer.from(secret.data!['init.sh'], 'base64').toString().startsWith('#!/bin/sh'));
    const modes = Buffer.from(secret.data!['.modes'], 'base64').toString();
    assert.match(modes, /^init\.sh 755$/m);
    assert.match(modes, /^ssh_host_ed25519_key 600$/m);
    assert.equal(secretVol.defaultMode, 0o400);
    assert.ok(c.volumeMounts!.some((m) => m.mountPath === '/run/hangar/boot' && m.readOnly));
    assert.ok(c.volumeMounts!.some((m) => m.mountPath === '/.hangar'));
    const svc = await core.readNamespacedService({ name, namespace });
    assert.equal(svc.spec!.type, 'ClusterIP');
    assert.deepEqual(
      svc.spec!.ports!.map((p) => p.port).sort((a, b) => a - b),
      [22, 5901, 8888],
    );
    assert.equal(svc.metadata!.labels![ENV_ID], h100.id);

    const pods = await podsOf(h100);
    assert.equal(pods.length, 1);
    assert.equal(pods[0].spec!.nodeName, 'gpu-h100-0');
  });

  it('gpu_mode mig: resource nvidia.com/mig-<profile>, lands on the MIG node', async () => {
    const created = await d.admin.createEnvironment({
      name: 'k8s-mig',
      image: IMAGE,
      deployment_mode: 'k8s_pod',
      environment_type: 'terminal',
      backend_id: 'k8s',
      gpu_mode: 'mig',
      gpu_count: 1,
      gpu_mig_profile: '1g.10gb',
    });
    const env = await d.admin.waitFor(created.id, ['running'], { timeoutMs: 60_000 });
    const [namespace, , name] = env.backend_ref!.split('/');
    const dep = await apps.readNamespacedDeployment({ name, namespace });
    assert.deepEqual(dep.spec!.template.spec!.containers[0].resources!.limits, { 'nvidia.com/mig-1g.10gb': '1' });
    assert.equal((await podsOf(env))[0].spec!.nodeName, 'gpu-a100-mig-0');
    await d.admin.deleteEnvironment(env.id);
  });

  it("9 GPUs on 8-GPU nodes: pending with the scheduler's reason (GET and the event stream); delete cleans up", async () => {
    const log = await eventLog(d.url, d.token);
    try {
      const created = await d.admin.createEnvironment({
        name: 'k8s-nine',
        image: IMAGE,
        deployment_mode: 'k8s_pod',
        environment_type: 'terminal',
        backend_id: 'k8s',
        gpu_mode: 'exclusive',
        gpu_count: 9,
      });
      assert.equal(created.status, 'creating'); // the API answers before the cluster does
      const env = await d.admin.waitFor(created.id, ['pending'], { timeoutMs: 60_000 });
      assert.match(env.status_message ?? '', /0\/5 nodes are available: .*Insufficient nvidia\.com\/gpu/);
      assert.ok(env.backend_ref);
      const ev = await log.next((e) => e.environment_id === env.id && e.status === 'pending', 'pending');
      assert.equal(ev.type, 'environment.status');
      assert.match(ev.message ?? '', /Insufficient nvidia\.com\/gpu/);
      // The pod is there, unbound, as the scheduler left it; a reconcile keeps the env waiting.
      const [pod] = await podsOf(env);
      assert.equal(pod.spec!.nodeName, undefined);
      assert.equal(pod.status!.conditions!.find((c) => c.type === 'PodScheduled')!.reason, 'Unschedulable');
      await d.server.reconciler.run();
      assert.equal((await d.admin.getEnvironment(env.id)).status, 'pending');
      assert.ok(
        !log.events.some((e) => e.environment_id === env.id && (e.status === 'running' || e.status === 'failed')),
      );
      await d.admin.deleteEnvironment(env.id);
      await eventually(async () => (await objectsOf(nsOf(env), env.id)).length === 0, 'no objects of the deleted env');
    } finally {
      log.close();
    }
  });

  it('a GPU model no node has: failed, naming the models the cluster has', async () => {
    const created = await d.admin.createEnvironment({
      name: 'k8s-v100',
      image: IMAGE,
      deployment_mode: 'k8s_pod',
      environment_type: 'terminal',
      backend_id: 'k8s',
      gpu_mode: 'exclusive',
      gpu_count: 1,
      gpu_model: 'V100',
    });
    await apiError(d.admin.waitFor(created.id, ['running'], { timeoutMs: 30_000 }));
    const env = await d.admin.getEnvironment(created.id);
    assert.equal(env.status, 'failed');
    assert.match(
      env.status_message ?? '',
      /no node of backend 'k8s' has GPU model 'V100' \(nvidia\.com\/gpu\.product: NVIDIA-A100-SXM4-80GB, NVIDIA-H100-80GB-HBM3\)/,
    );
    assert.deepEqual(await objectsOf(nsOf(h100), env.id), []);
    await d.admin.deleteEnvironment(env.id);
  });

  it('create is idempotent per env id, and findByEnvId finds the workload', async () => {
    const driver = d.server.drivers.get('k8s');
    assert.equal(await driver.findByEnvId(h100.id), h100.backend_ref);
    assert.equal(await driver.findByEnvId('00000000-0000-0000-0000-000000000000'), undefined);
    const again = await driver.create({
      envId: h100.id,
      name: h100.name,
      owner: h100.owner_id,
      image: IMAGE,
      pullPolicy: 'if-not-present',
      cpu: null,
      memoryMb: null,
      env: {},
      ports: [],
      mounts: [],
      gpus: { mode: 'none', deviceIds: [], count: 0 },
      files: [],
      command: ['/bin/sh', '/.hangar/init.sh'],
    });
    assert.equal(again, h100.backend_ref);
    assert.equal((await driver.inspect(h100.backend_ref!)).state, 'running');
  });

  let stateful: Environment;
  it('k8s_stateful: a StatefulSet whose /home claim is Bound; stop → replicas 0, start → 1', async () => {
    const created = await d.admin.createEnvironment({
      name: 'k8s-sts',
      image: IMAGE,
      deployment_mode: 'k8s_stateful',
      environment_type: 'terminal',
      backend_id: 'k8s',
      gpu_mode: 'exclusive',
      gpu_count: 1,
      gpu_model: 'A100',
    });
    stateful = await d.admin.waitFor(created.id, ['running'], { timeoutMs: 60_000 });
    const [namespace, kind, name] = stateful.backend_ref!.split('/');
    assert.equal(kind, 'statefulset');
    const sts = await apps.readNamespacedStatefulSet({ name, namespace });
    assert.equal(sts.spec!.replicas, 1);
    assert.equal(sts.spec!.volumeClaimTemplates![0].metadata!.name, 'home');
    assert.ok(
      sts.spec!.template.spec!.containers[0].volumeMounts!.some((m) => m.name === 'home' && m.mountPath === '/home'),
    );
    assert.deepEqual(sts.spec!.template.spec!.nodeSelector, { 'nvidia.com/gpu.product': 'NVIDIA-A100-SXM4-80GB' });
    const pvc = await eventually(async () => {
      const p = await core.readNamespacedPersistentVolumeClaim({ name: `home-${name}-0`, namespace });
      return p.status?.phase === 'Bound' ? p : undefined;
    }, 'PVC Bound');
    assert.equal(pvc.spec!.storageClassName, 'standard');
    assert.equal(pvc.metadata!.labels![ENV_ID], stateful.id);
    assert.match((await podsOf(stateful))[0].spec!.nodeName!, /^gpu-a100-[01]$/);

    const stopped = await d.admin.action(stateful.id, 'stop');
    assert.equal(stopped.status, 'stopped');
    assert.equal((await apps.readNamespacedStatefulSet({ name, namespace })).spec!.replicas, 0);
    assert.equal((await podsOf(stateful)).length, 0);
    assert.equal(
      (await core.readNamespacedPersistentVolumeClaim({ name: `home-${name}-0`, namespace })).status!.phase,
      'Bound',
    );

    const started = await d.admin.action(stateful.id, 'start');
    assert.equal(started.status, 'running');
    assert.equal((await apps.readNamespacedStatefulSet({ name, namespace })).spec!.replicas, 1);
    assert.equal((await podsOf(stateful)).length, 1);
  });

  it('reconcile agrees with the cluster: nothing resynced, nothing orphaned', async () => {
    const reports = await d.server.reconciler.run();
    const r = reports.find((x) => x.backend === 'k8s')!;
    assert.equal(r.available, true);
    assert.deepEqual([r.statusSynced, r.orphans, r.markedMissing], [[], [], []]);
    assert.equal((await d.admin.getEnvironment(stateful.id)).status, 'running');
    assert.equal((await d.admin.getEnvironment(h100.id)).status, 'running');
  });

  it('restart rolls the pod (a new one becomes Ready)', async () => {
    const before = (await podsOf(h100))[0].metadata!.uid;
    const env = await d.admin.action(h100.id, 'restart');
    assert.equal(env.status, 'running');
    const pods = await podsOf(h100);
    assert.equal(pods.length, 1);
    assert.notEqual(pods[0].metadata!.uid, before);
  });

  it("the tunnel reaches the pod through the API server's port-forward (kwok PortForward → a 127.0.0.1 server)", async () => {
    const server = net.createServer((s) => {
      s.write('SSH-2.0-kwok-forward\r\n');
      s.on('data', (c) => s.write(c));
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const namespace = nsOf(h100);
    const pod = (await podsOf(h100))[0].metadata!.name!;
    try {
      // Without a PortForward object kwok has nowhere to send it: the API server's stream says so.
      const driver = d.server.drivers.get('k8s');
      const s0 = await driver.openPort(h100.backend_ref!, 22);
      const failure = await new Promise<string>((resolve) => {
        s0.on('error', (e) => resolve(e.message));
        s0.on('data', () => resolve('data?'));
        s0.on('end', () => resolve('end'));
      });
      assert.match(failure, /no forward found for port 22/);

      await custom.createNamespacedCustomObject({
        group: 'kwok.x-k8s.io',
        version: 'v1alpha1',
        namespace,
        plural: 'portforwards',
        body: {
          apiVersion: 'kwok.x-k8s.io/v1alpha1',
          kind: 'PortForward',
          metadata: { name: pod, namespace },
          spec: { forwards: [{ ports: [22], target: { address: '127.0.0.1', port } }] },
        },
      });
      await new Promise((r) => setTimeout(r, 1000)); // kwok's watch
      const tunnel = new WebSocket(`${d.url.replace('http', 'ws')}/api/v1/environments/${h100.id}/tunnel?port=22`, {
        headers: { authorization: `Bearer ${d.token}` },
      });
      const received: Buffer[] = [];
      tunnel.on('message', (m: Buffer) => received.push(Buffer.from(m)));
      await new Promise((r, j) => {
        tunnel.once('open', r);
        tunnel.once('error', j);
      });
      await eventually(
        async () => Buffer.concat(received).toString().includes('SSH-2.0-kwok-forward'),
        'the banner through the tunnel',
        10_000,
      );
      tunnel.send(Buffer.from('ping-through-apiserver'));
      await eventually(
        async () => Buffer.concat(received).toString().includes('ping-through-apiserver'),
        'the echo through the tunnel',
        10_000,
      );
      tunnel.close();
    } finally {
      server.close();
      await custom
        .deleteNamespacedCustomObject({
          group: 'kwok.x-k8s.io',
          version: 'v1alpha1',
          namespace,
          plural: 'portforwards',
          name: pod,
        })
        .catch(() => undefined);
    }
  });

  it("logs and exec: the API server's message comes through (kwok has no kubelet logs or exec)", async () => {
    const driver = d.server.drivers.get('k8s');
    for (const follow of [false, true]) {
      const e = await driver.logs(h100.backend_ref!, { tail: 5, follow }).then(
        () => undefined,
        (x: Error) => x,
      );
      assert.ok(e, 'logs should fail on kwok');
      assert.match(e!.message, /logs of pod \S+ are not available: no logs found for container "env" in pod/);
    }
    const res = await fetch(`${d.url}/api/v1/environments/${h100.id}/logs?tail=5`, {
      headers: { authorization: `Bearer ${d.token}` },
    });
    assert.equal(res.status, 422);
    assert.match(await res.text(), /no logs found for container/);
    const x = await driver.exec(h100.backend_ref!, ['true']).then(
      () => undefined,
      (e: Error) => e,
    );
    assert.match(x?.message ?? '', /exec in pod \S+ failed: .*no exec found for container "env"/);
  });

  it('writeFiles (authorized_keys after a key change) updates the boot Secret, modes included', async () => {
    const [namespace, , name] = h100.backend_ref!.split('/');
    const before = await apps.readNamespacedDeployment({ name, namespace });
    await d.server.drivers.get('k8s').writeFiles(h100.backend_ref!, [
      {
        path: '/.hangar/authorized_keys',
        content: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHangarTestKey test\n',
        mode: 0o644,
      },
      { path: '/.hangar/extra', content: 'x', mode: 0o640 },
    ]);
    const secret = await core.readNamespacedSecret({ name: `${name}-boot`, namespace });
    assert.match(Buffer.from(secret.data!.authorized_keys, 'base64').toString(), /HangarTestKey/);
    assert.equal(Buffer.from(secret.data!.extra, 'base64').toString(), 'x');
    const modes = Buffer.from(secret.data!['.modes'], 'base64').toString();
    assert.match(modes, /^extra 640$/m);
    assert.match(modes, /^init\.sh 755$/m);
    // No rollout: the running pod is left alone.
    assert.equal(
      (await apps.readNamespacedDeployment({ name, namespace })).metadata!.generation,
      before.metadata!.generation,
    );
  });

  it('inventory: one row per node and GPU resource, with the product label as model and what pods use', async () => {
    const [r] = await d.server.gpus.refresh('k8s');
    assert.equal(r.error, undefined);
    const gpus = await d.server.gpus.list({ backend: 'k8s' });
    const h = gpus.find((g) => g.id === 'gpu-h100-0/nvidia.com/gpu')!;
    assert.equal(h.kind, 'k8s');
    assert.equal(h.capacity, 8);
    // k8s-h100's pod holds 2 of them (the scheduler's decision, read back from the pods on the node).
    assert.equal(h.used, 2);
    assert.equal(h.free, 6);
    assert.equal(h.model, 'NVIDIA-H100-80GB-HBM3');
    assert.equal(h.node, 'gpu-h100-0');
    const mig = gpus.find((g) => g.id === 'gpu-a100-mig-0/nvidia.com/mig-1g.10gb')!;
    assert.equal(mig.capacity, 7);
    assert.equal(mig.profile, 'nvidia.com/mig-1g.10gb');
    assert.ok(
      gpus.some((g) => g.id === 'gpu-a100-0/nvidia.com/gpu') && gpus.some((g) => g.id === 'gpu-a100-1/nvidia.com/gpu'),
    );
    assert.ok(!gpus.some((g) => g.node === 'cpu-0'));
  });

  it('delete removes every object of the env and nothing else', async () => {
    const namespace = nsOf(h100);
    // Someone else's object in the same namespace, without our labels: must survive.
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'bystander' }, data: { a: 'b' } } });
    assert.ok((await objectsOf(namespace, stateful.id)).some((o) => o.startsWith('pvc/')));
    await d.admin.deleteEnvironment(h100.id);
    await d.admin.deleteEnvironment(stateful.id);
    await eventually(
      async () =>
        (await objectsOf(namespace, h100.id)).length === 0 && (await objectsOf(namespace, stateful.id)).length === 0,
      'no objects of the deleted envs',
    );
    assert.equal((await core.readNamespacedConfigMap({ name: 'bystander', namespace })).data!.a, 'b');
    assert.ok(await netApi.readNamespacedNetworkPolicy({ name: 'hangar-gateway-only', namespace }));
    assert.equal((await core.readNamespace({ name: namespace })).status!.phase, 'Active');
  });

  it('API server unreachable: 503 naming the backend', async () => {
    // A port that refuses connections: bind one, then close it.
    const dead = net.createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const port = (dead.address() as net.AddressInfo).port;
    await new Promise((r) => dead.close(r));
    const copy = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'hangar-kc-')), 'kubeconfig');
    fs.writeFileSync(
      copy,
      fs.readFileSync(KUBECONFIG, 'utf8').replace('https://127.0.0.1:16443', `https://127.0.0.1:${port}`),
    );
    const down = await startDaemon({
      configYaml: `backends:\n  - id: k8s-down\n    kind: kubernetes\n    kubeconfig: ${copy}\n`,
    });
    try {
      const e = await apiError(
        down.admin.createEnvironment({
          name: 'nope',
          image: IMAGE,
          deployment_mode: 'k8s_pod',
          environment_type: 'terminal',
        }),
      );
      assert.equal(e.status, 503);
      assert.match(e.message, /backend 'k8s-down' is unavailable/);
      const b = (await down.admin.backends()).find((x) => x.id === 'k8s-down')!;
      assert.equal(b.available, false);
    } finally {
      await down.close();
      fs.rmSync(path.dirname(copy), { recursive: true, force: true });
    }
  });
});
