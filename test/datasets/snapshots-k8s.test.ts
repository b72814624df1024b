// Kubernetes VolumeSnapshots on the real test control plane with the snapshot CRDs and the real external
// snapshot-controller (test/setup/k8s-snapshots.sh), through the driver's volumeSnapshots capability: the
// VolumeSnapshot of a claim is made with its source, stays pending (kwok has no CSI driver: nothing takes the
// snapshot, so readyToUse never turns true — what a real driver does is not shown here), a restore is a new claim
// whose dataSource names the snapshot, into the same claim is a 422, delete removes the object.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { capability } from '../../daemon/contract';
import { startDaemon, type TestDaemon } from '../helpers/daemon';
import { ensureCluster, k8sApis, k8sConfig } from '../helpers/k8s';

const API = { group: 'snapshot.storage.k8s.io', version: 'v1', plural: 'volumesnapshots' };

describe('datasets: Kubernetes VolumeSnapshots (snapshot-controller on the test cluster)', function () {
  this.timeout(300_000);
  let d: TestDaemon;
  const ns = `hangar-snap-${crypto.randomBytes(3).toString('hex')}`;
  const vol = `hangar-vol-${crypto.randomUUID()}`;
  const snap = `hangar-snap-${crypto.randomUUID()}`;
  const { core, kc } = k8sApis();
  const custom = kc.makeApiClient(CustomObjectsApi);

  before(async () => {
    ensureCluster();
    execFileSync('bash', [path.join(__dirname, '../setup/k8s-snapshots.sh'), 'up'], {
      stdio: 'inherit',
      timeout: 1_800_000,
    });
    d = await startDaemon({ configYaml: k8sConfig() });
    await core.createNamespace({ body: { metadata: { name: ns } } });
    const labels = {
      'dev.hangar.managed': 'true',
      'dev.hangar.gateway': d.server.gatewayId,
      'dev.hangar.backend': 'k8s',
    };
    await core.createNamespacedPersistentVolumeClaim({
      namespace: ns,
      body: {
        metadata: { name: vol, labels },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      },
    });
  });
  after(async () => {
    await core.deleteNamespace({ name: ns }).catch(() => 0);
    await d?.close();
  });

  it('a VolumeSnapshot of the claim is made and is pending; restore makes a claim from it; same is 422; delete', async () => {
    const snaps = capability(d.server.drivers.get('k8s'), 'volumeSnapshots')!;
    assert.equal(snaps.kind, 'csi');
    const st = await snaps.create(vol, snap);
    assert.equal(st.state, 'pending');
    const o = (await custom.getNamespacedCustomObject({ ...API, namespace: ns, name: snap })) as {
      spec: { source: { persistentVolumeClaimName: string } };
    };
    assert.equal(o.spec.source.persistentVolumeClaimName, vol);
    assert.equal((await snaps.state(vol, snap)).state, 'pending');
    const target = `hangar-vol-${crypto.randomUUID()}`;
    await snaps.restore(vol, snap, target, { replace: false });
    const pvc = await core.readNamespacedPersistentVolumeClaim({ name: target, namespace: ns });
    assert.deepEqual(
      { ...pvc.spec?.dataSource },
      { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: snap },
    );
    assert.equal(pvc.spec?.resources?.requests?.storage, '1Gi');
    await assert.rejects(snaps.restore(vol, snap, vol, { replace: true }), /restores into a new claim only/);
    await snaps.delete(vol, snap);
    await assert.rejects(custom.getNamespacedCustomObject({ ...API, namespace: ns, name: snap }));
  });
});
