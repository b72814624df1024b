// Datasets in Docker envs for real: the daemon mounts them on the host with s3fs (from the test S3 server) and the
// container gets a bind — it sees the dataset's files (checksums), its writes (rw) reach the bucket, a read-only one
// refuses writes, the container has no credentials, CAP_SYS_ADMIN or /dev/fuse, another user's dataset is a 404 and
// a team one mounts; stop and delete unmount, and a mounted dataset can't be deleted (409).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { HangarClient } from '../../common/client';
import { datasetApi, uploadFile } from '../../common/datasetsClient';
import { apiError } from '../helpers/apiError';
import { startDaemon, type TestDaemon } from '../helpers/daemon';
import { docker, SSH_IMAGE } from '../helpers/docker';
import { ensureS3Server, S3_CREDENTIALS_FILE, S3_ENDPOINT, testStore, uniqueBucket } from '../helpers/s3';
import { tmpDir } from '../helpers/tmp';

const s3fsMounts = () =>
  fs
    .readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .filter((l) => l.includes('fuse.s3fs'));

describe('datasets: mounted into Docker envs (s3fs on the host, bound in)', function () {
  this.timeout(300_000);
  let d: TestDaemon;
  const sfx = Date.now() % 100000;
  const team = `dm${sfx}`;
  const bucket = uniqueBucket('hangar-dm');
  const c: Record<string, HangarClient> = {};
  const work = tmpDir('hangar-dm-');
  const payload = crypto.randomBytes(3 * 1024 * 1024 + 7);

  before(async () => {
    ensureS3Server();
    d = await startDaemon({
      configYaml: [
        'object_stores:',
        `  - {name: s3, endpoint: '${S3_ENDPOINT}', credentials: {file: ${S3_CREDENTIALS_FILE}}}`,
        '',
      ].join('\n'),
    });
    for (const [n, t] of [
      ['alice', undefined],
      ['bob', team],
      ['carol', team],
    ] as const) {
      const { token } = await d.admin.createUser(`${n}${sfx}`, 'user', t);
      c[n] = new HangarClient({ url: d.url, token });
    }
    await datasetApi.create(c.bob, { name: 'corpus', store: 's3', bucket, team: true });
    await datasetApi.create(c.carol, { name: 'scratch', store: 's3', bucket });
    await datasetApi.create(c.alice, { name: 'private', store: 's3', bucket });
    fs.writeFileSync(path.join(work, 'p.bin'), payload);
    await uploadFile(c.bob, 'team:corpus', path.join(work, 'p.bin'), 'train/p.bin');
  });
  after(async () => {
    for (const u of Object.values(c))
      for (const e of await u.listEnvironments()) await u.deleteEnvironment(e.id).catch(() => undefined);
    for (let i = 0; i < 50 && (await d.admin.listEnvironments()).length; i++)
      await new Promise((r) => setTimeout(r, 200));
    for (const x of await datasetApi.list(d.admin)) await datasetApi.remove(d.admin, x.id, true).catch(() => undefined);
    await d?.close();
  });

  it("refuses another user's dataset (404) and a bad source names the field", async () => {
    const e = await apiError(
      c.carol.createEnvironment({
        name: 'peek',
        image: SSH_IMAGE,
        image_pull_policy: 'never',
        environment_type: 'terminal',
        storage_type: 's3',
        storage_config: { mounts: [{ type: 'dataset', source: 'private', target: '/data' }] },
      }),
    );
    assert.equal(e.status, 404);
    const bad = await apiError(
      c.carol.createEnvironment({
        name: 'peek',
        image: SSH_IMAGE,
        environment_type: 'terminal',
        storage_config: { mounts: [{ type: 'dataset', source: '../x', target: '/data' }] },
      }),
    );
    assert.equal(bad.status, 400);
    assert.equal(bad.field, 'storage_config.mounts.0.source');
  });

  it('a team dataset read-only and an own one read-write: content by checksum, writes reach the bucket', async () => {
    const env = await c.carol.createEnvironment({
      name: 'reader',
      image: SSH_IMAGE,
      image_pull_policy: 'never',
      environment_type: 'terminal',
      storage_type: 's3',
      storage_config: {
        mounts: [
          { type: 'dataset', source: 'team:corpus', target: '/data/corpus', read_only: true },
          { type: 'dataset', source: 'scratch', target: '/data/scratch' },
        ],
      },
    });
    const running = await c.carol.waitFor(env.id, ['running', 'failed']);
    assert.equal(running.status, 'running', running.status_message ?? '');
    const ref = running.backend_ref!;
    const sum = (await docker('exec', ref, 'sha256sum', '/data/corpus/train/p.bin')).split(' ')[0];
    assert.equal(sum, crypto.createHash('sha256').update(payload).digest('hex'));
    await assert.rejects(docker('exec', ref, '/bin/sh', '-c', 'echo x > /data/corpus/new.txt'), /Read-only/);
    await docker('exec', '-u', '1000', ref, '/bin/sh', '-c', 'echo written-in-env > /data/scratch/out.txt');
    const scratch = await datasetApi.get(c.carol, 'scratch');
    const got = await testStore().client.send(
      new GetObjectCommand({ Bucket: bucket, Key: `${scratch.prefix}/out.txt` }),
    );
    assert.equal(await got.Body!.transformToString(), 'written-in-env\n');
    assert.equal(scratch.object_count, 1);
    // The container holds no key, no FUSE device and no CAP_SYS_ADMIN.
    const secret = fs.readFileSync(S3_CREDENTIALS_FILE, 'utf8').match(/AWS_SECRET_ACCESS_KEY=(.*)/)![1];
    const inspect = await docker('inspect', ref);
    assert.doesNotMatch(inspect, new RegExp(secret));
    assert.doesNotMatch(inspect, /\/dev\/fuse|SYS_ADMIN/);
    assert.equal(s3fsMounts().filter((l) => l.includes(env.id)).length, 2);
    assert.ok(!fs.readdirSync(path.join(d.dataDir, 'dataset-mounts')).some((f) => f.endsWith('.passwd')));
    // Mounted, not copied: nothing to sync back on demand, and the answer says so.
    const sync = await apiError(c.carol.syncDatasets(env.id));
    assert.equal(sync.status, 422);
    assert.match(sync.message, /mounts its datasets .*nothing to sync back/);
    // Mounted: the dataset can't be deleted; the catalogue names who uses it.
    assert.deepEqual((await datasetApi.get(c.bob, 'team:corpus')).mounted_by, [{ id: env.id, name: 'reader' }]);
    assert.equal((await apiError(datasetApi.remove(c.bob, 'team:corpus'))).status, 409);

    await c.carol.action(env.id, 'stop');
    assert.equal(s3fsMounts().filter((l) => l.includes(env.id)).length, 0, 'stop unmounts');
    await c.carol.action(env.id, 'start');
    const again = await c.carol.waitFor(env.id, ['running', 'failed']);
    assert.equal(again.status, 'running');
    assert.equal(
      (await docker('exec', ref, 'cat', '/data/scratch/out.txt')).trim(),
      'written-in-env',
      'mounted again at start',
    );
    await c.carol.deleteEnvironment(env.id);
    for (let i = 0; i < 50 && (await c.carol.listEnvironments()).length; i++)
      await new Promise((r) => setTimeout(r, 200));
    assert.equal(s3fsMounts().filter((l) => l.includes(env.id)).length, 0, 'delete unmounts');
    assert.ok(!fs.existsSync(path.join(d.dataDir, 'dataset-mounts', env.id)));
  });
});
