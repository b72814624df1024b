// Backups of a Kubernetes env (storage_type pvc: its home claim and a volume's claim) as VolumeSnapshots, on the real
// test control plane with the real snapshot-controller (test/setup/k8s-snapshots.sh): the API server stores one
// VolumeSnapshot per claim with the claim as its source; another user gets 404; a restore is 409 while the env runs
// and, stopped, while the snapshots are not ready (kwok has no CSI driver: nothing ever takes them). DOUBLE: to show
// the swap, the test then sets status.readyToUse on them itself, standing in for a CSI driver's snapshotter; the
// restore deletes each claim and makes it again under its name with the snapshot as dataSource (no data moves here:
// no provisioner can fill a claim from a snapshot on this cluster). keep 1 deletes the older backup's VolumeSnapshots.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { HangarClient } from '../../common/client';
import type { Environment, Volume } from '../../common/model';
import { apiError } from '../helpers/apiError';
import { startDaemon, type TestDaemon } from '../helpers/daemon';
import { ensureCluster, eventually, IMAGE, k8sApis, k8sConfig, nsOf } from '../helpers/k8s';
import { applyTestClasses, claim, closeClaimsTest } from '../helpers/k8sStorage';

const API = { group: 'snapshot.storage.k8s.io', version: 'v1', plural: 'volumesnapshots' };
interface Snap {
  metadata: { name: string; deletionTimestamp?: string };
  spec: { source: { persistentVolumeClaimName: string } };
  status?: { readyToUse?: boolean };
}

describe('datasets: backups of a Kubernetes env as VolumeSnapshots of its claims (snapshot-controller)', function () {
  this.timeout(300_000);
  const sfx = crypto.randomBytes(3).toString('hex');
  const namespaces = new Set<string>();
  const { kc } = k8sApis();
  const custom = kc.makeApiClient(CustomObjectsApi);
  let d: TestDaemon;
  let bob: HangarClient;
  let alice: HangarClient;
  let env: Environment;
  let vol: Volume;
  let ns: string;
  const snaps = async () =>
    ((await custom.listNamespacedCustomObject({ ...API, namespace: ns })) as { items: Snap[] }).items.filter(
      (s) => !s.metadata.deletionTimestamp,
    );

  before(async function () {
    this.timeout(1_800_000);
    ensureCluster();
    applyTestClasses();
    execFileSync('bash', [path.join(__dirname, '../setup/k8s-snapshots.sh'), 'up'], {
      stdio: 'inherit',
      timeout: 1_800_000,
    });
    d = await startDaemon({ configYaml: k8sConfig('    home_size_gb: 1\n') }); // no backup_store: none is needed
    bob = new HangarClient({ url: d.url, token: (await d.admin.createUser(`bob${sfx}`, 'user')).token });
    alice = new HangarClient({ url: d.url, token: (await d.admin.createUser(`alice${sfx}`, 'user')).token });
    const created = await bob.createEnvironment({
      name: `kbak-${sfx}`,
      image: IMAGE,
      environment_type: 'terminal',
      backend_id: 'k8s',
      deployment_mode: 'k8s_pod',
      storage_type: 'pvc',
      storage_config: { mounts: [{ type: 'volume', source: 'kdata', target: '/data', size_gb: 1 }] },
    });
    env = await bob.waitFor(created.id, ['running', 'failed', 'pending'], { timeoutMs: 120_000 });
    assert.equal(env.status, 'running', env.status_message ?? '');
    ns = nsOf(env);
    namespaces.add(ns);
    vol = (await bob.volumes()).find((v) => v.name === 'kdata')!;
  });
  after(() => closeClaimsTest(d, namespaces));

  it('a backup is one VolumeSnapshot per claim (home and volume), the claims as sources; another user gets 404', async () => {
    const b = await bob.runBackup({ environment: env.name });
    assert.equal(b.status, 'complete', b.message ?? '');
    assert.equal(b.store, 'k8s');
    const home = b.items.find((i) => i.item === 'home')!;
    assert.deepEqual(
      b.items.map((i) => [i.item, i.kind, i.path]),
      [
        ['home', 'volume_snapshot', '/home'],
        [`volume:${vol.id}`, 'volume_snapshot', null],
      ],
    );
    assert.ok(home);
    const stored = await snaps();
    assert.deepEqual(stored.map((s) => [s.metadata.name, s.spec.source.persistentVolumeClaimName]).sort(), [
      [`hangar-bak-${b.id}-0`, `${env.name}-${env.id.slice(0, 8)}-home`],
      [`hangar-bak-${b.id}-1`, vol.backend_name],
    ]);
    for (const call of [
      () => alice.backup(b.id),
      () => alice.restoreBackup(b.id),
      () => alice.deleteBackup(b.id),
      () => alice.backups({ environment: env.id }),
      () => alice.runBackup({ environment: env.id }),
      () => alice.putBackupSchedule({ environment: env.id, cron: '@daily' }),
    ])
      assert.equal((await apiError(call())).status, 404);
    assert.equal((await snaps()).length, 2, "another user's calls changed nothing");
  });

  it('restore: 409 while running, 409 while not ready (nothing touched); ready: each claim made again from its snapshot', async () => {
    const [b] = await bob.backups({ environment: env.id });
    const homeClaim = `${env.name}-${env.id.slice(0, 8)}-home`;
    assert.equal((await apiError(bob.restoreBackup(b.id))).status, 409);
    assert.equal((await bob.action(env.id, 'stop')).status, 'stopped');
    const uids = [(await claim(ns, homeClaim))!.metadata!.uid, (await claim(ns, vol.backend_name))!.metadata!.uid];
    const waiting = await apiError(bob.restoreBackup(b.id));
    assert.equal(waiting.status, 409);
    assert.match(waiting.message, /VolumeSnapshots not ready: hangar-bak-.*-0 \(pending/);
    assert.deepEqual(
      [(await claim(ns, homeClaim))!.metadata!.uid, (await claim(ns, vol.backend_name))!.metadata!.uid],
      uids,
    );
    // DOUBLE: a CSI driver's snapshotter would set this once it has taken the snapshot.
    for (const n of [0, 1])
      await custom.patchNamespacedCustomObjectStatus(
        { ...API, namespace: ns, name: `hangar-bak-${b.id}-${n}`, body: { status: { readyToUse: true } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    await bob.restoreBackup(b.id);
    for (const [n, name] of [homeClaim, vol.backend_name].entries()) {
      const c = await eventually(() => claim(ns, name), `claim ${name} made again`);
      assert.notEqual(c.metadata!.uid, uids[n], `${name} is a new claim`);
      assert.deepEqual(
        { ...c.spec!.dataSource },
        { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: `hangar-bak-${b.id}-${n}` },
      );
      assert.equal(c.metadata!.labels!['dev.hangar.gateway'], d.server.gatewayId);
    }
  });

  it('a schedule with keep 1: the next backup deletes the older one and its VolumeSnapshots', async () => {
    const [old] = await bob.backups({ environment: env.id });
    await bob.putBackupSchedule({ environment: env.id, cron: '0 3 * * *', timezone: 'Asia/Shanghai', keep: 1 });
    const next = await bob.runBackup({ environment: env.id });
    assert.deepEqual(
      (await bob.backups({ environment: env.id })).map((b) => b.id),
      [next.id],
    );
    assert.equal((await apiError(bob.backup(old.id))).status, 404);
    await eventually(
      async () => (await snaps()).every((s) => s.metadata.name.startsWith(`hangar-bak-${next.id}-`)),
      'the older VolumeSnapshots deleted',
      60_000,
    );
    assert.equal((await snaps()).length, 2);
  });
});
