// Volumes as claims on the test cluster (POST /volumes with a Kubernetes backend_id): hangar-vol-<id> in the owner's
// namespace with the size, class and access modes asked for, listed with the claim's phase, resized where the class
// allows expansion (422 saying so where it doesn't), refused to delete while mounted (409), removed on purpose.
// Another user's volume is a 404; bad input a 400 naming the field.
import assert from 'node:assert/strict';
import { HangarClient } from '../../common/client';
import type { User } from '../../common/model';
import { apiError } from '../helpers/apiError';
import { startDaemon, type TestDaemon } from '../helpers/daemon';
import { ensureCluster, eventually, IMAGE, k8sApis, k8sConfig, KUBECONFIG, nsOf } from '../helpers/k8s';
import { Cli } from '../helpers/cli';
import { applyTestClasses, asked, bound, claim, closeClaimsTest } from '../helpers/k8sStorage';

describe('storage: volumes as claims on kubernetes', function () {
  this.timeout(300_000);
  let d: TestDaemon;
  const sfx = Date.now() % 100000;
  const team = `kv${sfx}`;
  const u: Record<string, { user: User; c: HangarClient }> = {};
  const namespaces = new Set<string>([`hangar-team-${team}`]);

  before(async function () {
    this.timeout(900_000);
    ensureCluster();
    applyTestClasses();
    d = await startDaemon({
      configYaml: [
        k8sConfig('    ceph: {cephfs_class: hangar-test-cephfs}\n').trimEnd(),
        '  - id: k8steam',
        '    kind: kubernetes',
        `    kubeconfig: ${KUBECONFIG}`,
        '    namespace_policy: per-team',
        '  - id: local',
        'volume_quotas:',
        '  per_user: {max_total_gb: 20}',
        '',
      ].join('\n'),
    });
    for (const n of ['alice', 'bob']) {
      const { user, token } = await d.admin.createUser(`${n}${sfx}`, 'user', n === 'bob' ? team : undefined);
      u[n] = { user, c: new HangarClient({ url: d.url, token }) };
    }
  });
  after(() => closeClaimsTest(d, namespaces));

  it("create makes a bound claim with size/class/modes; listed with its phase; another user's is 404", async () => {
    const v = await u.bob.c.createVolume({
      name: 'data',
      size_gb: 1,
      backend_id: 'k8s',
      storage_class: 'hangar-test-expandable',
      access_modes: ['ReadWriteOnce', 'ReadOnlyMany'],
    });
    assert.equal(v.backend_name, `hangar-vol-${v.id}`);
    const { core } = k8sApis();
    const [pvc] = (
      await core.listPersistentVolumeClaimForAllNamespaces({ fieldSelector: `metadata.name=${v.backend_name}` })
    ).items;
    const ns = pvc.metadata!.namespace!;
    namespaces.add(ns);
    assert.equal(ns, `hangar-${u.bob.user.id.replace(/-/g, '').slice(0, 8)}`, "the owner's namespace");
    assert.equal(pvc.metadata!.labels!['dev.hangar.owner'], u.bob.user.id);
    assert.deepEqual(asked(await bound(ns, v.backend_name)), {
      class: 'hangar-test-expandable',
      modes: ['ReadWriteOnce', 'ReadOnlyMany'],
      size: '1Gi',
    });
    const listed = (await u.bob.c.volumes()).find((x) => x.id === v.id)!;
    assert.deepEqual(listed.state, { phase: 'Bound', storage_class: 'hangar-test-expandable', capacity_gb: 1 });
    assert.equal((await apiError(u.alice.c.volume(v.id))).status, 404);
    assert.equal((await apiError(u.alice.c.deleteVolume(v.id))).status, 404);
    assert.equal((await apiError(u.alice.c.resizeVolume(v.id, 2))).status, 404);
    assert.deepEqual(await u.alice.c.volumes(), []);
    const dflt = await u.alice.c.createVolume({ name: 'plain', backend_id: 'k8s' });
    assert.equal(dflt.size_gb, 10, "a claim needs a size: the backend's volume_size_gb");
    namespaces.add(`hangar-${u.alice.user.id.replace(/-/g, '').slice(0, 8)}`);
    const cephfs = await u.alice.c.createVolume({ name: 'team-data', backend_id: 'k8s', size_gb: 1, ceph: 'cephfs' });
    assert.deepEqual((await u.alice.c.volume(cephfs.id)).state?.storage_class, 'hangar-test-cephfs');
  });

  it('resize grows a claim of a class that allows expansion; a class that does not: 422 saying so', async () => {
    const v = (await u.bob.c.volumes()).find((x) => x.name === 'data')!;
    const grown = await u.bob.c.resizeVolume(v.id, 3);
    assert.equal(grown.size_gb, 3);
    const [pvc] = (
      await k8sApis().core.listPersistentVolumeClaimForAllNamespaces({
        fieldSelector: `metadata.name=${v.backend_name}`,
      })
    ).items;
    assert.equal(pvc.spec!.resources!.requests!.storage, '3Gi');
    // The host-path plugin can't expand: the capacity stays, and the volume says the resize waits for a driver.
    console.log(`      after resize: ${JSON.stringify(grown.state)}`);
    assert.match(grown.state?.message ?? '', /resize to 3 GiB asked/);
    const shrink = await apiError(u.bob.c.resizeVolume(v.id, 2));
    assert.deepEqual([shrink.status, shrink.field], [400, 'size_gb']);
    const fixed = await u.bob.c.createVolume({
      name: 'fixed',
      size_gb: 1,
      backend_id: 'k8s',
      storage_class: 'standard',
    });
    const no = await apiError(u.bob.c.resizeVolume(fixed.id, 2));
    assert.equal(no.status, 422);
    assert.match(no.message, /StorageClass 'standard' does not allow volume expansion/);
    const quota = await apiError(u.bob.c.resizeVolume(v.id, 30));
    assert.equal(quota.status, 403);
    await u.bob.c.deleteVolume(fixed.id);
  });

  it('a mounted volume is 409 to delete; after its env is gone the claim is kept until deleted on purpose', async () => {
    const v = (await u.bob.c.volumes()).find((x) => x.name === 'data')!;
    const env = await u.bob.c.createEnvironment({
      name: 'mounter',
      image: IMAGE,
      deployment_mode: 'k8s_pod',
      environment_type: 'terminal',
      backend_id: 'k8s',
      storage_config: { mounts: [{ type: 'volume', source: 'data', target: '/data' }] },
    });
    const running = await u.bob.c.waitFor(env.id, ['running', 'failed', 'pending'], { timeoutMs: 120_000 });
    assert.equal(running.status, 'running', running.status_message ?? '');
    const ns = nsOf(running);
    const busy = await apiError(u.bob.c.deleteVolume(v.id));
    assert.equal(busy.status, 409);
    assert.match(busy.message, /mounted by 'mounter'/);
    await u.bob.c.deleteEnvironment(env.id);
    await eventually(async () => (await u.bob.c.listEnvironments()).length === 0, 'env deleted', 60_000);
    assert.ok(await claim(ns, v.backend_name), 'kept after the env');
    await u.bob.c.deleteVolume(v.id);
    await eventually(async () => !(await claim(ns, v.backend_name)), 'claim removed', 30_000);
  });

  it("a team's volume lives in the team's namespace (per-team policy) and a team mate's env there mounts it", async () => {
    const v = await u.bob.c.createVolume({ name: 'shared', backend_id: 'k8steam', team: true, size_gb: 1 });
    const ns = `hangar-team-${team}`;
    // The backend names no class: the cluster's default (standard, WaitForFirstConsumer) binds it with its first pod.
    const pvc = (await claim(ns, v.backend_name))!;
    assert.equal(pvc.spec!.storageClassName, 'standard');
    assert.deepEqual(
      [pvc.metadata!.labels!['dev.hangar.team'], pvc.metadata!.labels!['dev.hangar.owner']],
      [team, undefined],
    );
    const env = await u.bob.c.createEnvironment({
      name: 'teamer',
      image: IMAGE,
      deployment_mode: 'k8s_pod',
      environment_type: 'terminal',
      backend_id: 'k8steam',
      storage_config: { mounts: [{ type: 'volume', source: 'team:shared', target: '/shared', read_only: true }] },
    });
    const running = await u.bob.c.waitFor(env.id, ['running', 'failed', 'pending'], { timeoutMs: 120_000 });
    assert.equal(running.status, 'running', running.status_message ?? '');
    assert.equal(nsOf(running), ns);
    await bound(ns, v.backend_name);
    assert.equal((await apiError(u.alice.c.volume(v.id))).status, 404, 'not in the team');
    await u.bob.c.deleteEnvironment(env.id);
    await eventually(async () => (await u.bob.c.listEnvironments()).length === 0, 'env deleted', 60_000);
    await u.bob.c.deleteVolume(v.id);
  });

  it('the CLI: volumes create with a class and access modes, ls shows the phase', async () => {
    const cli = new Cli(d.url);
    const carol = await d.admin.createUser(`carol${sfx}`);
    namespaces.add(`hangar-${carol.user.id.replace(/-/g, '').slice(0, 8)}`);
    await cli.login(carol.token);
    const c = await cli.run([
      'volumes',
      'create',
      'cli-claim',
      '--backend',
      'k8s',
      '--size',
      '1',
      '--class',
      'hangar-test-expandable',
      '--access-mode',
      'ReadWriteOnce',
      '--access-mode',
      'ReadOnlyMany',
    ]);
    assert.equal(c.code, 0, c.stderr);
    await eventually(async () => {
      const r = await cli.run(['volumes', 'ls']);
      return /cli-claim .* 1 GiB .* Bound \(hangar-test-expandable\)/.test(r.stdout);
    }, 'Bound in ls');
    const bad = await cli.run(['volumes', 'create', 'x', '--backend', 'k8s', '--access-mode', 'RWO']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /access_modes/);
    assert.equal((await cli.run(['volumes', 'rm', 'cli-claim'])).code, 0);
  });

  it('bad input is 400 naming the field; team volumes need per-team namespaces; Docker volumes have no class', async () => {
    const cases: [Record<string, unknown>, number, string][] = [
      [{ backend_id: 'k8s', storage_class: 'UPPER' }, 400, 'storage_class'],
      [{ backend_id: 'k8s', access_modes: ['ReadWriteOnce', 'ReadWriteOnce'] }, 400, 'access_modes'],
      [{ backend_id: 'k8s', access_modes: ['Everyone'] }, 400, 'access_modes.0'],
      [{ backend_id: 'k8s', storage_class: 'standard', ceph: 'rbd' }, 400, 'ceph'],
      [{ backend_id: 'k8s', ceph: 'rbd' }, 400, 'ceph'],
      [{ backend_id: 'local', storage_class: 'standard' }, 400, 'storage_class'],
      [{ backend_id: 'k8s', team: true }, 400, 'team'],
    ];
    for (const [extra, status, field] of cases) {
      const e = await apiError(u.bob.c.createVolume({ name: 'bad', ...extra }));
      assert.deepEqual([e.status, e.field], [status, field], `${JSON.stringify(extra)}: ${e.message}`);
    }
    assert.ok(!(await u.bob.c.volumes()).some((v) => v.name === 'bad'), 'nothing half-made');
    const { core } = k8sApis();
    const left = await core.listPersistentVolumeClaimForAllNamespaces({ labelSelector: 'dev.hangar.volume=true' });
    assert.ok(
      !left.items.some(
        (p) =>
          p.metadata?.labels?.['dev.hangar.owner'] === u.bob.user.id &&
          p.status?.phase !== 'Bound' &&
          !p.metadata?.deletionTimestamp,
      ),
      'no stray claim',
    );
  });
});
