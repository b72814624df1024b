// hangard backup / restore with a real dockerd: an online backup of a running gateway, restored into a fresh data
// dir, gives a daemon that sees the same envs under the same gateway id (its containers are not 'missing').
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { startDaemon } from '../helpers/daemon';
import { containersWith, inspect, SSH_IMAGE } from '../helpers/docker';
import { tmpDir } from '../helpers/tmp';

const hangard = (...args: string[]) =>
  promisify(execFile)(process.execPath, [path.resolve(__dirname, '../../dist/hangard.js'), ...args]);
const failure = (p: Promise<unknown>) =>
  p.then(
    () => assert.fail('expected a failure'),
    (e: { code: number; stderr: string }) => e,
  );

describe('docker: backup and restore', function () {
  this.timeout(180_000);

  it('backup (online, 0600), restore into a fresh dir: same envs, same gateway id, containers not missing', async () => {
    const d = await startDaemon();
    const archive = path.join(tmpDir('hangar-bk-'), 'hangar.tar');
    let env;
    try {
      env = await d.admin.waitFor(
        (
          await d.admin.createEnvironment({
            name: 'kept',
            image: SSH_IMAGE,
            image_pull_policy: 'never',
            environment_type: 'ide',
          })
        ).id,
        ['running'],
      );
      // Online: while the daemon runs.
      const r = await hangard('backup', archive, '--data-dir', d.dataDir);
      assert.match(r.stderr, new RegExp(`backed up to .* \\(gateway ${d.server.gatewayId}\\)`));
      assert.equal(fs.statSync(archive).mode & 0o777, 0o600);
      // A running daemon's data dir is not restored over, even with --force.
      const busy = await failure(hangard('restore', archive, '--force', '--data-dir', d.dataDir));
      assert.equal(busy.code, 1);
      assert.match(busy.stderr, /hangard \(pid \d+\) is running on/);
    } finally {
      await d.close();
    }
    const fresh = path.join(tmpDir('hangar-restored-'), 'data');
    await hangard('restore', archive, '--data-dir', fresh);
    for (const f of ['hangar.db', 'secret.key', 'gateway.id'])
      assert.equal(fs.statSync(path.join(fresh, f)).mode & 0o777, 0o600, f);
    const again = await failure(hangard('restore', archive, '--data-dir', fresh));
    assert.match(again.stderr, /is not empty .*--force/);
    assert.equal((await failure(hangard('restore', '--data-dir', fresh))).code, 2);

    const d2 = await startDaemon({ dataDir: fresh });
    try {
      assert.equal(d2.server.gatewayId, d.server.gatewayId);
      const [report] = await d2.server.reconciler.run();
      assert.deepEqual([report.markedMissing, report.orphans], [[], []]);
      const envs = await d2.admin.listEnvironments();
      assert.deepEqual(
        envs.map((e) => [e.id, e.name, e.status, e.backend_ref]),
        [[env.id, 'kept', 'running', env.backend_ref]],
      );
      assert.equal((await inspect(env.backend_ref!)).State.Running, true);
      // secret.key came along: sealed secrets open (the Jupyter token is the same one).
      assert.ok((await d2.admin.connection('kept')).jupyter?.token);
      await d2.admin.deleteEnvironment(env.id);
      assert.deepEqual(await containersWith(`dev.hangar.gateway=${d2.server.gatewayId}`), []);
    } finally {
      await d2.close();
    }
  });

  it('a lost gateway.id comes back from the database; a database with another gateway id is a clear start-up error', async () => {
    const d = await startDaemon();
    const id = d.server.gatewayId;
    await d.close();
    fs.rmSync(path.join(d.dataDir, 'gateway.id'));
    const d2 = await startDaemon({ dataDir: d.dataDir });
    assert.equal(d2.server.gatewayId, id);
    await d2.close();
    fs.writeFileSync(path.join(d.dataDir, 'gateway.id'), 'another\n');
    await assert.rejects(
      startDaemon({ dataDir: d.dataDir }),
      /gateway id mismatch: .* says 'another' but the database says/,
    );
  });
});
