// Sub-directories Hangar makes on NFS shares for the login user (per_user, per_env, {user}/{env} sub_paths), on the
// backends that can't show a kernel mount here: Kubernetes (an init container on the test control plane; kwok runs
// no kubelet, so the spec is what this cluster shows) and Docker (a short-lived root helper container; dockerd's
// kernel has no NFS client here, so its start fails with the kernel's message). The VM guest, which does mount, is
// test/storage/vm-nfs.test.ts. Plus a second, non-admin user: a share not listed for them is 403 naming it, on
// every backend; bad sub_paths are 400 naming the field.
import assert from 'node:assert/strict';
import Dockerode from 'dockerode';
import { HangarClient } from '../../common/client';
import type { Environment } from '../../common/model';
import { shareDirsOptions } from '../../daemon/backends/docker/shareDirs';
import { shareSpec } from '../../daemon/environments/shares';
import { apiError } from '../helpers/apiError';
import { startDaemon, type TestDaemon } from '../helpers/daemon';
import { docker, SSH_IMAGE } from '../helpers/docker';
import { ensureCluster, IMAGE, KUBECONFIG, podsOf } from '../helpers/k8s';
import { POOL } from '../helpers/libvirt';

describe('storage: share sub-directories owned by the login user (kubernetes, docker) and who may mount what', function () {
  this.timeout(300_000);
  const sfx = Date.now() % 100000;
  let d: TestDaemon;
  let bob: HangarClient;
  let alice: HangarClient;
  before(async function () {
    this.timeout(900_000);
    ensureCluster();
    d = await startDaemon({
      configYaml: `
backends:
  - id: local
  - id: k8s
    kind: kubernetes
    kubeconfig: ${KUBECONFIG}
  - id: kvm
    kind: libvirt
    uri: qemu:///system
    pool: ${POOL}
    virt_type: qemu
    restrict_network: true
    forward_port_range: { from: 22650, to: 22659 }
shares:
  - {name: homes, server: 127.0.0.1, export: /export/homes, users: [bob${sfx}], sub_directories: per_user}
  - {name: scratch, server: 10.9.8.7, export: /srv/scratch, nfs_version: '4.2', users: [bob${sfx}]}
`,
    });
    bob = new HangarClient({ url: d.url, token: (await d.admin.createUser(`bob${sfx}`)).token });
    alice = new HangarClient({ url: d.url, token: (await d.admin.createUser(`alice${sfx}`)).token });
  });
  after(async () => {
    for (const e of (await d?.admin.listEnvironments().catch(() => [])) ?? [])
      await d.admin.deleteEnvironment(e.id).catch(() => undefined);
    await d?.server.envs.idle();
    await d?.close();
  });

  it('kubernetes: an init container (root, CHOWN only) makes the directories on the share root before the env mounts its own', async () => {
    const env = await bob.createEnvironment({
      name: 'owned',
      image: IMAGE,
      deployment_mode: 'k8s_pod',
      environment_type: 'terminal',
      backend_id: 'k8s',
      storage_type: 'nfs',
      storage_config: {
        mounts: [
          { type: 'share', source: 'homes', target: '/home/shared' },
          { type: 'share', source: 'scratch', sub_path: 'jobs/{env}', target: '/scratch' },
        ],
      },
    });
    const running: Environment = await bob.waitFor(env.id, ['running'], { timeoutMs: 120_000 });
    const [pod] = await podsOf(running);
    const vols = Object.fromEntries(
      pod.spec!.volumes!.filter((v) => v.nfs).map((v) => [v.name, { ...v.nfs, readOnly: v.nfs!.readOnly ?? false }]),
    );
    assert.deepEqual(vols, {
      'share-0': { server: '127.0.0.1', path: `/export/homes/bob${sfx}`, readOnly: false },
      'share-1': { server: '10.9.8.7', path: `/srv/scratch/jobs/${env.id}`, readOnly: false },
      'share-0-base': { server: '127.0.0.1', path: '/export/homes', readOnly: false },
      'share-1-base': { server: '10.9.8.7', path: '/srv/scratch/jobs', readOnly: false },
    });
    const init = pod.spec!.initContainers!;
    assert.deepEqual(
      init.map((c) => [c.name, c.image, c.securityContext?.runAsUser, { ...c.securityContext?.capabilities }]),
      [0, 1].map((i) => [`share-dirs-${i}`, IMAGE, 0, { drop: ['ALL'], add: ['CHOWN', 'DAC_OVERRIDE', 'FOWNER'] }]),
    );
    assert.deepEqual(
      init[0].volumeMounts!.map((m) => ({ ...m })),
      [{ name: 'share-0-base', mountPath: '/hangar-share-base' }],
    );
    const script = init[1].command!.join(' ');
    assert.match(script, new RegExp(`p="\\$p"/'${env.id}'`));
    assert.match(script, /mkdir -m 0750 "\$p"/);
    assert.match(script, /chown 1000:1000 "\$p"/);
    const main = pod.spec!.containers[0].volumeMounts!.filter((m) => m.name.startsWith('share-'));
    assert.deepEqual(
      main.map((m) => [m.name, m.mountPath]),
      [
        ['share-0', '/home/shared'],
        ['share-1', '/scratch'],
      ],
      'the env itself never sees the share root',
    );
  });

  it("docker: a root helper container mounts the share's base through an nfs volume; here its start fails with the kernel's message", async () => {
    const env = await bob.createEnvironment({
      name: 'owned-docker',
      image: SSH_IMAGE,
      image_pull_policy: 'never',
      environment_type: 'terminal',
      storage_type: 'nfs',
      storage_config: { mounts: [{ type: 'share', source: 'homes', sub_path: 'work', target: '/w' }] },
    });
    const failed = await bob.waitFor(env.id, ['failed', 'running']);
    assert.equal(failed.status, 'failed', 'no NFS client in this kernel: never a fake success');
    assert.match(failed.status_message ?? '', /share 'homes': .*(mount|nfs|no such device)/i);
    console.log(`      helper says: ${failed.status_message}`);
    assert.equal(await docker('ps', '-aq', '--filter', `name=hangar-sharedirs-${env.id}`), '');
    assert.equal(await docker('volume', 'ls', '-q', '--filter', `label=dev.hangar.env-id=${env.id}`), '');
    // What dockerd is given, inspected on a helper created and not started: the share's base, root, CHOWN only.
    const shares = [
      {
        name: 'homes',
        kind: 'nfs' as const,
        server: '127.0.0.1',
        export: '/export/homes',
        nfs_version: '4.1' as const,
        options: [],
        users: [],
        teams: [],
        read_only: false,
        sub_directories: 'per_user' as const,
      },
    ];
    const spec = shareSpec(shares, (await bob.getEnvironment(env.id)).storage_config!.mounts![0], env.id);
    const opts = shareDirsOptions(
      { envId: `t${sfx}`, image: SSH_IMAGE, mounts: [spec] } as Parameters<typeof shareDirsOptions>[0],
      0,
      'test-gateway',
    );
    const c = await new Dockerode().createContainer({
      ...opts,
      Labels: { ...opts.Labels, 'dev.hangar.test': 'storage' },
    });
    try {
      const vol = JSON.parse(
        await docker('volume', 'inspect', '-f', '{{json .Options}}', `hangar-share-t${sfx}-0-base`),
      );
      assert.deepEqual(vol, { type: 'nfs', o: 'addr=127.0.0.1,nfsvers=4.1', device: ':/export/homes' });
      const i = await c.inspect();
      assert.deepEqual(
        [i.Config.User, i.HostConfig.CapAdd, i.HostConfig.NetworkMode],
        ['0:0', ['CHOWN', 'DAC_OVERRIDE', 'FOWNER'], 'none'],
      );
      assert.match(
        [i.Config.Entrypoint!].flat().join(' '),
        new RegExp(`'bob${sfx}'[\\s\\S]*'work'[\\s\\S]*chown 1000:1000`),
      );
    } finally {
      await c.remove({ force: true });
      await docker('volume', 'rm', '-f', `hangar-share-t${sfx}-0-base`);
    }
  });

  it('a second, non-admin user: a share not listed for them is 403 naming it on every backend; bad sub_paths are 400', async () => {
    const mount = (extra = {}) => ({ mounts: [{ type: 'share' as const, source: 'homes', target: '/h', ...extra }] });
    const bases = [
      { backend_id: 'local', image: SSH_IMAGE, image_pull_policy: 'never' as const },
      { backend_id: 'k8s', image: IMAGE, deployment_mode: 'k8s_pod' as const },
      { backend_id: 'kvm', image: 'any-template', deployment_mode: 'vm' as const },
    ];
    for (const b of bases) {
      const e = await apiError(
        alice.createEnvironment({ ...b, name: 'nope', storage_type: 'nfs', storage_config: mount() }),
      );
      assert.deepEqual([e.status, e.field], [403, 'storage_config.mounts.0.source'], b.backend_id);
      assert.match(e.message, new RegExp(`'homes' is not a share user 'alice${sfx}' may use \\(rule shares\\)`));
      for (const bad of ['../etc', '/etc', 'a/../../b', 'x;rm', '{home}', 'a{user}']) {
        const s = await apiError(
          bob.createEnvironment({ ...b, name: 'bad', storage_type: 'nfs', storage_config: mount({ sub_path: bad }) }),
        );
        assert.deepEqual([s.status, s.field], [400, 'storage_config.mounts.0.sub_path'], `${b.backend_id} ${bad}`);
      }
    }
    assert.deepEqual((await alice.storage()).shares, []);
    assert.deepEqual(
      (await bob.storage()).shares.map((s) => [s.name, s.sub_directories]),
      [
        ['homes', 'per_user'],
        ['scratch', 'none'],
      ],
    );
    assert.deepEqual(await alice.listEnvironments(), []);
  });
});
