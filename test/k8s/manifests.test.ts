// The EnvSpec → Kubernetes object mapping, without a cluster.
import assert from 'node:assert/strict';
import type { EnvSpec } from '../../daemon/drivers/driver';
import { apiMessage, isUnreachable, parseRef, statusOf } from '../../daemon/drivers/kubernetes';
import {
  bootKey, deployment, gpuResources, namespaceFor, networkPolicy, objectName, PULL_POLICY, service, statefulSet, workloadKind,
} from '../../daemon/drivers/kubernetes/manifests';
import { UnprocessableError } from '../../daemon/errors';

const o = { gatewayId: 'gw1', backendId: 'k8s', namespacePrefix: 'hangar', imagePullSecrets: ['regcred'], storageClass: 'fast' };
const spec = (over: Partial<EnvSpec> = {}): EnvSpec => ({
  envId: '0123abcd-0000-4000-8000-000000000000', name: 'box', owner: 'ABCDEF12-3456', image: 'img:1', pullPolicy: 'never',
  cpu: 2, memoryMb: 1024, env: { A: '1' }, ports: [{ container_port: 8080 }], mounts: [],
  gpus: { mode: 'none', deviceIds: [], count: 0 }, files: [{ path: '/.hangar/init.sh', content: '#!/bin/sh\n', mode: 0o755 }],
  command: ['/bin/sh', '/.hangar/init.sh'], ...over,
});

describe('k8s: manifests (no cluster)', () => {
  it('names: namespace per owner, object names that stay within StatefulSet limits', () => {
    assert.equal(namespaceFor('hangar', 'ABCDEF12-3456'), 'hangar-abcdef12');
    assert.equal(objectName(spec()), 'box-0123abcd');
    const long = objectName(spec({ name: 'a'.repeat(63) }));
    assert.ok(long.length <= 49, long);
    assert.match(long, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  });

  it('deployment mode → workload kind; anything else is refused', () => {
    assert.equal(workloadKind(spec()), 'deployment');
    assert.equal(workloadKind(spec({ deploymentMode: 'k8s_stateful' })), 'statefulset');
    assert.throws(() => workloadKind(spec({ deploymentMode: 'vm' })), UnprocessableError);
  });

  it('GPU resources: whole GPUs, MIG by profile, vgpu refused', () => {
    assert.deepEqual(gpuResources(spec()), {});
    assert.deepEqual(gpuResources(spec({ gpus: { mode: 'exclusive', deviceIds: [], count: 3 } })), { 'nvidia.com/gpu': '3' });
    assert.deepEqual(gpuResources(spec({ gpus: { mode: 'mig', deviceIds: [], count: 2 }, gpuProfile: '1g.10gb' })), { 'nvidia.com/mig-1g.10gb': '2' });
    assert.throws(() => gpuResources(spec({ gpus: { mode: 'mig', deviceIds: [], count: 1 } })), /gpu_mig_profile/);
    assert.throws(() => gpuResources(spec({ gpus: { mode: 'vgpu', deviceIds: [], count: 1 } })), /libvirt/);
  });

  it('pod: pull policy, pull secrets, limits = requests, hardening, several models by node affinity', () => {
    assert.deepEqual(PULL_POLICY, { always: 'Always', 'if-not-present': 'IfNotPresent', never: 'Never' });
    const dep = deployment(spec({ gpus: { mode: 'exclusive', deviceIds: [], count: 1 } }), o, 'ns', { products: ['A', 'B'] });
    const pod = dep.spec!.template.spec!;
    const c = pod.containers[0];
    assert.equal(dep.spec!.replicas, 0);
    assert.equal(c.imagePullPolicy, 'Never');
    assert.deepEqual(pod.imagePullSecrets, [{ name: 'regcred' }]);
    assert.deepEqual(c.resources, { limits: { 'nvidia.com/gpu': '1', cpu: '2', memory: '1024Mi' }, requests: { 'nvidia.com/gpu': '1', cpu: '2', memory: '1024Mi' } });
    assert.deepEqual(pod.affinity!.nodeAffinity!.requiredDuringSchedulingIgnoredDuringExecution!.nodeSelectorTerms[0].matchExpressions, [{ key: 'nvidia.com/gpu.product', operator: 'In', values: ['A', 'B'] }]);
    assert.equal(pod.nodeSelector, undefined);
    assert.equal(c.securityContext!.allowPrivilegeEscalation, false);
    assert.deepEqual(c.securityContext!.capabilities!.drop, ['ALL']);
    assert.ok(c.ports!.some((p) => p.containerPort === 8080));
    assert.ok(service(spec(), o, 'ns').spec!.ports!.some((p) => p.port === 8080));
  });

  it('StatefulSet: home claim with the configured class, deleted with the set', () => {
    const sts = statefulSet(spec({ deploymentMode: 'k8s_stateful' }), o, 'ns', {});
    assert.equal(sts.spec!.volumeClaimTemplates![0].spec!.storageClassName, 'fast');
    assert.equal(sts.spec!.persistentVolumeClaimRetentionPolicy!.whenDeleted, 'Delete');
    assert.equal(sts.spec!.volumeClaimTemplates![0].metadata!.labels!['dev.hangar.env-id'], spec().envId);
  });

  it('boot files must be flat under /.hangar; mounts are refused', () => {
    assert.equal(bootKey('/.hangar/init.sh'), 'init.sh');
    assert.throws(() => bootKey('/etc/passwd'), UnprocessableError);
    assert.throws(() => bootKey('/.hangar/a/b'), UnprocessableError);
    assert.throws(() => deployment(spec({ mounts: [{ type: 'bind', source: '/x', target: '/y' }] }), o, 'ns', {}), /mounts/);
  });

  it('NetworkPolicy admits only pods labelled with this gateway id', () => {
    const np = networkPolicy(o, 'ns');
    assert.deepEqual(np.spec!.ingress, [{ _from: [{ namespaceSelector: {}, podSelector: { matchLabels: { 'dev.hangar.gateway': 'gw1' } } }] }]);
  });

  it('refs and API errors', () => {
    assert.deepEqual(parseRef('ns/statefulset/n/id'), { namespace: 'ns', kind: 'statefulset', name: 'n', envId: 'id' });
    assert.throws(() => parseRef('abc'), UnprocessableError);
    assert.equal(apiMessage({ code: 404, body: '{"kind":"Status","message":"pods \\"x\\" not found"}' }), 'pods "x" not found');
    assert.equal(statusOf({ code: 409 }), 409);
    assert.equal(isUnreachable(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })), true);
    assert.equal(isUnreachable({ code: 404 }), false);
  });
});
