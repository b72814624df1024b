// Batch training as a Job (k8s_job) and scheduled training as a CronJob (k8s_cronjob), on the test control plane.
// kwok runs a Job's pod to Succeeded at once (test/setup/k8s/kwok-stages.yaml), so a Job completes for real.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { AppsV1Api, BatchV1Api, CoreV1Api } from '@kubernetes/client-node';
import { startDaemon, type TestDaemon } from '../helpers/daemon';
import { ensureCluster, eventLog, eventually, IMAGE, k8sApis, k8sConfig, objectsOf, podsOf } from '../helpers/k8s';
import { apiError } from '../helpers/apiError';

describe('k8s: Job and CronJob environments', function () {
  this.timeout(120_000);
  let d: TestDaemon;
  let core: CoreV1Api;
  let batch: BatchV1Api;
  let apps: AppsV1Api;
  let gatewayId: string;

  before(async function () {
    this.timeout(900_000);
    ensureCluster();
    ({ core, batch, apps } = k8sApis());
    d = await startDaemon({ configYaml: k8sConfig() });
    gatewayId = fs.readFileSync(path.join(d.dataDir, 'gateway.id'), 'utf8').trim();
  });

  after(async () => {
    for (const e of (await d?.admin.listEnvironments().catch(() => [])) ?? [])
      await d.admin.deleteEnvironment(e.id).catch(() => undefined);
    await d?.close();
    const nss = await core
      .listNamespace({ labelSelector: `dev.hangar.gateway=${gatewayId}` })
      .catch(() => ({ items: [] }));
    for (const ns of nss.items) await core.deleteNamespace({ name: ns.metadata!.name! }).catch(() => undefined);
  });

  it('k8s_job: a Job runs the command on a GPU node and completes → stopped "completed" (pushed by the watch); start runs it again', async () => {
    const log = await eventLog(d.url, d.token);
    try {
      const created = await d.admin.createEnvironment({
        name: 'train-once',
        image: IMAGE,
        deployment_mode: 'k8s_job',
        environment_type: 'training',
        backend_id: 'k8s',
        command: ['python', 'train.py', '--epochs', '3'],
        gpu_mode: 'exclusive',
        gpu_count: 2,
        gpu_model: 'A100',
        env_vars: { SEED: '7' },
      });
      const env = await d.admin.waitFor(created.id, ['stopped'], { timeoutMs: 60_000 });
      assert.equal(env.status_message, 'completed');
      assert.deepEqual(env.command, ['python', 'train.py', '--epochs', '3']);
      const [namespace, kind, name] = env.backend_ref!.split('/');
      assert.equal(kind, 'job');
      const job = await batch.readNamespacedJob({ name, namespace });
      assert.equal(job.spec!.suspend, false);
      assert.ok(job.status!.conditions!.some((c) => c.type === 'Complete' && c.status === 'True'));
      const pod = job.spec!.template.spec!;
      assert.deepEqual(pod.containers[0].command!.slice(-4), ['python', 'train.py', '--epochs', '3']);
      assert.equal(pod.restartPolicy, 'Never');
      assert.deepEqual(pod.containers[0].resources!.limits, { 'nvidia.com/gpu': '2' });
      assert.deepEqual(
        pod.tolerations!.map((t) => ({ ...t })),
        [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
      );
      const [ran] = (await core.listNamespacedPod({ namespace, labelSelector: `dev.hangar.env-id=${env.id}` })).items;
      assert.equal(ran.status!.phase, 'Succeeded');
      assert.match(ran.spec!.nodeName!, /^gpu-a100-[01]$/);
      await log.next(
        (e) => e.environment_id === env.id && e.status === 'stopped' && e.message === 'completed',
        'stopped: completed',
      );

      // Start = run it again: the finished Job is made anew from its own template.
      await d.admin.action(env.id, 'start');
      const again = await d.admin.waitFor(env.id, ['stopped'], { timeoutMs: 60_000 });
      assert.equal(again.status_message, 'completed');
      const job2 = await batch.readNamespacedJob({ name, namespace });
      assert.notEqual(job2.metadata!.uid, job.metadata!.uid);
      assert.ok(job2.status!.conditions!.some((c) => c.type === 'Complete' && c.status === 'True'));

      await d.server.reconciler.run();
      assert.equal((await d.admin.getEnvironment(env.id)).status, 'stopped');
      await d.admin.deleteEnvironment(env.id);
      await eventually(async () => (await objectsOf(namespace, env.id)).length === 0, 'nothing of the Job env left');
    } finally {
      log.close();
    }
  });

  it('k8s_job: stop suspends the Job (its pod goes), start resumes it', async () => {
    // 9 GPUs: the pod can't be placed, so the Job stays active and can be suspended.
    const created = await d.admin.createEnvironment({
      name: 'train-big',
      image: IMAGE,
      deployment_mode: 'k8s_job',
      environment_type: 'training',
      backend_id: 'k8s',
      command: ['true'],
      gpu_mode: 'exclusive',
      gpu_count: 9,
    });
    const env = await d.admin.waitFor(created.id, ['pending'], { timeoutMs: 60_000 });
    assert.match(env.status_message ?? '', /Insufficient nvidia\.com\/gpu/);
    const [namespace, , name] = env.backend_ref!.split('/');
    const stopped = await d.admin.action(env.id, 'stop');
    assert.equal(stopped.status, 'stopped');
    assert.equal((await batch.readNamespacedJob({ name, namespace })).spec!.suspend, true);
    assert.equal((await podsOf(env)).length, 0);
    const resumed = await d.admin.action(env.id, 'start');
    assert.equal(resumed.status, 'pending');
    assert.equal((await batch.readNamespacedJob({ name, namespace })).spec!.suspend, false);
    await d.admin.deleteEnvironment(env.id);
    await eventually(
      async () => (await objectsOf(namespace, env.id)).length === 0,
      'nothing of the suspended Job left',
    );
  });

  it('k8s_cronjob: a CronJob on its schedule; stop suspends, start resumes; its runs are part of it', async () => {
    const created = await d.admin.createEnvironment({
      name: 'nightly',
      image: IMAGE,
      deployment_mode: 'k8s_cronjob',
      environment_type: 'training',
      backend_id: 'k8s',
      schedule: '30 2 * * *',
      command: ['python', 'nightly.py'],
    });
    const env = await d.admin.waitFor(created.id, ['running'], { timeoutMs: 60_000 });
    assert.equal(env.schedule, '30 2 * * *');
    assert.match(env.status_message ?? '', /waiting for its schedule \(30 2 \* \* \*\)/);
    const [namespace, kind, name] = env.backend_ref!.split('/');
    assert.equal(kind, 'cronjob');
    const cj = await batch.readNamespacedCronJob({ name, namespace });
    assert.equal(cj.spec!.schedule, '30 2 * * *');
    assert.equal(cj.spec!.suspend, false);
    assert.equal(cj.spec!.concurrencyPolicy, 'Forbid');
    assert.deepEqual(cj.spec!.jobTemplate.spec!.template.spec!.containers[0].command!.slice(-2), [
      'python',
      'nightly.py',
    ]);

    // A run made now from the CronJob (what `kubectl create job --from=cronjob/...` does): owned by it, so
    // reconcile neither adopts nor removes it, and it completes.
    const run = await batch.createNamespacedJob({
      namespace,
      body: {
        metadata: {
          name: `${name}-manual`,
          labels: cj.spec!.jobTemplate.metadata!.labels,
          ownerReferences: [
            { apiVersion: 'batch/v1', kind: 'CronJob', name, uid: cj.metadata!.uid!, controller: true },
          ],
        },
        spec: cj.spec!.jobTemplate.spec!,
      },
    });
    await eventually(
      async () =>
        (await batch.readNamespacedJob({ name: run.metadata!.name!, namespace })).status?.conditions?.some(
          (c) => c.type === 'Complete',
        ),
      'the run completes',
    );
    const [r] = await d.server.reconciler.run();
    assert.deepEqual([r.orphans, r.adopted, r.statusSynced], [[], [], []]);
    assert.equal((await d.admin.getEnvironment(env.id)).status, 'running');

    const stopped = await d.admin.action(env.id, 'stop');
    assert.equal(stopped.status, 'stopped');
    assert.equal((await batch.readNamespacedCronJob({ name, namespace })).spec!.suspend, true);
    const started = await d.admin.action(env.id, 'start');
    assert.equal(started.status, 'running');
    assert.equal((await batch.readNamespacedCronJob({ name, namespace })).spec!.suspend, false);

    await d.admin.deleteEnvironment(env.id);
    await eventually(
      async () => (await objectsOf(namespace, env.id)).length === 0,
      'nothing of the CronJob env left (its runs included)',
    );
    assert.equal(
      (await apps.listNamespacedDeployment({ namespace, labelSelector: `dev.hangar.env-id=${env.id}` })).items.length,
      0,
    );
  });

  it('bad batch input is a 400 naming the field, before anything is made', async () => {
    const base = { name: 'bad', image: IMAGE, environment_type: 'training' as const, backend_id: 'k8s' };
    const cases: [object, string][] = [
      [{ deployment_mode: 'k8s_cronjob', command: ['x'] }, 'schedule'],
      [{ deployment_mode: 'k8s_cronjob', command: ['x'], schedule: '0 3 * *' }, 'schedule'],
      [{ deployment_mode: 'k8s_pod', schedule: '@daily' }, 'schedule'],
      [{ deployment_mode: 'k8s_job' }, 'command'],
    ];
    for (const [body, field] of cases) {
      const e = await apiError(d.admin.createEnvironment({ ...base, ...body }));
      assert.equal(e.status, 400, JSON.stringify(body));
      assert.equal(e.field, field);
    }
    assert.equal((await d.admin.listEnvironments()).filter((e) => e.name === 'bad').length, 0);
  });
});
