// storage_type pvc and ceph on the test cluster: the env's home claim (k8s_pod too, not only k8s_stateful) and its
// volumes' claims carry the class, access modes and size asked for, and bind through the cluster's provisioner
// (in-tree host-path; the Ceph classes are stand-ins). Stop keeps the claims, delete keeps the volumes'; a claim of
// a class that doesn't exist leaves the env pending with the PV controller's reason. kwok runs no kubelet: nothing is
// mounted, so fsGroup is shown in the pod spec only.
import assert from 'node:assert/strict';
import { HangarClient } from '../../common/client';
import type { User } from '../../common/model';
import { apiError } from '../helpers/apiError';
import { startDaemon, type TestDaemon } from '../helpers/daemon';
import {
  ensureCluster,
  eventually,
  IMAGE,
  k8sApis,
  k8sConfig,
  KUBECONFIG,
  nsOf,
  objectsOf,
  podsOf,
} from '../helpers/k8s';
import { applyTestClasses, asked, bound, claim, closeClaimsTest } from '../helpers/k8sStorage';

describe('storage: claims on kubernetes (storage_type pvc / ceph)', function () {
  this.timeout(300_000);
  let d: TestDaemon;
  const sfx = Date.now() % 100000;
  const u: Record<string, { user: User; c: HangarClient }> = {};
  const namespaces = new Set<string>();
  const base = {
    image: IMAGE,
    environment_type: 'terminal' as const,
    backend_id: 'k8s',
    deployment_mode: 'k8s_pod' as const,
  };

  before(async function () {
    this.timeout(900_000);
    ensureCluster();
    applyTestClasses();
    const ceph = '    ceph: {cephfs_class: hangar-test-cephfs, rbd_class: hangar-test-ceph-rbd}\n';
    d = await startDaemon({
      configYaml: `${k8sConfig(`    home_size_gb: 2\n${ceph}`)}  - id: plain\n    kind: kubernetes\n    kubeconfig: ${KUBECONFIG}\n`,
    });
    for (const n of ['alice', 'bob']) {
      const { user, token } = await d.admin.createUser(`${n}${sfx}`);
      u[n] = { user, c: new HangarClient({ url: d.url, token }) };
    }
  });
  after(() => closeClaimsTest(d, namespaces));

  const gone = async (c: HangarClient, id: string) =>
    eventually(async () => !(await c.listEnvironments()).some((e) => e.id === id), 'env deleted', 60_000);

  it('k8s_pod, storage_type pvc: home and data claims with class/modes/size, bound; stop keeps them; delete keeps the volume', async () => {
    const env = await u.bob.c.createEnvironment({
      ...base,
      name: 'pvcpod',
      storage_type: 'pvc',
      storage_config: {
        home: { storage_class: 'standard', access_modes: ['ReadWriteOnce'], size_gb: 3 },
        mounts: [
          {
            type: 'volume',
            source: 'data',
            target: '/data',
            storage_class: 'hangar-test-expandable',
            access_modes: ['ReadWriteMany'],
            size_gb: 2,
          },
        ],
      },
    });
    const running = await u.bob.c.waitFor(env.id, ['running', 'failed', 'pending'], { timeoutMs: 120_000 });
    assert.equal(running.status, 'running', running.status_message ?? '');
    const ns = nsOf(running);
    namespaces.add(ns);
    const [vol] = await u.bob.c.volumes();
    assert.deepEqual(
      [vol.name, vol.storage_class, vol.access_modes],
      ['data', 'hangar-test-expandable', ['ReadWriteMany']],
    );
    const home = `${running.backend_ref!.split('/')[2]}-home`;
    // WaitForFirstConsumer (standard): bound once the scheduler placed the pod; Immediate (expandable): at once.
    assert.deepEqual(asked(await bound(ns, home)), { class: 'standard', modes: ['ReadWriteOnce'], size: '3Gi' });
    const data = await bound(ns, vol.backend_name);
    assert.deepEqual(asked(data), { class: 'hangar-test-expandable', modes: ['ReadWriteMany'], size: '2Gi' });
    assert.equal(data.metadata?.labels?.['dev.hangar.env-id'], undefined, "a volume's claim is not the env's");
    const [pod] = await podsOf(running);
    assert.deepEqual(
      pod
        .spec!.volumes!.filter((v) => v.persistentVolumeClaim)
        .map((v) => [v.name, v.persistentVolumeClaim!.claimName]),
      [
        ['vol-0', vol.backend_name],
        ['home', home],
      ],
    );
    assert.deepEqual(
      pod
        .spec!.containers[0].volumeMounts!.filter((m) => m.name === 'home' || m.name === 'vol-0')
        .map((m) => m.mountPath),
      ['/data', '/home'],
    );
    assert.equal(pod.spec!.securityContext!.fsGroup, 1000, "the login user's group may write the claims");
    assert.equal((await u.bob.c.volume(vol.id)).state?.phase, 'Bound');

    await u.bob.c.action(env.id, 'stop');
    await eventually(async () => (await podsOf(running)).length === 0, 'pod gone after stop', 60_000);
    assert.ok(await claim(ns, home), 'stop keeps the home claim');
    await u.bob.c.action(env.id, 'start');
    assert.equal((await u.bob.c.waitFor(env.id, ['running', 'failed'], { timeoutMs: 120_000 })).status, 'running');

    assert.equal((await apiError(u.alice.c.volume(vol.id))).status, 404, "another user's volume");
    await u.bob.c.deleteEnvironment(env.id);
    await gone(u.bob.c, env.id);
    await eventually(async () => !(await claim(ns, home)), 'the home claim goes with the env', 60_000);
    assert.ok(await claim(ns, vol.backend_name), "the volume's claim is kept");
    assert.deepEqual(await objectsOf(ns, env.id), []);
    await u.bob.c.deleteVolume(vol.id);
    await eventually(async () => !(await claim(ns, vol.backend_name)), 'volume claim removed', 30_000);
  });

  it('a home directory on a named volume: no home claim, and the same claim after the env is deleted and made again', async () => {
    const make = () =>
      u.bob.c.createEnvironment({
        ...base,
        name: 'volhome',
        storage_type: 'pvc',
        storage_config: { mounts: [{ type: 'volume', source: 'myhome', target: '/home', size_gb: 1 }] },
      });
    const first = await u.bob.c.waitFor((await make()).id, ['running', 'failed', 'pending'], { timeoutMs: 120_000 });
    assert.equal(first.status, 'running', first.status_message ?? '');
    const ns = nsOf(first);
    const vol = (await u.bob.c.volumes()).find((v) => v.name === 'myhome')!;
    const uid = (await bound(ns, vol.backend_name)).metadata!.uid;
    const [pod] = await podsOf(first);
    assert.deepEqual(
      pod.spec!.containers[0].volumeMounts!.filter((m) => m.mountPath === '/home').map((m) => m.name),
      ['vol-0'],
    );
    assert.equal(await claim(ns, `${first.backend_ref!.split('/')[2]}-home`), undefined, 'no home claim of its own');
    await u.bob.c.deleteEnvironment(first.id);
    await gone(u.bob.c, first.id);
    const again = await u.bob.c.waitFor((await make()).id, ['running', 'failed', 'pending'], { timeoutMs: 120_000 });
    assert.equal(again.status, 'running', again.status_message ?? '');
    assert.equal((await claim(ns, vol.backend_name))?.metadata?.uid, uid, 'the same claim: the home survived');
    await u.bob.c.deleteEnvironment(again.id);
    await gone(u.bob.c, again.id);
    await u.bob.c.deleteVolume(vol.id);
  });

  it('a class that does not exist: pending with the reason from the claim, not a silent hang', async () => {
    const env = await u.bob.c.createEnvironment({
      ...base,
      name: 'noclass',
      storage_type: 'pvc',
      storage_config: { home: { storage_class: `no-such-class-${sfx}` } },
    });
    const st = await u.bob.c.waitFor(env.id, ['pending', 'running', 'failed'], { timeoutMs: 120_000 });
    namespaces.add(nsOf(st));
    assert.equal(st.status, 'pending');
    console.log(`      pending: ${st.status_message}`);
    assert.match(
      st.status_message ?? '',
      new RegExp(
        `claim noclass-\\w+-home \\(class 'no-such-class-${sfx}'\\) is Pending: ProvisioningFailed: .*"no-such-class-${sfx}" not found`,
      ),
    );
    await u.bob.c.deleteEnvironment(env.id);
    await gone(u.bob.c, env.id);
  });

  it('k8s_stateful, storage_type ceph: the home claim is the RBD class (RWO), a volume with ceph: cephfs the CephFS one (RWX)', async () => {
    const env = await u.bob.c.createEnvironment({
      ...base,
      deployment_mode: 'k8s_stateful',
      name: 'cephset',
      storage_type: 'ceph',
      storage_config: { mounts: [{ type: 'volume', source: 'shared', target: '/shared', ceph: 'cephfs' }] },
    });
    const running = await u.bob.c.waitFor(env.id, ['running', 'failed', 'pending'], { timeoutMs: 120_000 });
    assert.equal(running.status, 'running', running.status_message ?? '');
    const ns = nsOf(running);
    const name = running.backend_ref!.split('/')[2];
    const vol = (await u.bob.c.volumes()).find((v) => v.name === 'shared')!;
    assert.deepEqual(asked(await bound(ns, `${name}-home`)), {
      class: 'hangar-test-ceph-rbd',
      modes: ['ReadWriteOnce'],
      size: '2Gi',
    });
    assert.deepEqual(asked(await bound(ns, vol.backend_name)), {
      class: 'hangar-test-cephfs',
      modes: ['ReadWriteMany'],
      size: '10Gi',
    });
    const { apps } = k8sApis();
    const set = await apps.readNamespacedStatefulSet({ namespace: ns, name });
    assert.equal(set.spec!.volumeClaimTemplates, undefined, "Hangar's own home claim, not a template's");
    await u.bob.c.deleteEnvironment(env.id);
    await gone(u.bob.c, env.id);
    await u.bob.c.deleteVolume(vol.id);
  });

  it('bad input is a 4xx naming the field; ceph on a backend that maps no class is 400 naming storage_type', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [
        { storage_type: 'pvc', storage_config: { home: { access_modes: ['RWO'] } } },
        'storage_config.home.access_modes.0',
      ],
      [
        { storage_type: 'pvc', storage_config: { home: { storage_class: 'Bad_Class' } } },
        'storage_config.home.storage_class',
      ],
      [{ storage_type: 'pvc', storage_config: { home: { size_gb: 0 } } }, 'storage_config.home.size_gb'],
      [
        { storage_type: 'pvc', storage_config: { home: { storage_class: 'a', ceph: 'rbd' } } },
        'storage_config.home.ceph',
      ],
      [{ storage_type: 'local', storage_config: { home: { size_gb: 1 } } }, 'storage_config.home'],
      [
        { storage_config: { mounts: [{ type: 'share', source: 'x', target: '/x', storage_class: 'standard' }] } },
        'storage_config.mounts.0.storage_class',
      ],
      [{ storage_type: 'ceph', backend_id: 'plain' }, 'storage_type'],
      [
        { storage_type: 'pvc', backend_id: 'plain', storage_config: { home: { ceph: 'cephfs' } } },
        'storage_config.home.ceph',
      ],
    ];
    for (const [extra, field] of cases) {
      const e = await apiError(u.bob.c.createEnvironment({ ...base, name: 'bad', ...extra }));
      assert.deepEqual([e.status, e.field], [400, field], `${JSON.stringify(extra)}: ${e.message}`);
    }
    assert.deepEqual(await u.bob.c.listEnvironments(), [], 'nothing half-made');
  });
});
