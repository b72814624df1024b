// Durable provisioning on Kubernetes: kill -9 the daemon mid-create (the real process, as test/docker does),
// restart it, and the env ends up running from exactly one set of objects; objects with this gateway's labels
// and no row are removed.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { spawnDaemon, type ChildDaemon } from '../helpers/daemon';
import { ensureCluster, eventually, IMAGE, k8sApis, k8sConfig } from '../helpers/k8s';
import { tmpDir } from '../helpers/tmp';

describe('k8s: kill -9 mid-create', function () {
  this.timeout(180_000);
  let core: CoreV1Api;
  let apps: AppsV1Api;

  before(function () {
    this.timeout(900_000);
    ensureCluster();
    ({ core, apps } = k8sApis());
  });

  const ours = (gatewayId: string) => `dev.hangar.gateway=${gatewayId}`;

  for (const when of ['right after the API answered', 'once the Deployment exists']) {
    it(`kill -9 ${when}: after restart one Deployment runs the env, its boot Secret holds the recorded host key; a stray object is listed, never removed, until an admin removes it`, async () => {
      const dataDir = tmpDir('hangard-k8s-kill-');
      const config = path.join(dataDir, 'hangar.yaml');
      fs.writeFileSync(config, k8sConfig());
      const start = () => spawnDaemon(dataDir, ['--config', config]);
      let daemon: ChildDaemon = await start();
      const gatewayId = fs.readFileSync(path.join(dataDir, 'gateway.id'), 'utf8').trim();
      try {
        const env = await daemon.admin.createEnvironment({
          name: 'durable',
          image: IMAGE,
          deployment_mode: 'k8s_pod',
          environment_type: 'terminal',
          backend_id: 'k8s',
        });
        if (when.startsWith('once')) {
          const deadline = Date.now() + 30_000;
          while (
            (await apps.listDeploymentForAllNamespaces({ labelSelector: `dev.hangar.env-id=${env.id}` })).items
              .length === 0 &&
            Date.now() < deadline
          )
            await new Promise((r) => setTimeout(r, 10));
        }
        await daemon.kill('SIGKILL');
        // Labels of this gateway and no row (what a restored database leaves): kept and listed, never removed automatically.
        const namespace = (await core.listNamespace({ labelSelector: ours(gatewayId) })).items[0]?.metadata?.name;
        const stray = '00000000-0000-4000-8000-000000000000';
        if (namespace) {
          const labels = {
            'dev.hangar.managed': 'true',
            'dev.hangar.gateway': gatewayId,
            'dev.hangar.backend': 'k8s',
            'dev.hangar.env-id': stray,
          };
          await apps.createNamespacedDeployment({
            namespace,
            body: {
              metadata: { name: 'stray', labels },
              spec: {
                replicas: 0,
                selector: { matchLabels: { 'dev.hangar.env-id': stray } },
                template: { metadata: { labels }, spec: { containers: [{ name: 'env', image: IMAGE }] } },
              },
            },
          });
          await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'stray-boot', labels } } });
        }

        daemon = await start();
        const running = await daemon.admin.waitFor(env.id, ['running'], { timeoutMs: 90_000 });
        const [ns, , name] = running.backend_ref!.split('/');
        if (namespace) {
          const orphans = await daemon.admin.orphans();
          assert.deepEqual(
            orphans.map((o) => [o.ref, o.adoptable]),
            [[stray, false]],
          );
          assert.equal(
            (await apps.listDeploymentForAllNamespaces({ labelSelector: ours(gatewayId) })).items.length,
            2,
            'the stray Deployment is still there after the start-up reconcile',
          );
          await daemon.admin.removeOrphan(stray);
        }
        await eventually(
          async () =>
            (await apps.listDeploymentForAllNamespaces({ labelSelector: ours(gatewayId) })).items.length === 1,
          'one Deployment of this gateway',
        );
        const [dep] = (await apps.listDeploymentForAllNamespaces({ labelSelector: `dev.hangar.env-id=${env.id}` }))
          .items;
        assert.equal(dep.metadata!.name, name);
        assert.equal(dep.spec!.replicas, 1);
        const secrets = (await core.listNamespacedSecret({ namespace: ns, labelSelector: ours(gatewayId) })).items;
        assert.deepEqual(
          secrets.map((s) => s.metadata!.name),
          [`${name}-boot`],
        );
        assert.equal(
          Buffer.from(secrets[0].data!['ssh_host_ed25519_key.pub'], 'base64').toString().trim(),
          running.host_key,
        );

        await daemon.admin.deleteEnvironment(env.id);
        await eventually(
          async () =>
            (await apps.listDeploymentForAllNamespaces({ labelSelector: ours(gatewayId) })).items.length === 0 &&
            (await core.listNamespacedSecret({ namespace: ns, labelSelector: ours(gatewayId) })).items.length === 0 &&
            (await core.listNamespacedPod({ namespace: ns, labelSelector: ours(gatewayId) })).items.length === 0,
          'nothing of this gateway left',
        );
      } finally {
        await daemon.kill('SIGTERM');
        for (const n of (await core.listNamespace({ labelSelector: ours(gatewayId) })).items)
          await core.deleteNamespace({ name: n.metadata!.name! }).catch(() => undefined);
      }
    });
  }
});
