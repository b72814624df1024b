// Docker volume snapshots on a real dockerd and the real test S3 server (versitygw): the volume's tar archive goes
// into the backup store (its SHA-256 matches the object), restores into a new volume and back into the same one
// bring back the same content (checksums of every file, owners and modes), another user gets 404, a volume held by
// a running env is 409, a store that is down is 503 naming it and leaves no snapshot behind.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { HangarClient } from '../../common/client';
import type { User, Volume } from '../../common/model';
import { apiError } from '../helpers/apiError';
import { Cli } from '../helpers/cli';
import { startDaemon, type TestDaemon } from '../helpers/daemon';
import { docker, SSH_IMAGE } from '../helpers/docker';
import { ensureS3Server, testStore, uniqueBucket } from '../helpers/s3';
import { backupStoreYaml, volumeDigest, writeVolume } from '../helpers/volumeData';

describe('datasets: Docker volume snapshots as archives in the object store', function () {
  this.timeout(240_000);
  let d: TestDaemon;
  let down: TestDaemon;
  const bucket = uniqueBucket('hangar-snap');
  const sfx = crypto.randomBytes(3).toString('hex');
  const u: Record<string, { user: User; c: HangarClient; token: string }> = {};
  let vol: Volume;
  let original = '';

  before(async () => {
    ensureS3Server();
    d = await startDaemon({ configYaml: backupStoreYaml(bucket) });
    for (const n of ['bob', 'alice']) {
      const { user, token } = await d.admin.createUser(`${n}${sfx}`, 'user');
      u[n] = { user, token, c: new HangarClient({ url: d.url, token }) };
    }
    vol = await u.bob.c.createVolume({ name: 'data' });
    await writeVolume(
      vol.backend_name,
      'mkdir -p /v/sub && head -c 3000000 /dev/urandom > /v/sub/big.bin && echo hello > /v/a.txt && ' +
        'chown -R 1000:1000 /v/sub && chmod 640 /v/a.txt && ln -s a.txt /v/link',
    );
    original = await volumeDigest(vol.backend_name);
    // An env of bob's that mounts it: its image is what the helper container is made from.
    await u.bob.c.createEnvironment({
      name: `snap-${sfx}`,
      image: SSH_IMAGE,
      image_pull_policy: 'never',
      storage_config: { mounts: [{ type: 'volume', source: 'data', target: '/data' }] },
    });
    await u.bob.c.waitFor(`snap-${sfx}`, ['running'], { timeoutMs: 120_000 });
  });
  after(async () => {
    const live = down ?? d;
    for (const e of (await live?.admin.listEnvironments().catch(() => [])) ?? [])
      await live.admin.deleteEnvironment(e.id).catch(() => 0);
    for (const v of (await live?.admin.volumes().catch(() => [])) ?? [])
      await docker('volume', 'rm', '-f', v.backend_name).catch(() => 0);
    await (down ?? d)?.close();
  });

  it('a snapshot is a tar in the store whose SHA-256 and size are recorded; another user gets 404', async () => {
    original = await volumeDigest(vol.backend_name);
    const s = await u.bob.c.createVolumeSnapshot(vol.id, 'first');
    assert.deepEqual([s.kind, s.status, s.store, s.name], ['archive', 'ready', 'test-s3', 'first']);
    const store = testStore();
    const key = `snap/volumes/${vol.id}/${s.id}.tar`;
    const obj = await store.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const body = Buffer.from(await obj.Body!.transformToByteArray());
    assert.equal(crypto.createHash('sha256').update(body).digest('hex'), s.sha256);
    assert.equal(body.length, s.size_bytes);
    assert.ok(body.length > 3_000_000);
    assert.deepEqual(
      (await u.bob.c.volumeSnapshots(vol.id)).map((x) => x.id),
      [s.id],
    );
    assert.equal((await apiError(u.alice.c.volumeSnapshots(vol.id))).status, 404);
    assert.equal((await apiError(u.alice.c.createVolumeSnapshot(vol.id))).status, 404);
    assert.equal((await apiError(u.alice.c.restoreSnapshot(s.id, { into: 'new' }))).status, 404);
    assert.equal((await apiError(u.alice.c.deleteVolumeSnapshot(vol.id, s.id))).status, 404);
    assert.equal((await apiError(u.bob.c.createVolumeSnapshot(vol.id, 'first'))).status, 409);
    const bad = await apiError(u.bob.c.createVolumeSnapshot(vol.id, '../x'));
    assert.deepEqual([bad.status, bad.field], [400, 'name']);
    // No helper container is left behind.
    assert.equal(
      await docker(
        'ps',
        '-aq',
        '--filter',
        `label=dev.hangar.gateway=${d.server.gatewayId}`,
        '--filter',
        'label=dev.hangar.helper',
      ),
      '',
    );
  });

  it('restore into a new volume gives the same files, owners and modes', async () => {
    const [s] = await u.bob.c.volumeSnapshots(vol.id);
    const nv = await u.bob.c.restoreSnapshot(s.id, { into: 'new', name: 'data-copy' });
    assert.equal(nv.name, 'data-copy');
    assert.equal(nv.owner_id, u.bob.user.id);
    assert.equal(await volumeDigest(nv.backend_name), original);
    assert.equal((await apiError(u.bob.c.restoreSnapshot(s.id, { into: 'new', name: 'data-copy' }))).status, 409);
  });

  it('restore into the same volume: 409 while a running env holds it; after stop the old content is back exactly', async () => {
    const [s] = await u.bob.c.volumeSnapshots(vol.id);
    const busy = await apiError(u.bob.c.restoreSnapshot(s.id, { into: 'same' }));
    assert.equal(busy.status, 409);
    assert.match(busy.message, new RegExp(`snap-${sfx}`));
    await u.bob.c.action(`snap-${sfx}`, 'stop');
    await u.bob.c.waitFor(`snap-${sfx}`, ['stopped'], { timeoutMs: 60_000 });
    await writeVolume(vol.backend_name, 'echo changed > /v/a.txt && rm -rf /v/sub && echo new > /v/extra');
    assert.notEqual(await volumeDigest(vol.backend_name), original);
    await u.bob.c.restoreSnapshot(s.id, { into: 'same' });
    assert.equal(await volumeDigest(vol.backend_name), original);
  });

  it('delete removes the archive from the store and the catalogue', async () => {
    const s = await u.bob.c.createVolumeSnapshot(vol.id, 'gone');
    await u.bob.c.deleteVolumeSnapshot(vol.id, s.id);
    const l = await testStore().client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: `snap/volumes/${vol.id}/${s.id}` }),
    );
    assert.equal(l.KeyCount ?? 0, 0);
    assert.deepEqual(
      (await u.bob.c.volumeSnapshots(vol.id)).map((x) => x.name),
      ['first'],
    );
  });

  it('the CLI: hangar snapshots create, ls, restore --new, rm; hangar backups run, ls', async () => {
    const cli = new Cli(d.url);
    await cli.login(u.bob.token);
    const c = await cli.run(['snapshots', 'create', 'data', 'by-cli']);
    assert.equal(c.code, 0, c.stderr);
    const ls = await cli.run(['snapshots', 'ls', 'data']);
    assert.match(ls.stdout, /by-cli .* archive +ready/);
    const id = c.stdout.split(' ')[1];
    const r = await cli.run(['snapshots', 'restore', id, '--new', 'from-cli']);
    assert.equal(r.code, 0, r.stderr);
    const nv = (await u.bob.c.volumes()).find((v) => v.name === 'from-cli')!;
    assert.equal(await volumeDigest(nv.backend_name), await volumeDigest(vol.backend_name));
    assert.equal((await cli.run(['snapshots', 'rm', 'data', id])).code, 0);
    const run = await cli.run(['backups', 'run', '--volume', vol.id]);
    assert.equal(run.code, 0, run.stderr);
    assert.match((await cli.run(['backups', 'ls', '--volume', vol.id])).stdout, /complete +manual/);
    const none = await cli.run(['snapshots', 'restore', id, '--same']);
    assert.equal(none.code, 4, none.stderr);
  });

  it('a store that is down answers 503 naming it, and no snapshot is listed', async () => {
    // Same database and volume, a daemon whose store endpoint is a closed port.
    await d.close();
    down = await startDaemon({ dataDir: d.dataDir, configYaml: backupStoreYaml(bucket, 'http://127.0.0.1:9') });
    const bob = new HangarClient({ url: down.url, token: u.bob.token });
    const err = await apiError(bob.createVolumeSnapshot(vol.id, 'while-down'));
    assert.equal(err.status, 503);
    assert.match(err.message, /object store 'test-s3' is unavailable/);
    const raw = await fetch(`${down.url}/api/v1/volumes/${vol.id}/snapshots`, {
      method: 'POST',
      headers: { authorization: `Bearer ${u.bob.token}`, 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(raw.status, 503);
    assert.equal(((await raw.json()) as { error: { store?: string } }).error.store, 'test-s3');
    assert.deepEqual(
      (await bob.volumeSnapshots(vol.id)).map((x) => x.name),
      ['first'],
    );
  });
});
