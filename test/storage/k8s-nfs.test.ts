// Shares on the test Kubernetes cluster: the pod spec carries in-tree nfs volumes with the share's server and path
// (kwok runs no kubelet: no pod mounts anything here, so the spec is what this cluster can show).
import assert from 'node:assert/strict';
import { HangarClient } from '../../common/client';
import { startDaemon, type TestDaemon } from '../helpers/daemon';
import { ensureCluster, IMAGE, k8sConfig, podsOf } from '../helpers/k8s';

describe('storage: NFS shares on kubernetes (pod spec)', function () {
  this.timeout(300_000);
  let d: TestDaemon;
  let bob: HangarClient;
  const sfx = Date.now() % 100000;
  before(async function () {
    this.timeout(900_000);
    ensureCluster();
    const shares = [
      'shares:',
      `  - {name: data, server: 10.1.2.3, export: /srv/data, users: [bob${sfx}], read_only: true}`,
      `  - {name: home, server: nfs.example.org, export: /home, users: [bob${sfx}], sub_directories: per_env}`,
    ].join('\n');
    d = await startDaemon({ configYaml: `${k8sConfig()}${shares}\n` });
    bob = new HangarClient({ url: d.url, token: (await d.admin.createUser(`bob${sfx}`)).token });
  });
  after(async () => {
    for (const e of (await d?.admin.listEnvironments().catch(() => [])) ?? [])
      await d.admin.deleteEnvironment(e.id).catch(() => undefined);
    await d?.close();
  });

  it('a k8s_pod with two shares: nfs volumes {server, path, readOnly} and mounts at the targets', async () => {
    const env = await bob.createEnvironment({
      name: 'nfspod',
      image: IMAGE,
      deployment_mode: 'k8s_pod',
      environment_type: 'terminal',
      backend_id: 'k8s',
      storage_type: 'nfs',
      storage_config: {
        mounts: [
          { type: 'share', source: 'data', target: '/data', sub_path: 'imagenet' },
          { type: 'share', source: 'home', target: '/work' },
        ],
      },
    });
    const running = await bob.waitFor(env.id, ['running'], { timeoutMs: 120_000 });
    const [pod] = await podsOf(running);
    const vols = pod.spec!.volumes!.filter((v) => v.nfs);
    assert.deepEqual(
      vols.map((v) => [v.name, { ...v.nfs, readOnly: v.nfs!.readOnly ?? false }]),
      [
        ['share-0', { server: '10.1.2.3', path: '/srv/data/imagenet', readOnly: true }],
        ['share-1', { server: 'nfs.example.org', path: `/home/${env.id}`, readOnly: false }],
        // per_env: the env's directory is made by an init container on the export's root (subdir-ownership.test.ts).
        ['share-1-base', { server: 'nfs.example.org', path: '/home', readOnly: false }],
      ],
    );
    const mounts = pod.spec!.containers[0].volumeMounts!.filter((m) => m.name.startsWith('share-'));
    assert.deepEqual(
      mounts.map((m) => [m.name, m.mountPath, m.readOnly ?? false]),
      [
        ['share-0', '/data', true],
        ['share-1', '/work', false],
      ],
    );
  });
});
