// hangar-agent on Kubernetes, as far as the test cluster goes: kwok nodes run no kubelet, so no pod starts and
// nothing here executes the agent. What is checked is what the API server stores: the init container from the
// configured agent_image, the emptyDir at /.hangar/bin, and with pod_security restricted a pod that meets the
// "restricted" Pod Security profile; a backend without agent_image refuses an explicit ssh_server agent.
import assert from 'node:assert/strict';
import { startDaemon, type TestDaemon } from '../helpers/daemon';
import { ensureCluster, k8sApis, k8sConfig } from '../helpers/k8s';
import { apiError } from '../helpers/apiError';
import { AGENT_BUSYBOX_IMAGE } from './openssh';

const id = Date.now().toString(36);

describe('agent: the Kubernetes pod spec carries hangar-agent (kwok: spec only)', function () {
  this.timeout(180_000);
  let d: TestDaemon;
  const ids: string[] = [];

  before(async () => {
    ensureCluster();
    d = await startDaemon({
      configYaml:
        k8sConfig('    agent_image: registry.example.com/mirror/hangar-agent:1\n    pod_security: restricted\n') +
        '  - id: k8s-plain\n    kind: kubernetes\n    kubeconfig: ' +
        k8sConfig().match(/kubeconfig: (\S+)/)![1] +
        `\n    namespace_prefix: hgag${id.slice(-4)}\n`,
    });
  });
  after(async () => {
    for (const e of ids) await d.admin.deleteEnvironment(e).catch(() => undefined);
    await d?.server.envs.idle();
    await d?.close();
  });

  it('an agent env: init container from agent_image, the agent volume, the restricted profile', async () => {
    const env = await d.admin.createEnvironment({
      name: `agk-${id}`,
      image: AGENT_BUSYBOX_IMAGE,
      deployment_mode: 'k8s_pod',
      backend_id: 'k8s',
      environment_type: 'terminal',
    });
    ids.push(env.id);
    assert.equal(env.ssh_server, 'agent');
    const { apps } = k8sApis();
    let dep;
    for (let i = 0; i < 60 && !dep; i++) {
      dep = (await apps.listDeploymentForAllNamespaces({ labelSelector: `dev.hangar.env-id=${env.id}` })).items[0];
      if (!dep) await new Promise((r) => setTimeout(r, 500));
    }
    assert.ok(dep, 'the Deployment exists');
    const pod = dep.spec!.template.spec!;
    const init = pod.initContainers?.[0];
    assert.equal(init?.image, 'registry.example.com/mirror/hangar-agent:1');
    assert.deepEqual(init?.command, ['/hangar-agent', 'install', '/agent/hangar-agent']);
    assert.ok(pod.volumes!.some((v) => v.name === 'hangar-agent' && v.emptyDir));
    const main = pod.containers[0];
    assert.ok(main.volumeMounts!.some((m) => m.name === 'hangar-agent' && m.mountPath === '/.hangar/bin'));
    // Pod Security "restricted": non-root, RuntimeDefault seccomp, ALL dropped, no escalation — both containers.
    assert.equal(pod.securityContext?.runAsNonRoot, true);
    assert.equal(pod.securityContext?.runAsUser, 1000);
    assert.equal(pod.securityContext?.seccompProfile?.type, 'RuntimeDefault');
    for (const c of [main, init!]) {
      assert.deepEqual(c.securityContext?.capabilities?.drop, ['ALL'], c.name);
      assert.equal(c.securityContext?.capabilities?.add, undefined, c.name);
      assert.equal(c.securityContext?.allowPrivilegeEscalation, false, c.name);
    }
    // Non-root can't bind 22: the agent listens on 2222, the probe and the port follow.
    assert.equal(main.readinessProbe?.tcpSocket?.port, 2222);
    assert.ok(main.ports!.some((p) => p.name === 'ssh' && p.containerPort === 2222));
  });

  it("restricted is the API server's own Pod Security admission: the env's pod is admitted, a root pod is not", async () => {
    const { core, apps } = k8sApis();
    const dep = (await apps.listDeploymentForAllNamespaces({ labelSelector: `dev.hangar.env-id=${ids[0]}` })).items[0];
    const namespace = dep.metadata!.namespace!;
    const ns = await core.readNamespace({ name: namespace });
    assert.equal(ns.metadata?.labels?.['pod-security.kubernetes.io/enforce'], 'restricted');
    // The ReplicaSet controller made the pod through admission (kwok then "runs" it without executing anything).
    let pods: unknown[] = [];
    for (let i = 0; i < 60 && !pods.length; i++) {
      pods = (await core.listNamespacedPod({ namespace, labelSelector: `dev.hangar.env-id=${ids[0]}` })).items;
      if (!pods.length) await new Promise((r) => setTimeout(r, 500));
    }
    assert.equal(pods.length, 1, 'the restricted pod was admitted');
    // The same namespace refuses a pod that runs as root with the default capabilities (a dry run: nothing made).
    const root = {
      metadata: { name: `root-${id}` },
      spec: { containers: [{ name: 'c', image: AGENT_BUSYBOX_IMAGE }] },
    };
    await assert.rejects(
      core.createNamespacedPod({ namespace, body: root, dryRun: 'All' }),
      (e: { code?: number; body?: string }) =>
        e.code === 403 && /violates PodSecurity\W+restricted/.test(String(e.body)),
    );
  });

  it('a backend without agent_image: the default falls back to the image sshd; an explicit agent is a 400', async () => {
    const env = await d.admin.createEnvironment({
      name: `agp-${id}`,
      image: AGENT_BUSYBOX_IMAGE,
      deployment_mode: 'k8s_pod',
      backend_id: 'k8s-plain',
      environment_type: 'terminal',
    });
    ids.push(env.id);
    assert.equal(env.ssh_server, 'image');
    const e = await apiError(
      d.admin.createEnvironment({
        name: `agx-${id}`,
        image: AGENT_BUSYBOX_IMAGE,
        deployment_mode: 'k8s_pod',
        backend_id: 'k8s-plain',
        environment_type: 'terminal',
        ssh_server: 'agent',
      }),
    );
    assert.equal(e.status, 400);
    assert.equal(e.field, 'ssh_server');
  });
});
