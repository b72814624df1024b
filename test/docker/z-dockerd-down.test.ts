// Runs last in the docker area (files are sorted): it stops the shared dockerd and brings it back.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ApiError } from '../../common/client';
import { startDaemon } from '../helpers/daemon';
import { containersWith, SSH_IMAGE } from '../helpers/docker';

function dockerdPid(): number | undefined {
  try {
    return Number(execFileSync('pgrep', ['-x', 'dockerd']).toString().trim().split('\n')[0]);
  } catch {
    return undefined;
  }
}

async function waitGone(pid: number): Promise<void> {
  for (let i = 0; i < 300; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('dockerd did not stop');
}

describe('docker: dockerd stopped mid-test', function () {
  this.timeout(240_000);

  it('answers 503 naming the backend, deletes nothing, and recovers when dockerd returns', async () => {
    const d = await startDaemon();
    const gw = `dev.hangar.gateway=${fs.readFileSync(path.join(d.dataDir, 'gateway.id'), 'utf8').trim()}`;
    try {
      const env = await d.admin.createEnvironment({
        name: 'survivor',
        image: SSH_IMAGE,
        image_pull_policy: 'never',
        environment_type: 'terminal',
      });
      const before = await d.admin.waitFor(env.id, ['running']);
      const pid = dockerdPid();
      assert.ok(pid, 'dockerd is running');
      process.kill(pid, 'SIGTERM');
      await waitGone(pid);

      for (const call of [
        () => d.admin.action(env.id, 'stop'),
        () => d.admin.createEnvironment({ name: 'during', image: SSH_IMAGE }),
        () => d.admin.deleteEnvironment(env.id),
      ]) {
        const e = await call().then(
          () => undefined,
          (x) => x as ApiError,
        );
        assert.ok(e instanceof ApiError);
        assert.equal(e.status, 503);
        assert.match(e.message, /backend 'local' is unavailable/);
      }
      const [report] = await d.server.reconciler.run();
      assert.equal(report.available, false);
      const still = await d.admin.getEnvironment(env.id);
      assert.equal(still.backend_ref, before.backend_ref, 'nothing forgotten');
      assert.notEqual(still.status, 'missing');
      assert.equal((await d.admin.backends())[0].available, false);

      execFileSync('bash', [path.resolve(__dirname, '../setup/start-dockerd.sh')], { stdio: 'inherit' });
      await d.server.reconciler.run();
      // The container comes back (restart policy unless-stopped) and the env is usable again.
      const deadline = Date.now() + 60_000;
      let now = await d.admin.getEnvironment(env.id);
      while (now.status !== 'running' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 500));
        await d.server.reconciler.run();
        now = await d.admin.getEnvironment(env.id);
      }
      if (now.status !== 'running') now = await d.admin.action(env.id, 'start');
      assert.equal(now.status, 'running');
      assert.equal(now.backend_ref, before.backend_ref);
      assert.equal((await containersWith(gw)).length, 1);
      await d.admin.deleteEnvironment(env.id);
      assert.deepEqual(await containersWith(gw), []);
    } finally {
      await d.close();
    }
  });
});
