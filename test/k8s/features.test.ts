// Kubernetes features beyond the basic shapes, on the test control plane: per-team namespaces, public Services,
// env vars from Secrets, GPU tolerations on a tainted node, waiting for capacity, and the cluster's own limits.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  PatchStrategy,
  setHeaderOptions,
  type CoreV1Api,
  type NetworkingV1Api,
  type AppsV1Api,
} from '@kubernetes/client-node';
import { HangarClient } from '../../common/client';
import { startDaemon, type TestDaemon } from '../helpers/daemon';
import {
  ensureCluster,
  eventLog,
  eventually,
  IMAGE,
  k8sApis,
  k8sConfig,
  nsOf,
  objectsOf,
  podsOf,
} from '../helpers/k8s';
import { apiError } from '../helpers/apiError';

const TAINTED = 'gpu-l4-tainted';
// A new team per run: the last run's namespace may still be terminating.
const TEAM = `vision-${crypto.randomBytes(3).toString('hex')}`;
const TEAM_NS = `hangar-team-${TEAM}`;
const plain = <T extends object>(xs: T[] | undefined) => (xs ?? []).map((x) => ({ ...x }));

describe('k8s: teams, exposure, Secrets, tolerations, capacity and limits', function () {
  this.timeout(120_000);
  let d: TestDaemon;
  let core: CoreV1Api;
  let apps: AppsV1Api;
  let net: NetworkingV1Api;
  let gatewayId: string;
  let ann: HangarClient; // in TEAM
  let bob: HangarClient; // in TEAM
  let cy: HangarClient; // no team

  before(async function () {
    this.timeout(900_000);
    ensureCluster();
    ({ core, apps, net } = k8sApis());
    d = await startDaemon({ configYaml: k8sConfig('    namespace_policy: per-team\n') });
    gatewayId = fs.readFileSync(path.join(d.dataDir, 'gateway.id'), 'utf8').trim();
    const client = async (name: string, team?: string) =>
      new HangarClient({ url: d.url, token: (await d.admin.createUser(name, 'user', team)).token });
    ann = await client('ann', TEAM);
    bob = await client('bob', TEAM);
    cy = await client('cy');
  });

  after(async () => {
    for (const e of (await d?.admin.listEnvironments().catch(() => [])) ?? [])
      await d.admin.deleteEnvironment(e.id).catch(() => undefined);
    await d?.close();
    await core.deleteNode({ name: TAINTED }).catch(() => undefined);
    const nss = await core
      .listNamespace({ labelSelector: `dev.hangar.gateway=${gatewayId}` })
      .catch(() => ({ items: [] }));
    for (const ns of nss.items) await core.deleteNamespace({ name: ns.metadata!.name! }).catch(() => undefined);
  });

  const box = (name: string, over: object = {}) => ({
    name,
    image: IMAGE,
    deployment_mode: 'k8s_pod' as const,
    environment_type: 'terminal' as const,
    backend_id: 'k8s',
    ...over,
  });

  it('namespace_policy per-team: a team shares hangar-team-<team> (labelled by us); a user without a team keeps hangar-<user>', async () => {
    const a = await ann.waitFor((await ann.createEnvironment(box('a1'))).id, ['running'], { timeoutMs: 60_000 });
    const b = await bob.waitFor((await bob.createEnvironment(box('b1'))).id, ['running'], { timeoutMs: 60_000 });
    const c = await cy.waitFor((await cy.createEnvironment(box('c1'))).id, ['running'], { timeoutMs: 60_000 });
    assert.equal(nsOf(a), TEAM_NS);
    assert.equal(nsOf(b), TEAM_NS);
    assert.match(nsOf(c), /^hangar-[a-z0-9]{8}$/);
    const team = await core.readNamespace({ name: TEAM_NS });
    assert.deepEqual(
      [
        team.metadata!.labels!['dev.hangar.managed'],
        team.metadata!.labels!['dev.hangar.gateway'],
        team.metadata!.labels!['dev.hangar.team'],
      ],
      ['true', gatewayId, TEAM],
    );
    const own = await core.readNamespace({ name: nsOf(c) });
    assert.equal(own.metadata!.labels!['dev.hangar.owner'], c.owner_id);
    assert.ok(await net.readNamespacedNetworkPolicy({ name: 'hangar-gateway-only', namespace: TEAM_NS }));
    // Each still sees only their own.
    assert.deepEqual(
      (await ann.listEnvironments()).map((e) => e.name),
      ['a1'],
    );
    for (const [client, e] of [
      [ann, a],
      [bob, b],
      [cy, c],
    ] as const)
      await client.deleteEnvironment(e.id);
  });

  it("Services: ClusterIP by default; expose node_port adds a NodePort Service and policy for SSH and the env's ports; connection info names them", async () => {
    const env = await ann.waitFor(
      (
        await ann.createEnvironment(
          box('web', {
            network_config: { expose: 'node_port', ports: [{ container_port: 8080 }] },
            environment_type: 'ide',
          }),
        )
      ).id,
      ['running'],
      { timeoutMs: 60_000 },
    );
    const [namespace, , name] = env.backend_ref!.split('/');
    const inner = await core.readNamespacedService({ name, namespace });
    assert.equal(inner.spec!.type, 'ClusterIP');
    const pub = await core.readNamespacedService({ name: `${name}-public`, namespace });
    assert.equal(pub.spec!.type, 'NodePort');
    assert.deepEqual(
      pub.spec!.ports!.map((p) => p.port),
      [22, 8080],
    ); // Jupyter (8888) stays behind the gateway
    assert.ok(pub.spec!.ports!.every((p) => p.nodePort! >= 30000 && p.nodePort! <= 32767));
    const np = await net.readNamespacedNetworkPolicy({ name: `${name}-public`, namespace });
    assert.deepEqual(np.spec!.podSelector!.matchLabels, { 'dev.hangar.env-id': env.id });
    assert.deepEqual(
      np.spec!.ingress![0].ports!.map((p) => p.port),
      [22, 8080],
    );
    const conn = await ann.connection(env.id);
    assert.equal(conn.exposed!.type, 'NodePort');
    assert.deepEqual(conn.exposed!.hosts, ['127.0.0.1']); // every kwok node's InternalIP
    assert.deepEqual(
      conn.exposed!.ports,
      pub.spec!.ports!.map((p) => ({ name: p.name, port: p.port, node_port: p.nodePort })),
    );

    const lb = await ann.waitFor(
      (await ann.createEnvironment(box('lb', { network_config: { expose: 'load_balancer' } }))).id,
      ['running'],
      { timeoutMs: 60_000 },
    );
    const lbName = lb.backend_ref!.split('/')[2];
    assert.equal(
      (await core.readNamespacedService({ name: `${lbName}-public`, namespace })).spec!.type,
      'LoadBalancer',
    );
    const lbConn = await ann.connection(lb.id);
    assert.equal(lbConn.exposed!.type, 'LoadBalancer');
    assert.deepEqual(lbConn.exposed!.hosts, []); // no load-balancer controller here: the address stays pending
    assert.equal((await ann.connection((await ann.createEnvironment(box('quiet'))).id)).exposed, undefined);

    for (const e of await ann.listEnvironments()) await ann.deleteEnvironment(e.id);
    await eventually(
      async () => (await objectsOf(namespace, env.id)).length === 0,
      'public Service and policy removed with the env',
    );
  });

  it("env_vars_from_secrets: the pod reads them with secretKeyRef from a Secret in the env's namespace", async () => {
    await core.createNamespacedSecret({
      namespace: TEAM_NS,
      body: { metadata: { name: 'wandb' }, stringData: { 'api-key': 'not-for-the-daemon' } },
    });
    const env = await ann.waitFor(
      (
        await ann.createEnvironment(
          box('secrets', {
            env_vars: { PLAIN: '1' },
            env_vars_from_secrets: { WANDB_API_KEY: { secret: 'wandb', key: 'api-key' } },
          }),
        )
      ).id,
      ['running'],
      { timeoutMs: 60_000 },
    );
    assert.deepEqual(env.env_vars_from_secrets, { WANDB_API_KEY: { secret: 'wandb', key: 'api-key' } });
    const [pod] = await podsOf(env);
    const vars = pod.spec!.containers[0].env!;
    assert.equal(vars.find((v) => v.name === 'PLAIN')!.value, '1');
    const ref = vars.find((v) => v.name === 'WANDB_API_KEY')!;
    assert.equal(ref.value, undefined);
    assert.deepEqual({ ...ref.valueFrom!.secretKeyRef! }, { name: 'wandb', key: 'api-key' });
    assert.ok(!JSON.stringify(await ann.getEnvironment(env.id)).includes('not-for-the-daemon'));
    await ann.deleteEnvironment(env.id);
    // The user's own Secret is not ours to delete.
    assert.ok(await core.readNamespacedSecret({ name: 'wandb', namespace: TEAM_NS }));
  });

  it("tolerations: GPU pods tolerate nvidia.com/gpu NoSchedule and land on a tainted GPU node; without them they wait with the scheduler's reason", async () => {
    await core.createNode({
      body: {
        metadata: {
          name: TAINTED,
          annotations: { 'kwok.x-k8s.io/node': 'fake' },
          labels: {
            'kubernetes.io/hostname': TAINTED,
            type: 'kwok',
            'nvidia.com/gpu.product': 'NVIDIA-L4',
            'nvidia.com/gpu.present': 'true',
          },
        },
        spec: { taints: [{ key: 'nvidia.com/gpu', value: 'present', effect: 'NoSchedule' }] },
      },
    });
    const resources = { cpu: '16', memory: '64Gi', pods: '110', 'nvidia.com/gpu': '4' };
    await core.patchNodeStatus(
      {
        name: TAINTED,
        body: {
          status: {
            capacity: resources,
            allocatable: resources,
            addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
          },
        },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await eventually(async () => {
      const n = await core.readNode({ name: TAINTED });
      return (
        n.status?.allocatable?.['nvidia.com/gpu'] === '4' &&
        n.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')
      );
    }, 'the tainted node Ready with 4 GPUs');

    const env = await cy.waitFor(
      (await cy.createEnvironment(box('l4', { gpu_mode: 'exclusive', gpu_count: 1, gpu_model: 'L4' }))).id,
      ['running'],
      { timeoutMs: 60_000 },
    );
    const [pod] = await podsOf(env);
    assert.equal(pod.spec!.nodeName, TAINTED);
    assert.ok(
      plain(pod.spec!.tolerations).some(
        (t) => t.key === 'nvidia.com/gpu' && t.operator === 'Exists' && t.effect === 'NoSchedule',
      ),
    );
    await cy.deleteEnvironment(env.id);

    // A backend configured with no GPU tolerations: the scheduler refuses the taint, and says so.
    const strict = await startDaemon({ configYaml: k8sConfig('    gpu_tolerations: []\n') });
    try {
      const e = await strict.admin.waitFor(
        (
          await strict.admin.createEnvironment(
            box('l4-strict', { gpu_mode: 'exclusive', gpu_count: 1, gpu_model: 'L4' }),
          )
        ).id,
        ['pending'],
        { timeoutMs: 60_000 },
      );
      assert.match(e.status_message ?? '', /1 node\(s\) had untolerated taint/);
      assert.equal((await podsOf(e))[0].spec!.tolerations?.some((t) => t.key === 'nvidia.com/gpu') ?? false, false);
      await strict.admin.deleteEnvironment(e.id);
    } finally {
      const strictGateway = fs.readFileSync(path.join(strict.dataDir, 'gateway.id'), 'utf8').trim();
      await strict.close();
      await core.deleteNode({ name: TAINTED });
      for (const ns of (await core.listNamespace({ labelSelector: `dev.hangar.gateway=${strictGateway}` })).items)
        await core.deleteNamespace({ name: ns.metadata!.name! }).catch(() => undefined);
    }
  });

  it('waiting for capacity: pending while the H100 node is full, running (pushed on the event stream) once it frees', async () => {
    const log = await eventLog(d.url, d.token);
    try {
      const blocker = await d.admin.waitFor(
        (await d.admin.createEnvironment(box('blocker', { gpu_mode: 'exclusive', gpu_count: 8, gpu_model: 'H100' })))
          .id,
        ['running'],
        { timeoutMs: 60_000 },
      );
      const waiter = await d.admin.waitFor(
        (await d.admin.createEnvironment(box('waiter', { gpu_mode: 'exclusive', gpu_count: 1, gpu_model: 'H100' }))).id,
        ['pending'],
        { timeoutMs: 60_000 },
      );
      assert.match(waiter.status_message ?? '', /Insufficient nvidia\.com\/gpu/);
      await d.admin.deleteEnvironment(blocker.id);
      const running = await d.admin.waitFor(waiter.id, ['running'], { timeoutMs: 60_000 });
      assert.equal((await podsOf(running))[0].spec!.nodeName, 'gpu-h100-0');
      const seen = log.events
        .filter((e) => e.environment_id === waiter.id && e.type === 'environment.status')
        .map((e) => e.status);
      assert.deepEqual(seen.slice(-2), ['pending', 'running']);
      await d.admin.deleteEnvironment(waiter.id);
    } finally {
      log.close();
    }
  });

  it("limits the cluster enforces (LimitRange, ResourceQuota) refuse the create with the API server's message; nothing is recorded", async () => {
    const namespace = TEAM_NS;
    await core.createNamespacedLimitRange({
      namespace,
      body: { metadata: { name: 'max-cpu' }, spec: { limits: [{ type: 'Container', max: { cpu: '1' } }] } },
    });
    await core.createNamespacedResourceQuota({
      namespace,
      body: { metadata: { name: 'gpus' }, spec: { hard: { 'requests.nvidia.com/gpu': '1' } } },
    });
    try {
      const cpu = await apiError(ann.createEnvironment(box('too-big', { cpu: 2 })));
      assert.equal(cpu.status, 422);
      assert.match(
        cpu.message,
        /backend 'k8s' refused the pod: pods "too-big-[0-9a-f]{8}" is forbidden: maximum cpu usage per Container is 1, but limit is 2/,
      );
      // The quota controller fills in what is used before admission counts against it.
      await eventually(
        async () => (await core.readNamespacedResourceQuota({ name: 'gpus', namespace })).status?.hard,
        'quota status',
      );
      const gpu = await apiError(ann.createEnvironment(box('too-many', { gpu_mode: 'exclusive', gpu_count: 2 })));
      assert.equal(gpu.status, 422);
      assert.match(
        gpu.message,
        /exceeded quota: gpus, requested: requests\.nvidia\.com\/gpu=2, used: requests\.nvidia\.com\/gpu=0, limited: requests\.nvidia\.com\/gpu=1/,
      );
      assert.deepEqual(
        (await ann.listEnvironments()).map((e) => e.name),
        [],
      );
      assert.equal((await apps.listNamespacedDeployment({ namespace })).items.length, 0);
      // Within the limits: fine.
      const ok = await ann.waitFor(
        (await ann.createEnvironment(box('fits', { cpu: 1, gpu_mode: 'exclusive', gpu_count: 1 }))).id,
        ['running'],
        { timeoutMs: 60_000 },
      );
      await ann.deleteEnvironment(ok.id);
    } finally {
      await core.deleteNamespacedLimitRange({ name: 'max-cpu', namespace }).catch(() => undefined);
      await core.deleteNamespacedResourceQuota({ name: 'gpus', namespace }).catch(() => undefined);
    }
  });
});
