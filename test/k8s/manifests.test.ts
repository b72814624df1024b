// The EnvSpec → Kubernetes object mapping, without a cluster.
import assert from 'node:assert/strict';
import type { EnvSpec } from '../../daemon/contract';
import { apiMessage, isUnreachable, parseRef, statusOf } from '../../daemon/backends/kubernetes';
import { clusterGpus, podGpuRequests } from '../../daemon/backends/kubernetes/inventory';
import {
  bootKey,
  cronJob,
  deployment,
  gpuResources,
  job,
  namespaceFor,
  networkPolicy,
  objectName,
  publicPolicy,
  publicService,
  PULL_POLICY,
  service,
  statefulSet,
  teamNamespace,
  workloadKind,
} from '../../daemon/backends/kubernetes/manifests';
import { listState, workloadStatus } from '../../daemon/backends/kubernetes/status';
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { UnprocessableError } from '../../daemon/errors';

const o = {
  gatewayId: 'gw1',
  backendId: 'k8s',
  namespacePrefix: 'hangar',
  imagePullSecrets: ['regcred'],
  storageClass: 'fast',
};
const spec = (over: Partial<EnvSpec> = {}): EnvSpec => ({
  envId: '0123abcd-0000-4000-8000-000000000000',
  name: 'box',
  owner: 'ABCDEF12-3456',
  image: 'img:1',
  pullPolicy: 'never',
  cpu: 2,
  memoryMb: 1024,
  env: { A: '1' },
  ports: [{ container_port: 8080 }],
  mounts: [],
  gpus: { mode: 'none', deviceIds: [], count: 0 },
  files: [{ path: '/.hangar/init.sh', content: '#!/bin/sh\n', mode: 0o755 }],
  command: ['/bin/sh', '/.hangar/init.sh'],
  ...over,
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
    assert.equal(workloadKind(spec({ deploymentMode: 'k8s_job' })), 'job');
    assert.equal(workloadKind(spec({ deploymentMode: 'k8s_cronjob' })), 'cronjob');
    assert.throws(() => workloadKind(spec({ deploymentMode: 'vm' })), UnprocessableError);
  });

  it('namespaces: per team next to per user', () => {
    assert.equal(teamNamespace('hangar', 'vision'), 'hangar-team-vision');
  });

  it("Job: created suspended, runs the user's command once (no restart, no readiness probe), not retried", () => {
    const j = job(spec({ deploymentMode: 'k8s_job', runCommand: ['python', 'train.py'] }), o, 'ns', {});
    assert.equal(j.spec!.suspend, true);
    assert.equal(j.spec!.backoffLimit, 0);
    const pod = j.spec!.template.spec!;
    assert.equal(pod.restartPolicy, 'Never');
    assert.deepEqual(pod.containers[0].command!.slice(-2), ['python', 'train.py']);
    assert.equal(pod.containers[0].readinessProbe, undefined);
    assert.equal(j.spec!.template.metadata!.labels!['dev.hangar.env-id'], spec().envId);
    assert.throws(() => job(spec({ deploymentMode: 'k8s_job' }), o, 'ns', {}), /needs a command/);
  });

  it('startNow: made already started (one replica / not suspended, marked started)', () => {
    const d = deployment(spec({ startNow: true }), o, 'ns', {});
    assert.equal(d.spec!.replicas, 1);
    assert.equal(d.metadata!.annotations!['dev.hangar/started'], 'true');
    assert.equal(statefulSet(spec({ startNow: true }), o, 'ns', {}).spec!.replicas, 1);
    assert.equal(job(spec({ runCommand: ['true'], startNow: true }), o, 'ns', {}).spec!.suspend, false);
    assert.equal(
      cronJob(spec({ runCommand: ['true'], schedule: '@daily', startNow: true }), o, 'ns', {}).spec!.suspend,
      false,
    );
    assert.equal(deployment(spec(), o, 'ns', {}).metadata!.annotations, undefined);
  });

  it('CronJob: the schedule, suspended until started, runs never overlap, labels down to the pods', () => {
    const c = cronJob(
      spec({ deploymentMode: 'k8s_cronjob', schedule: '0 3 * * *', runCommand: ['true'] }),
      o,
      'ns',
      {},
    );
    assert.equal(c.spec!.schedule, '0 3 * * *');
    assert.equal(c.spec!.suspend, true);
    assert.equal(c.spec!.concurrencyPolicy, 'Forbid');
    assert.equal(c.spec!.jobTemplate.metadata!.labels!['dev.hangar.env-id'], spec().envId);
    assert.equal(c.spec!.jobTemplate.spec!.template.spec!.restartPolicy, 'Never');
    assert.throws(
      () => cronJob(spec({ deploymentMode: 'k8s_cronjob', runCommand: ['true'] }), o, 'ns', {}),
      /schedule/,
    );
  });

  it('GPU pods tolerate the GPU taint (configurable); CPU pods get no tolerations', () => {
    const gpu = spec({ gpus: { mode: 'exclusive', deviceIds: [], count: 1 } });
    assert.deepEqual(deployment(gpu, o, 'ns', {}).spec!.template.spec!.tolerations, [
      { key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' },
    ]);
    const custom = [{ key: 'gpu', operator: 'Equal', value: 'yes', effect: 'NoExecute' }];
    assert.deepEqual(
      deployment(gpu, { ...o, gpuTolerations: custom }, 'ns', {}).spec!.template.spec!.tolerations,
      custom,
    );
    assert.equal(deployment(spec(), o, 'ns', {}).spec!.template.spec!.tolerations, undefined);
  });

  it('env vars from Secrets become secretKeyRef (the daemon never reads the value)', () => {
    const env = deployment(spec({ secretEnv: { TOKEN: { secret: 'wandb', key: 'api-key' } } }), o, 'ns', {}).spec!
      .template.spec!.containers[0].env;
    assert.deepEqual(env, [
      { name: 'A', value: '1' },
      { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'wandb', key: 'api-key' } } },
    ]);
  });

  it("expose: a public NodePort/LoadBalancer Service for SSH and the env's ports (not Jupyter/VNC), and a policy admitting them", () => {
    assert.equal(publicService(spec(), o, 'ns'), undefined);
    assert.equal(publicPolicy(spec(), o, 'ns'), undefined);
    const s = spec({
      expose: 'node_port',
      ports: [{ container_port: 8080 }, { container_port: 5901, host_port: 15900 }, { container_port: 8888 }],
    });
    const pub = publicService(s, o, 'ns')!;
    assert.equal(pub.spec!.type, 'NodePort');
    assert.equal(pub.metadata!.name, 'box-0123abcd-public');
    assert.deepEqual(
      pub.spec!.ports!.map((p) => p.port),
      [22, 8080],
    );
    assert.equal(publicService({ ...s, expose: 'load_balancer' }, o, 'ns')!.spec!.type, 'LoadBalancer');
    assert.equal(service(s, o, 'ns').spec!.type, 'ClusterIP');
    const np = publicPolicy(s, o, 'ns')!;
    assert.deepEqual(np.spec!.podSelector!.matchLabels, { 'dev.hangar.env-id': spec().envId });
    assert.deepEqual(np.spec!.ingress, [
      {
        ports: [
          { port: 22, protocol: 'TCP' },
          { port: 8080, protocol: 'TCP' },
        ],
      },
    ]);
  });

  it("status: Job outcomes, CronJob schedule, pending with the scheduler's reason, refused pods", () => {
    const complete = { status: { conditions: [{ type: 'Complete', status: 'True' }] } };
    assert.deepEqual(workloadStatus('job', complete, []), { state: 'stopped', message: 'completed' });
    const failedPod = {
      metadata: { name: 'p' },
      status: {
        phase: 'Failed',
        containerStatuses: [
          {
            name: 'env',
            image: 'i',
            imageID: '',
            ready: false,
            restartCount: 0,
            state: { terminated: { exitCode: 3, reason: 'Error' } },
          },
        ],
      },
    } as V1Pod;
    const failed = workloadStatus(
      'job',
      {
        status: {
          conditions: [
            {
              type: 'Failed',
              status: 'True',
              reason: 'BackoffLimitExceeded',
              message: 'Job has reached the specified backoff limit',
            },
          ],
        },
      },
      [failedPod],
    );
    assert.equal(failed.state, 'failed');
    assert.match(
      failed.message!,
      /^BackoffLimitExceeded: Job has reached the specified backoff limit \(pod p: Error \(exit code 3\)\)$/,
    );
    assert.deepEqual(workloadStatus('job', { spec: { suspend: true } }, []), { state: 'created' });
    assert.deepEqual(
      workloadStatus(
        'job',
        { spec: { suspend: true }, metadata: { annotations: { 'dev.hangar/started': 'true' } } },
        [],
      ),
      { state: 'stopped' },
    );
    const cron = workloadStatus('cronjob', { spec: { suspend: false, schedule: '@daily' } }, []);
    assert.equal(cron.state, 'running');
    assert.match(cron.message!, /waiting for its schedule \(@daily\)/);
    const unsched = {
      metadata: { name: 'q' },
      status: {
        phase: 'Pending',
        conditions: [
          {
            type: 'PodScheduled',
            status: 'False',
            reason: 'Unschedulable',
            message: '0/5 nodes are available: 5 Insufficient nvidia.com/gpu.',
          },
        ],
      },
    } as V1Pod;
    assert.deepEqual(workloadStatus('deployment', { spec: { replicas: 1 } }, [unsched]), {
      state: 'pending',
      message: 'pod q is Pending: 0/5 nodes are available: 5 Insufficient nvidia.com/gpu.',
    });
    const refused = {
      spec: { replicas: 1 },
      status: {
        conditions: [
          {
            type: 'ReplicaFailure',
            status: 'True',
            reason: 'FailedCreate',
            message: 'pods "x" is forbidden: exceeded quota',
          },
        ],
      },
    };
    assert.deepEqual(workloadStatus('deployment', refused, []), {
      state: 'failed',
      message: 'FailedCreate: pods "x" is forbidden: exceeded quota',
    });
    assert.deepEqual(workloadStatus('statefulset', undefined, []), { state: 'missing' });
    assert.deepEqual(listState('job', complete), { state: 'stopped', message: 'completed' });
    assert.deepEqual(listState('cronjob', { spec: { suspend: false } }), { state: 'running' });
  });

  it("inventory: allocatable less what scheduled, unfinished pods request (init containers by the scheduler's rule)", () => {
    const node = (name: string, gpus: Record<string, string>): V1Node => ({
      metadata: {
        name,
        labels: { 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3', 'nvidia.com/gpu.memory': '81920' },
      },
      status: { allocatable: { cpu: '8', ...gpus }, conditions: [{ type: 'Ready', status: 'True' }] },
    });
    const pod = (
      nodeName: string | undefined,
      phase: string,
      limits: Record<string, string>,
      init: Record<string, string> = {},
    ): V1Pod => ({
      spec: {
        nodeName,
        containers: [{ name: 'a', resources: { limits } }],
        initContainers: Object.keys(init).length ? [{ name: 'i', resources: { limits: init } }] : undefined,
      },
      status: { phase },
    });
    assert.deepEqual(
      [...podGpuRequests(pod('n', 'Running', { 'nvidia.com/gpu': '2' }, { 'nvidia.com/gpu': '3' }))],
      [['nvidia.com/gpu', 3]],
    );
    const gpus = clusterGpus(
      'k',
      [node('n1', { 'nvidia.com/gpu': '8' }), node('n2', { 'nvidia.com/mig-1g.10gb': '7' }), node('cpu', {})],
      [
        pod('n1', 'Running', { 'nvidia.com/gpu': '2' }),
        pod('n1', 'Pending', { 'nvidia.com/gpu': '1', cpu: '1' }),
        pod('n1', 'Succeeded', { 'nvidia.com/gpu': '4' }), // done: holds nothing
        pod(undefined, 'Pending', { 'nvidia.com/gpu': '8' }), // not scheduled: holds nothing
        pod('n2', 'Running', { 'nvidia.com/mig-1g.10gb': '2' }),
      ],
    );
    assert.deepEqual(
      gpus.map((g) => [g.id, g.capacity, g.used, g.memory_mb]),
      [
        ['n1/nvidia.com/gpu', 8, 3, 81920],
        ['n2/nvidia.com/mig-1g.10gb', 7, 2, null],
      ],
    );
  });

  it('GPU resources: whole GPUs, MIG by profile, vgpu refused', () => {
    assert.deepEqual(gpuResources(spec()), {});
    assert.deepEqual(gpuResources(spec({ gpus: { mode: 'exclusive', deviceIds: [], count: 3 } })), {
      'nvidia.com/gpu': '3',
    });
    assert.deepEqual(gpuResources(spec({ gpus: { mode: 'mig', deviceIds: [], count: 2 }, gpuProfile: '1g.10gb' })), {
      'nvidia.com/mig-1g.10gb': '2',
    });
    assert.throws(() => gpuResources(spec({ gpus: { mode: 'mig', deviceIds: [], count: 1 } })), /gpu_mig_profile/);
    assert.throws(() => gpuResources(spec({ gpus: { mode: 'vgpu', deviceIds: [], count: 1 } })), /libvirt/);
  });

  it('pod: pull policy, pull secrets, limits = requests, hardening, several models by node affinity', () => {
    assert.deepEqual(PULL_POLICY, { always: 'Always', 'if-not-present': 'IfNotPresent', never: 'Never' });
    const dep = deployment(spec({ gpus: { mode: 'exclusive', deviceIds: [], count: 1 } }), o, 'ns', {
      products: ['A', 'B'],
    });
    const pod = dep.spec!.template.spec!;
    const c = pod.containers[0];
    assert.equal(dep.spec!.replicas, 0);
    assert.equal(c.imagePullPolicy, 'Never');
    assert.deepEqual(pod.imagePullSecrets, [{ name: 'regcred' }]);
    assert.deepEqual(c.resources, {
      limits: { 'nvidia.com/gpu': '1', cpu: '2', memory: '1024Mi' },
      requests: { 'nvidia.com/gpu': '1', cpu: '2', memory: '1024Mi' },
    });
    assert.deepEqual(
      pod.affinity!.nodeAffinity!.requiredDuringSchedulingIgnoredDuringExecution!.nodeSelectorTerms[0].matchExpressions,
      [{ key: 'nvidia.com/gpu.product', operator: 'In', values: ['A', 'B'] }],
    );
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
    assert.throws(
      () => deployment(spec({ mounts: [{ type: 'bind', source: '/x', target: '/y' }] }), o, 'ns', {}),
      /mounts/,
    );
  });

  it('NetworkPolicy admits only pods labelled with this gateway id', () => {
    const np = networkPolicy(o, 'ns');
    assert.deepEqual(np.spec!.ingress, [
      { _from: [{ namespaceSelector: {}, podSelector: { matchLabels: { 'dev.hangar.gateway': 'gw1' } } }] },
    ]);
  });

  it('refs and API errors', () => {
    assert.deepEqual(parseRef('ns/statefulset/n/id'), { namespace: 'ns', kind: 'statefulset', name: 'n', envId: 'id' });
    assert.deepEqual(parseRef('ns/cronjob/n/id'), { namespace: 'ns', kind: 'cronjob', name: 'n', envId: 'id' });
    assert.throws(() => parseRef('ns/pod/n/id'), UnprocessableError);
    assert.throws(() => parseRef('abc'), UnprocessableError);
    assert.equal(
      apiMessage({ code: 404, body: '{"kind":"Status","message":"pods \\"x\\" not found"}' }),
      'pods "x" not found',
    );
    assert.equal(statusOf({ code: 409 }), 409);
    assert.equal(
      isUnreachable(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })),
      true,
    );
    assert.equal(isUnreachable({ code: 404 }), false);
  });
});
