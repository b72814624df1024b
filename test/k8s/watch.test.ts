// Status from watches: changes made behind the daemon's back (directly with client-node) reach the event stream
// without a reconcile pass (the daemon's periodic one is an hour away here); a watch that drops comes back and
// is followed by a reconcile.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { PatchStrategy, setHeaderOptions, type AppsV1Api, type CoreV1Api } from '@kubernetes/client-node';
import type { Environment } from '../../common/model';
import { startDaemon, type TestDaemon } from '../helpers/daemon';
import { ensureCluster, eventLog, eventually, IMAGE, k8sApis, k8sConfig, KUBECONFIG, podsOf } from '../helpers/k8s';
import { tmpDir } from '../helpers/tmp';

const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** A TCP relay in front of the API server that can be cut: open connections reset, new ones refused. */
async function relay(target: { host: string; port: number }) {
  let down = false;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((c) => {
    if (down) {
      c.destroy();
      return;
    }
    const up = net.connect(target.port, target.host);
    for (const s of [c, up]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    c.pipe(up).pipe(c);
    const end = () => {
      c.destroy();
      up.destroy();
    };
    c.on('close', end);
    up.on('close', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    cut() {
      down = true;
      for (const s of sockets) s.destroy();
    },
    restore() {
      down = false;
    },
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

describe('k8s: status from watches', function () {
  this.timeout(120_000);
  let core: CoreV1Api;
  let apps: AppsV1Api;
  const daemons: TestDaemon[] = [];

  before(function () {
    this.timeout(900_000);
    ensureCluster();
    ({ core, apps } = k8sApis());
  });

  after(async () => {
    for (const d of daemons) {
      for (const e of (await d.admin.listEnvironments().catch(() => [])) ?? [])
        await d.admin.deleteEnvironment(e.id).catch(() => undefined);
      const gatewayId = fs.readFileSync(path.join(d.dataDir, 'gateway.id'), 'utf8').trim();
      await d.close();
      const nss = await core
        .listNamespace({ labelSelector: `dev.hangar.gateway=${gatewayId}` })
        .catch(() => ({ items: [] }));
      for (const ns of nss.items) await core.deleteNamespace({ name: ns.metadata!.name! }).catch(() => undefined);
    }
  });

  const create = async (d: TestDaemon, name: string): Promise<Environment> =>
    d.admin.waitFor(
      (
        await d.admin.createEnvironment({
          name,
          image: IMAGE,
          deployment_mode: 'k8s_pod',
          environment_type: 'terminal',
          backend_id: 'k8s',
        })
      ).id,
      ['running'],
      { timeoutMs: 60_000 },
    );

  it('a pod deleted behind our back comes back (the Deployment makes a new one); scaled to zero → stopped; owner deleted → missing', async () => {
    const d = await startDaemon({ configYaml: k8sConfig() });
    daemons.push(d);
    let reconciles = 0;
    const run = d.server.reconciler.run.bind(d.server.reconciler);
    d.server.reconciler.run = () => {
      reconciles++;
      return run();
    };
    const env = await create(d, 'watched');
    await d.server.reconciler.run(); // the start-up pass is over: count from here
    const before = reconciles;
    const [namespace, , name] = env.backend_ref!.split('/');
    const log = await eventLog(d.url, d.token);
    try {
      const [pod] = await podsOf(env);
      await core.deleteNamespacedPod({ name: pod.metadata!.name!, namespace, gracePeriodSeconds: 0 });
      const again = await eventually(
        async () =>
          (await podsOf(env)).find((p) => p.metadata!.uid !== pod.metadata!.uid && p.status?.phase === 'Running'),
        'a new pod',
      );
      assert.ok(again);
      assert.equal((await d.admin.getEnvironment(env.id)).status, 'running');

      await apps.patchNamespacedDeployment({ name, namespace, body: { spec: { replicas: 0 } } }, MERGE);
      const stopped = await log.next((e) => e.environment_id === env.id && e.status === 'stopped', 'stopped');
      assert.equal(stopped.message, 'stopped outside Hangar');
      assert.equal((await d.admin.getEnvironment(env.id)).status, 'stopped');

      await apps.deleteNamespacedDeployment({ name, namespace });
      const missing = await log.next((e) => e.environment_id === env.id && e.status === 'missing', 'missing');
      assert.equal(missing.message, "removed from backend 'k8s' outside Hangar");
      const got = await d.admin.getEnvironment(env.id);
      assert.equal(got.status, 'missing');
      assert.equal(got.status_message, "removed from backend 'k8s' outside Hangar");
      assert.equal(reconciles, before, 'the watch, not a reconcile pass, saw it');
      await d.admin.deleteEnvironment(env.id);
    } finally {
      log.close();
    }
  });

  it('a watch that drops is re-established with backoff, and a reconcile follows; what changed meanwhile arrives', async () => {
    const server = new URL(fs.readFileSync(KUBECONFIG, 'utf8').match(/server:\s*(\S+)/)![1]);
    const r = await relay({ host: server.hostname, port: Number(server.port) });
    const kubeconfig = path.join(tmpDir('hangar-kc-'), 'kubeconfig');
    fs.writeFileSync(
      kubeconfig,
      fs.readFileSync(KUBECONFIG, 'utf8').replace(`server: ${server.origin}`, `server: https://127.0.0.1:${r.port}`),
    );
    const lines: string[] = [];
    const d = await startDaemon({ configYaml: k8sConfig('', kubeconfig), logLines: lines });
    daemons.push(d);
    let reconciles = 0;
    const run = d.server.reconciler.run.bind(d.server.reconciler);
    d.server.reconciler.run = () => {
      reconciles++;
      return run();
    };
    try {
      const env = await create(d, 'through-relay');
      const [namespace, , name] = env.backend_ref!.split('/');
      const before = reconciles;
      const log = await eventLog(d.url, d.token);
      try {
        r.cut();
        await eventually(async () => lines.some((l) => /watch dropped/.test(l)), 'the watch noticing');
        // Changed while the daemon can't see the cluster.
        await apps.deleteNamespacedDeployment({ name, namespace });
        // A retry has failed too, and the next one waits longer (backoff).
        await eventually(
          async () => lines.some((l) => /watch dropped/.test(l) && /"retryInMs":2000/.test(l)),
          'a second, longer wait',
        );
        r.restore();
        await log.next(
          (e) => e.environment_id === env.id && e.status === 'missing',
          'missing after the watch is back',
          60_000,
        );
        await eventually(async () => lines.some((l) => /watch re-established/.test(l)), 'watch re-established', 60_000);
        await eventually(async () => reconciles > before, 'a reconcile after the watch came back', 60_000);
        assert.equal((await d.admin.getEnvironment(env.id)).status, 'missing');
        await d.admin.deleteEnvironment(env.id);
      } finally {
        log.close();
      }
    } finally {
      r.close();
    }
  });
});
