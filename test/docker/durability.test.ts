// Durable provisioning: kill -9 the daemon mid-create, restart, and nothing is orphaned; reconcile marks,
// adopts what changed behind its back, and keeps objects with no row for an admin (a restored database).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { spawnDaemon, startDaemon } from '../helpers/daemon';
import { containersWith, docker, inspect, SSH_IMAGE } from '../helpers/docker';
import { tmpDir } from '../helpers/tmp';
import { apiError } from '../helpers/apiError';
import { HangarClient } from '../../common/client';

const gatewayOf = (dataDir: string) => fs.readFileSync(path.join(dataDir, 'gateway.id'), 'utf8').trim();

describe('docker: durability and reconciliation', function () {
  this.timeout(180_000);

  for (const when of ['right after the API answered', 'once the container exists']) {
    it(`kill -9 ${when}: after restart the env runs in exactly one container`, async () => {
      const dataDir = tmpDir('hangard-kill-');
      let daemon = await spawnDaemon(dataDir);
      const env = await daemon.admin.createEnvironment({
        name: 'durable',
        image: SSH_IMAGE,
        image_pull_policy: 'never',
        environment_type: 'terminal',
      });
      if (when.startsWith('once')) {
        const deadline = Date.now() + 30_000;
        while ((await containersWith(`dev.hangar.env-id=${env.id}`)).length === 0 && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 20));
      }
      await daemon.kill('SIGKILL');
      daemon = await spawnDaemon(dataDir);
      try {
        const running = await daemon.admin.waitFor(env.id, ['running'], { timeoutMs: 90_000 });
        const cs = await containersWith(`dev.hangar.env-id=${env.id}`);
        assert.equal(cs.length, 1, 'exactly one container');
        assert.equal(running.backend_ref, cs[0]);
        assert.equal((await containersWith(`dev.hangar.gateway=${gatewayOf(dataDir)}`)).length, 1, 'no orphan');
        await daemon.admin.deleteEnvironment(env.id);
        assert.deepEqual(await containersWith(`dev.hangar.gateway=${gatewayOf(dataDir)}`), []);
      } finally {
        await daemon.kill('SIGTERM');
      }
    });
  }

  it('a create interrupted before its container id was recorded adopts the container by label', async () => {
    const d = await startDaemon();
    try {
      const env = await d.admin.createEnvironment({
        name: 'adopt',
        image: SSH_IMAGE,
        image_pull_policy: 'never',
        environment_type: 'terminal',
      });
      await d.admin.waitFor(env.id, ['running']);
      await d.close();
      // As if the daemon died between "container created" and "ref recorded".
      const db = new SQLite(path.join(d.dataDir, 'hangar.db'));
      db.prepare("update environments set backend_ref = null, status = 'creating' where id = ?").run(env.id);
      db.close();
      const d2 = await startDaemon({ dataDir: d.dataDir });
      try {
        const again = await d2.admin.waitFor(env.id, ['running']);
        assert.equal((await containersWith(`dev.hangar.env-id=${env.id}`)).length, 1);
        assert.ok(again.backend_ref);
        await d2.admin.deleteEnvironment(env.id);
      } finally {
        await d2.close();
      }
    } finally {
      await d.close().catch(() => undefined);
    }
  });

  it('reconcile marks a container removed behind our back, syncs one stopped behind our back, keeps an unrecorded one for an admin', async () => {
    const d = await startDaemon();
    try {
      const a = await d.admin.createEnvironment({
        name: 'gone',
        image: SSH_IMAGE,
        image_pull_policy: 'never',
        environment_type: 'terminal',
      });
      const b = await d.admin.createEnvironment({
        name: 'halted',
        image: SSH_IMAGE,
        image_pull_policy: 'never',
        environment_type: 'terminal',
      });
      const ea = await d.admin.waitFor(a.id, ['running']);
      const eb = await d.admin.waitFor(b.id, ['running']);
      await docker('rm', '-f', ea.backend_ref!);
      await docker('stop', '-t', '1', eb.backend_ref!);
      // An object with our gateway's label and no row: only a restore or another data dir makes one. Kept, listed.
      const stray = await docker(
        'create',
        '--label',
        'dev.hangar.managed=true',
        '--label',
        `dev.hangar.gateway=${gatewayOf(d.dataDir)}`,
        '--label',
        'dev.hangar.backend=local',
        '--label',
        'dev.hangar.env-id=00000000-0000-0000-0000-000000000000',
        SSH_IMAGE,
      );
      // Another gateway's container is not ours to touch, nor to list.
      const foreign = await docker(
        'create',
        '--label',
        'dev.hangar.managed=true',
        '--label',
        'dev.hangar.gateway=someone-else',
        '--label',
        'dev.hangar.env-id=11111111-0000-0000-0000-000000000000',
        SSH_IMAGE,
      );
      const [report] = await d.server.reconciler.run();
      assert.deepEqual(report.markedMissing, ['gone']);
      assert.deepEqual(report.statusSynced, ['halted']);
      assert.deepEqual(report.orphans, ['00000000-0000-0000-0000-000000000000']);
      const ga = await d.admin.getEnvironment(a.id);
      assert.equal(ga.status, 'missing');
      assert.match(ga.status_message!, /removed from backend 'local' outside Hangar/);
      assert.equal((await d.admin.getEnvironment(b.id)).status, 'stopped');
      assert.ok(await inspect(stray), 'not deleted by the reconciler');
      const orphans = await d.admin.orphans();
      assert.deepEqual(
        orphans.map((o) => [o.ref, o.backend_ref, o.adoptable]),
        [['00000000-0000-0000-0000-000000000000', stray, false]],
      );
      // Without a record there is nothing to rebuild a row from: 422; an admin removes it.
      assert.equal((await apiError(d.admin.adoptOrphan(orphans[0].ref))).status, 422);
      await d.admin.removeOrphan(orphans[0].ref);
      await assert.rejects(inspect(stray));
      assert.ok(await inspect(foreign));
      await docker('rm', '-f', foreign);
      for (const id of [a.id, b.id]) await d.admin.deleteEnvironment(id);
      assert.deepEqual(await containersWith(`dev.hangar.gateway=${gatewayOf(d.dataDir)}`), []);
    } finally {
      await d.close();
    }
  });

  it("a restored database: the reconciler keeps the newer env's container, an admin adopts it (a working row) or removes it; others get 403", async () => {
    const d = await startDaemon();
    try {
      const bob = await d.admin.createUser(`bob${Date.now() % 100000}`);
      const asBob = new HangarClient({ url: d.url, token: bob.token });
      const keep = await asBob.createEnvironment({
        name: 'newer',
        image: SSH_IMAGE,
        image_pull_policy: 'never',
        environment_type: 'terminal',
        cpu: 0.5,
      });
      const drop = await d.admin.createEnvironment({
        name: 'dropme',
        image: SSH_IMAGE,
        image_pull_policy: 'never',
        environment_type: 'terminal',
      });
      const running = await asBob.waitFor(keep.id, ['running']);
      const dropped = await d.admin.waitFor(drop.id, ['running']);
      // As if the database were an older copy: both rows gone, their containers still there.
      const db = new SQLite(path.join(d.dataDir, 'hangar.db'));
      db.prepare('delete from environments where id in (?, ?)').run(keep.id, drop.id);
      db.close();
      const [report] = await d.server.reconciler.run();
      assert.deepEqual(report.orphans.sort(), [keep.id, drop.id].sort());
      assert.equal((await inspect(running.backend_ref!)).State.Running, true, 'live work is not deleted');
      assert.equal((await apiError(asBob.orphans())).status, 403);
      assert.equal((await apiError(asBob.adoptOrphan(keep.id))).status, 403);
      assert.equal((await apiError(asBob.removeOrphan(keep.id))).status, 403);
      const listed = await d.admin.orphans();
      assert.deepEqual(
        listed.find((o) => o.ref === keep.id),
        {
          ref: keep.id,
          backend_id: 'local',
          backend_ref: running.backend_ref,
          state: 'running',
          name: 'newer',
          owner_id: bob.user.id,
          image: SSH_IMAGE,
          deployment_mode: 'docker_local',
          adoptable: true,
        },
      );
      const adopted = await d.admin.adoptOrphan(keep.id);
      assert.deepEqual(
        [
          adopted.id,
          adopted.name,
          adopted.owner_id,
          adopted.status,
          adopted.backend_ref,
          adopted.cpu,
          adopted.host_key,
          adopted.created_at,
        ],
        [keep.id, 'newer', bob.user.id, 'running', running.backend_ref, 0.5, running.host_key, running.created_at],
      );
      // The owner has it back and it works: a tunnel to its sshd answers, stop and start go through.
      assert.equal((await asBob.getEnvironment('newer')).status, 'running');
      const { firstBytes, isSshBanner } = await import('../../daemon/backends/shared/probe');
      assert.ok(isSshBanner(await firstBytes(await d.server.envs.openTunnel(bob.user, keep.id, 22, { audit: false }))));
      assert.equal((await asBob.action('newer', 'stop')).status, 'stopped');
      assert.equal((await asBob.action('newer', 'start')).status, 'running');
      await d.admin.removeOrphan(drop.id);
      await assert.rejects(inspect(dropped.backend_ref!));
      assert.deepEqual(await d.admin.orphans(), []);
      assert.deepEqual((await d.server.reconciler.run())[0].orphans, []);
      await asBob.deleteEnvironment(keep.id);
      assert.deepEqual(await containersWith(`dev.hangar.gateway=${gatewayOf(d.dataDir)}`), []);
    } finally {
      await d.close();
    }
  });
});
