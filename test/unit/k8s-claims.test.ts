// The pure parts of Kubernetes claims: why a claim doesn't bind (from the PV controller's events, e.g. no default
// StorageClass — the test cluster has one, so that case is shown here on the event it emits), class resolution
// (Ceph kinds the backend maps), quantities, and the masking of mount keys in dockerd's messages.
import assert from 'node:assert/strict';
import type { CoreV1Event, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { claimProblem, gib, resolveClaim } from '../../daemon/backends/kubernetes/claims';
import { redactMountSecrets } from '../../daemon/backends/docker/engineFormats';
import { InputError } from '../../daemon/errors';

const pvc = (phase: string, storageClassName?: string): V1PersistentVolumeClaim => ({
  metadata: { name: 'x-home' },
  spec: { storageClassName },
  status: { phase },
});
const ev = (reason: string, message: string, at: string): CoreV1Event =>
  ({ reason, message, lastTimestamp: at, involvedObject: {}, metadata: {} }) as unknown as CoreV1Event;

describe('kubernetes claims (pure)', () => {
  it('a claim without a class and no default class: the FailedBinding event is the reason', () => {
    const why = claimProblem(pvc('Pending'), [
      ev(
        'FailedBinding',
        'no persistent volumes available for this claim and no storage class is set',
        '2026-01-01T00:00:01Z',
      ),
    ]);
    assert.equal(
      why,
      'claim x-home (no class) is Pending: FailedBinding: no persistent volumes available for this claim and no storage class is set',
    );
  });

  it('the newest event wins; waiting for the first pod is no problem; bound and lost claims', () => {
    const events = [
      ev('ProvisioningFailed', 'old', '2026-01-01T00:00:01Z'),
      ev(
        'ExternalProvisioning',
        "Waiting for a volume to be created by the external provisioner 'rbd.csi.ceph.com'",
        '2026-01-01T00:00:05Z',
      ),
    ];
    assert.match(
      claimProblem(pvc('Pending', 'ceph-block'), events)!,
      /class 'ceph-block'\) is Pending: ExternalProvisioning: .*rbd\.csi/,
    );
    assert.equal(claimProblem(pvc('Pending', 'standard'), [ev('WaitForFirstConsumer', 'waiting', 'x')]), undefined);
    assert.equal(claimProblem(pvc('Bound', 'standard'), events), undefined);
    assert.equal(
      claimProblem(pvc('Lost', 'standard'), []),
      "claim x-home (class 'standard') is Lost: its volume is gone",
    );
  });

  it('Ceph kinds become the mapped classes with their access modes; an unmapped kind is 400 naming the field', () => {
    const o = {
      gatewayId: 'g',
      backendId: 'k8s',
      namespacePrefix: 'h',
      imagePullSecrets: [],
      ceph: { rbd_class: 'ceph-block' },
    };
    assert.deepEqual(resolveClaim(o, { ceph: 'rbd' }, 'f', { sizeGb: 5 }), {
      storageClassName: 'ceph-block',
      accessModes: ['ReadWriteOnce'],
      size: '5Gi',
    });
    assert.deepEqual(
      resolveClaim({ ...o, storageClass: 'std' }, undefined, 'f', { sizeGb: 1 }).storageClassName,
      'std',
    );
    assert.throws(
      () => resolveClaim(o, { ceph: 'cephfs' }, 'storage_config.home', { sizeGb: 1 }),
      (e: unknown) => e instanceof InputError && /maps no Ceph cephfs StorageClass/.test(e.message),
    );
    assert.throws(
      () => resolveClaim(o, undefined, 'storage_config.home', { sizeGb: 1, ceph: 'cephfs' }),
      (e: unknown) => e instanceof InputError && e.message.startsWith('storage_type:'),
    );
  });

  it('quantities in GiB; keys in mount options masked', () => {
    assert.deepEqual(['10Gi', '1073741824', '512Mi', '1Ti', 'x'].map(gib), [10, 1, 0.5, 1024, undefined]);
    assert.equal(
      redactMountSecrets('data: name=hangar,secret=AQB+/x==: no such device; password=hunter2,ro'),
      'data: name=hangar,secret=***: no such device; password=***,ro',
    );
  });
});
