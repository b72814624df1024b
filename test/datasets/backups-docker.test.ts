// Backups of a Docker env's data (home directory + mounted volume) into the real test S3 server, on a schedule in a
// time zone driven by a moved clock: retention keeps N (older ones gone from the store and the catalogue), restore
// of a chosen backup brings the content back (checksums) exactly (the whole home tree listed with types, modes, owners,
// link targets and checksums: files added after the backup gone), another user gets 404, a running env is 409, so is
// an env with a mount inside its home (nothing touched), a store that is down is 503 naming it (run now) or a failed
// backup with the reason (scheduled) — never a complete one.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { HangarClient } from '../../common/client';
import type { Environment, User, Volume } from '../../common/model';
import { ManualClock } from '../../daemon/environments/clock';
import { apiError } from '../helpers/apiError';
import { startDaemon, type TestDaemon } from '../helpers/daemon';
import { docker, SSH_IMAGE } from '../helpers/docker';
import { ensureS3Server, testStore, uniqueBucket } from '../helpers/s3';
import { backupStoreYaml, containerTree, volumeDigest, writeVolume } from '../helpers/volumeData';

const DAY = 86_400_000;

describe('datasets: backups of a Docker env on a schedule (moved clock), retention, restore by checksum', function () {
  this.timeout(300_000);
  const clock = new ManualClock(Date.parse('2030-03-01T00:00:00Z'));
  const bucket = uniqueBucket('hangar-bak');
  const sfx = crypto.randomBytes(3).toString('hex');
  const envName = `bak-${sfx}`;
  let d: TestDaemon;
  let down: TestDaemon | undefined;
  const u: Record<string, { user: User; c: HangarClient; token: string }> = {};
  let env: Environment;
  let vol: Volume;
  const homeSum = async () =>
    docker(
      'exec',
      env.backend_ref!,
      'sh',
      '-c',
      `cd /home/${env.ssh_user} && sha256sum notes.bin && stat -c '%U %a' notes.bin`,
    );

  before(async () => {
    ensureS3Server();
    d = await startDaemon({ configYaml: backupStoreYaml(bucket), clock });
    for (const n of ['bob', 'alice']) {
      const { user, token } = await d.admin.createUser(`${n}${sfx}`, 'user');
      u[n] = { user, token, c: new HangarClient({ url: d.url, token }) };
    }
    await u.bob.c.createEnvironment({
      name: envName,
      image: SSH_IMAGE,
      image_pull_policy: 'never',
      storage_config: { mounts: [{ type: 'volume', source: 'work', target: '/work' }] },
    });
    env = await u.bob.c.waitFor(envName, ['running'], { timeoutMs: 120_000 });
    vol = (await u.bob.c.volumes()).find((v) => v.name === 'work')!;
    await docker(
      'exec',
      env.backend_ref!,
      'sh',
      '-c',
      `head -c 500000 /dev/urandom > /home/${env.ssh_user}/notes.bin && chown ${env.ssh_user} /home/${env.ssh_user}/notes.bin`,
    );
    await writeVolume(vol.backend_name, 'head -c 800000 /dev/urandom > /v/model.pt && echo v1 > /v/version');
  });
  after(async () => {
    const live = down ?? d;
    for (const e of (await live?.admin.listEnvironments().catch(() => [])) ?? [])
      await live.admin.deleteEnvironment(e.id).catch(() => 0);
    for (const v of (await live?.admin.volumes().catch(() => [])) ?? [])
      await docker('volume', 'rm', '-f', v.backend_name).catch(() => 0);
    await live?.close();
  });

  it('a schedule in a time zone says when it runs next; another user can neither schedule nor see it', async () => {
    const s = await u.bob.c.putBackupSchedule({
      environment: envName,
      cron: '0 3 * * *',
      timezone: 'Asia/Shanghai',
      keep: 2,
    });
    // 03:00 in Shanghai is 19:00 UTC the day before.
    assert.equal(s.next_run_at, '2030-03-01T19:00:00.000Z');
    assert.deepEqual([s.target_kind, s.target_id, s.keep], ['environment', env.id, 2]);
    assert.equal(
      (await apiError(u.alice.c.putBackupSchedule({ environment: envName, cron: '0 3 * * *' }))).status,
      404,
    );
    assert.deepEqual(await u.alice.c.backupSchedules(), []);
    assert.equal((await apiError(u.alice.c.deleteBackupSchedule(s.id))).status, 404);
    const bad = await apiError(
      u.bob.c.putBackupSchedule({ environment: envName, cron: '0 3 * * *', timezone: 'Mars/Olympus' }),
    );
    assert.deepEqual([bad.status, bad.field], [400, 'timezone']);
    const both = await apiError(u.bob.c.putBackupSchedule({ environment: envName, volume: vol.id, cron: '@daily' }));
    assert.equal(both.status, 400);
  });

  let firstHome = '';
  let firstVol = '';
  it('the schedule runs when the clock passes it: a complete backup of home and volume whose checksums match the objects', async () => {
    clock.set(Date.parse('2030-03-01T18:59:00Z'));
    await d.server.data.schedules.tick();
    assert.equal((await u.bob.c.backups({ environment: envName })).length, 0);
    firstHome = await homeSum();
    firstVol = await volumeDigest(vol.backend_name);
    clock.set(Date.parse('2030-03-01T19:00:30Z'));
    await d.server.data.schedules.tick();
    const [b] = await u.bob.c.backups({ environment: envName });
    assert.deepEqual([b.status, b.trigger, b.objects], ['complete', 'schedule', 2]);
    assert.deepEqual(b.items.map((i) => i.item).sort(), ['home', `volume:${vol.id}`]);
    for (const i of b.items) {
      const key = `snap/backups/${b.id}/${i.item.replace(':', '-')}.tar`;
      const obj = await testStore().client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const body = Buffer.from(await obj.Body!.transformToByteArray());
      assert.equal(crypto.createHash('sha256').update(body).digest('hex'), i.sha256);
      assert.equal(body.length, i.size_bytes);
    }
    assert.equal(b.size_bytes, b.items[0].size_bytes + b.items[1].size_bytes);
    assert.equal((await apiError(u.alice.c.restoreBackup(b.id))).status, 404);
    assert.deepEqual(await u.alice.c.backups(), []);
  });

  it('retention keeps 2: the oldest is gone from the catalogue and from the store', async () => {
    const [first] = await u.bob.c.backups({ environment: envName });
    await writeVolume(vol.backend_name, 'echo v2 > /v/version');
    for (const day of [1, 2]) {
      clock.set(Date.parse('2030-03-01T19:00:30Z') + day * DAY);
      await d.server.data.schedules.tick();
    }
    const list = await u.bob.c.backups({ environment: envName });
    assert.equal(list.length, 2);
    assert.ok(!list.some((b) => b.id === first.id));
    const l = await testStore().client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: `snap/backups/${first.id}/` }),
    );
    assert.equal(l.KeyCount ?? 0, 0);
  });

  it('restore a chosen backup: 409 while running; once stopped the home file and the volume are back (checksums)', async () => {
    const kept = await u.bob.c.backups({ environment: envName });
    const older = kept[kept.length - 1];
    assert.equal((await apiError(u.bob.c.restoreBackup(older.id))).status, 409);
    // Change both, then restore the older backup (taken when version was v2).
    const beforeRestore = await volumeDigest(vol.backend_name);
    await docker('exec', env.backend_ref!, 'sh', '-c', `echo changed > /home/${env.ssh_user}/notes.bin`);
    await u.bob.c.action(envName, 'stop');
    await u.bob.c.waitFor(envName, ['stopped'], { timeoutMs: 60_000 });
    await writeVolume(vol.backend_name, 'rm -f /v/model.pt && echo v3 > /v/version');
    await u.bob.c.restoreBackup(older.id);
    assert.equal(await volumeDigest(vol.backend_name), beforeRestore);
    await u.bob.c.action(envName, 'start');
    await u.bob.c.waitFor(envName, ['running'], { timeoutMs: 120_000 });
    assert.equal(await homeSum(), firstHome);
    assert.notEqual(firstVol, beforeRestore); // v1 then, v2 in the kept backups
  });

  it('restore is exact: files added after the backup are gone, changed and deleted ones back, modes and links kept', async () => {
    const home = `/home/${env.ssh_user}`;
    const own = `${env.ssh_user}:${env.ssh_user}`;
    await docker(
      'exec',
      env.backend_ref!,
      'sh',
      '-ec',
      [
        `cd ${home} && mkdir -p proj/src deep/a/b && echo one > proj/a.txt && head -c 70000 /dev/urandom > proj/src/m.bin`,
        `printf '#!/bin/sh\\necho hi\\n' > proj/run.sh && chmod 0750 proj/run.sh && chmod 0600 proj/a.txt && chmod 0700 deep`,
        `echo b > deep/a/b/f && ln -s proj/a.txt link && chown -R ${own} proj deep && chown -h ${own} link`,
      ].join(' && '),
    );
    const [homeThen, volThen] = [await containerTree(env.backend_ref!, home), await volumeDigest(vol.backend_name)];
    const b = await u.bob.c.runBackup({ environment: envName });
    assert.equal(b.status, 'complete');
    await docker(
      'exec',
      env.backend_ref!,
      'sh',
      '-ec',
      [
        `cd ${home} && echo new > new.txt && mkdir added && echo z > added/z && echo more >> proj/a.txt`,
        `chmod 0644 proj/run.sh && rm -r deep link && ln -s /etc/passwd link2 && head -c 100 /dev/zero > proj/src/m.bin`,
      ].join(' && '),
    );
    await writeVolume(vol.backend_name, 'echo extra > /v/extra && echo v9 > /v/version && mkdir /v/later');
    assert.notDeepEqual(await containerTree(env.backend_ref!, home), homeThen);
    await u.bob.c.action(envName, 'stop');
    await u.bob.c.waitFor(envName, ['stopped'], { timeoutMs: 60_000 });
    assert.equal((await apiError(u.alice.c.restoreBackup(b.id))).status, 404);
    await u.bob.c.restoreBackup(b.id);
    const homeNow = await containerTree(env.backend_ref!, home);
    assert.deepEqual(homeNow, homeThen);
    assert.ok(
      homeNow.some((l) => /\/proj\/run\.sh file 750 /.test(l)) &&
        homeNow.some((l) => /\/link symlink .* -> proj\/a\.txt$/.test(l)),
      homeNow.join('\n'),
    );
    assert.equal(await volumeDigest(vol.backend_name), volThen);
    // The env starts on its restored home, its user still owning it.
    await u.bob.c.action(envName, 'start');
    await u.bob.c.waitFor(envName, ['running'], { timeoutMs: 120_000 });
    assert.equal(
      await docker('exec', env.backend_ref!, 'sh', '-c', `stat -c %U ${home}/proj/a.txt && cat ${home}/proj/a.txt`),
      `${env.ssh_user}\none`,
    );
  });

  it('an env with a mount inside its home: restore is 409 naming the mount, and neither the home nor the volume changes', async () => {
    const name = `bak-in-${sfx}`;
    await u.bob.c.createEnvironment({
      name,
      image: SSH_IMAGE,
      image_pull_policy: 'never',
      storage_config: { mounts: [{ type: 'volume', source: 'inner', target: `/home/${env.ssh_user}/data` }] },
    });
    const e2 = await u.bob.c.waitFor(name, ['running'], { timeoutMs: 120_000 });
    const home = `/home/${e2.ssh_user}`;
    await docker('exec', e2.backend_ref!, 'sh', '-c', `echo kept > ${home}/data/f && echo h1 > ${home}/h`);
    const b = await u.bob.c.runBackup({ environment: name });
    await docker('exec', e2.backend_ref!, 'sh', '-c', `echo v2 > ${home}/data/f && echo h2 > ${home}/h`);
    await u.bob.c.action(name, 'stop');
    await u.bob.c.waitFor(name, ['stopped'], { timeoutMs: 60_000 });
    const inner = (await u.bob.c.volumes()).find((v) => v.name === 'inner')!;
    const [homeThen, volThen] = [await containerTree(e2.backend_ref!, home), await volumeDigest(inner.backend_name)];
    const err = await apiError(u.bob.c.restoreBackup(b.id));
    assert.equal(err.status, 409);
    assert.match(err.message, new RegExp(`${home}/data is a mount inside ${home}: .*nothing was restored`));
    assert.deepEqual(await containerTree(e2.backend_ref!, home), homeThen);
    assert.equal(await volumeDigest(inner.backend_name), volThen);
    await u.bob.c.deleteEnvironment(name);
  });

  it('store down: run now is 503 naming the store; a scheduled run is a failed backup with the reason, none complete', async () => {
    const complete = (await u.bob.c.backups({ environment: envName })).filter((b) => b.status === 'complete').length;
    await d.close();
    down = await startDaemon({ dataDir: d.dataDir, configYaml: backupStoreYaml(bucket, 'http://127.0.0.1:9'), clock });
    const bob = new HangarClient({ url: down.url, token: u.bob.token });
    const err = await apiError(bob.runBackup({ environment: envName }));
    assert.equal(err.status, 503);
    assert.match(err.message, /object store 'test-s3' is unavailable/);
    clock.advance(DAY);
    await down.server.data.schedules.tick();
    const list = await bob.backups({ environment: envName });
    assert.equal(list.filter((b) => b.status === 'complete').length, complete);
    const failed = list.filter((b) => b.status === 'failed');
    assert.ok(
      failed.some((b) => b.trigger === 'schedule' && /object store 'test-s3' is unavailable/.test(b.message ?? '')),
    );
    assert.ok(failed.every((b) => b.items.length === 0 && b.objects === 0));
  });
});
