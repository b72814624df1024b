// Lifecycle policies on the test Kubernetes cluster (moved clock): an idle on_demand Deployment is scaled to 0 and
// kept; an ephemeral one is deleted once stopped, its objects gone.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { ManualClock } from '../../daemon/environments/clock';
import { startDaemon, type TestDaemon } from '../helpers/daemon';
import { ensureCluster, eventually, IMAGE, k8sApis, k8sConfig } from '../helpers/k8s';

const MIN = 60_000;

describe('lifecycle: policies on Kubernetes (moved clock)', function () {
  this.timeout(180_000);
  let d: TestDaemon;
  let core: CoreV1Api;
  let apps: AppsV1Api;
  let gatewayId: string;
  const clock = new ManualClock();
  const pod = {
    image: IMAGE,
    deployment_mode: 'k8s_pod' as const,
    environment_type: 'terminal' as const,
    backend_id: 'k8s',
  };

  before(async function () {
    this.timeout(900_000);
    ensureCluster();
    ({ core, apps } = k8sApis());
    d = await startDaemon({ configYaml: 'lifecycle:\n  interval_s: 3600\n' + k8sConfig(), clock });
    gatewayId = fs.readFileSync(path.join(d.dataDir, 'gateway.id'), 'utf8').trim();
  });
  after(async () => {
    for (const e of (await d?.admin.listEnvironments().catch(() => [])) ?? [])
      await d.admin.deleteEnvironment(e.id).catch(() => undefined);
    await d?.close();
    const nss = await core
      .listNamespace({ labelSelector: `dev.hangar.gateway=${gatewayId}` })
      .catch(() => ({ items: [] }));
    for (const ns of nss.items) await core.deleteNamespace({ name: ns.metadata!.name! }).catch(() => undefined);
  });

  it('on_demand: idle 30 min → stopped (Deployment scaled to 0, kept), with the reason', async () => {
    const created = await d.admin.createEnvironment({ ...pod, name: 'k8s-od', lifecycle_policy: 'on_demand' });
    const env = await d.admin.waitFor(created.id, ['running'], { timeoutMs: 60_000 });
    assert.equal((await d.admin.getEnvironment(env.id)).next_action!.reason, 'idle 30 min');
    clock.advance(31 * MIN);
    assert.deepEqual(
      (await d.server.envs.autopilot.tick()).done.map((x) => x.action),
      ['stop'],
    );
    const stopped = await d.admin.getEnvironment(env.id);
    assert.equal(stopped.status, 'stopped');
    assert.equal(stopped.status_message, 'stopped by the lifecycle: idle 30 min');
    const [namespace, , name] = env.backend_ref!.split('/');
    assert.equal((await apps.readNamespacedDeployment({ name, namespace })).spec!.replicas, 0);
  });

  it('ephemeral: stopped → deleted, the Deployment gone', async () => {
    const created = await d.admin.createEnvironment({ ...pod, name: 'k8s-eph', lifecycle_policy: 'ephemeral' });
    const env = await d.admin.waitFor(created.id, ['running'], { timeoutMs: 60_000 });
    await d.admin.action(env.id, 'stop');
    assert.deepEqual(
      (await d.server.envs.autopilot.tick()).done.map((x) => x.reason),
      ['ephemeral: stopped'],
    );
    const [namespace, , name] = env.backend_ref!.split('/');
    await eventually(async () => {
      try {
        await apps.readNamespacedDeployment({ name, namespace });
        return false;
      } catch {
        return true;
      }
    }, 'the Deployment deleted');
    assert.equal(
      (await d.admin.listEnvironments()).some((e) => e.id === env.id),
      false,
    );
  });
});
