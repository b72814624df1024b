// CephFS shares on a real dockerd (storage_type ceph on a Docker host): the share mount becomes a local-driver volume
// type=ceph with exactly the share's options, the key read from its secret_file (secret=…); this machine's kernel has
// no ceph file system (and there is no Ceph cluster), so the start fails with the kernel's message — with the key
// masked in it, in the API and in every log line. No real Ceph here: only what dockerd accepts is shown.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Dockerode from 'dockerode';
import { HangarClient } from '../../common/client';
import { nfsMount } from '../../daemon/backends/docker/hostconfig';
import { shareSpec } from '../../daemon/environments/shares';
import { share as shareSchema } from '../../daemon/storageConfig';
import type { User } from '../../common/model';
import { apiError } from '../helpers/apiError';
import { startDaemon, type TestDaemon } from '../helpers/daemon';
import { docker, SSH_IMAGE } from '../helpers/docker';
import { tmpDir } from '../helpers/tmp';

describe('storage: CephFS shares on docker', function () {
  this.timeout(180_000);
  let d: TestDaemon;
  const sfx = Date.now() % 100000;
  // A key in Ceph's format (base64 of 40 bytes); no Ceph cluster ever sees it.
  const key = Buffer.from(`hangar-test-key-${sfx}`.padEnd(40, 'k')).toString('base64');
  const dir = tmpDir('hangar-ceph-');
  const secretFile = path.join(dir, 'client.hangar.secret');
  const logLines: string[] = [];
  const u: Record<string, { user: User; c: HangarClient }> = {};
  const base = { image: SSH_IMAGE, image_pull_policy: 'never' as const, environment_type: 'terminal' as const };
  const shareYaml = (name: string, file: string) =>
    `  - {name: ${name}, kind: cephfs, server: '127.0.0.1:6789', export: /volumes/team, ceph_user: hangar-test, secret_file: ${file}, options: [noatime], users: [bob${sfx}]}`;

  before(async () => {
    fs.writeFileSync(secretFile, `[client.hangar-test]\n\tkey = ${key}\n`, { mode: 0o600 });
    d = await startDaemon({
      logLines,
      configYaml: ['shares:', shareYaml('cephfs', secretFile), shareYaml('nokey', path.join(dir, 'absent')), ''].join(
        '\n',
      ),
    });
    for (const n of ['alice', 'bob']) {
      const { user, token } = await d.admin.createUser(`${n}${sfx}`);
      u[n] = { user, c: new HangarClient({ url: d.url, token }) };
    }
  });
  after(async () => {
    for (const e of (await d?.admin.listEnvironments()) ?? []) await d.admin.deleteEnvironment(e.id).catch(() => 0);
    await d?.close();
  });

  const mounts = (source: string) => ({ mounts: [{ type: 'share' as const, source, target: '/team', sub_path: 'a' }] });

  it("dockerd accepts the ceph volume with exactly the share's options and the key from secret_file", async () => {
    const envId = `c${sfx}`;
    const cfg = shareSchema.parse({
      name: 'cephfs',
      kind: 'cephfs',
      server: '127.0.0.1:6789',
      export: '/volumes/team',
      ceph_user: 'hangar-test',
      secret_file: secretFile,
      options: ['noatime'],
    });
    const spec = shareSpec(
      [cfg],
      { type: 'share', source: 'cephfs', target: '/team', read_only: true, sub_path: 'a' },
      envId,
    );
    const c = await new Dockerode().createContainer({
      Image: SSH_IMAGE,
      Labels: { 'dev.hangar.test': 'storage' },
      HostConfig: { Mounts: [nfsMount(envId, 0, spec, 'test-gateway')] },
    });
    const name = `hangar-share-${envId}-0`;
    try {
      assert.deepEqual(JSON.parse(await docker('volume', 'inspect', '-f', '{{json .Options}}', name)), {
        type: 'ceph',
        o: `name=hangar-test,secret=${key},noatime,ro`,
        device: '127.0.0.1:6789:/volumes/team/a',
      });
    } finally {
      await c.remove({ force: true });
      await docker('volume', 'rm', '-f', name);
    }
  });

  it("an env with the share fails with the kernel's message, the key masked; nothing is left; no log line has the key", async () => {
    const env = await u.bob.c.createEnvironment({
      ...base,
      name: 'cephuser',
      storage_type: 'ceph',
      storage_config: mounts('cephfs'),
    });
    const failed = await u.bob.c.waitFor(env.id, ['failed', 'running']);
    assert.equal(failed.status, 'failed', 'no ceph in this kernel: never a fake success');
    console.log(`      kernel says: ${failed.status_message}`);
    assert.match(failed.status_message ?? '', /mount|ceph|no such device/i);
    assert.ok(!failed.status_message?.includes(key), 'the key is not in the status');
    await u.bob.c.deleteEnvironment(env.id);
    for (let i = 0; i < 50 && (await u.bob.c.listEnvironments()).length; i++)
      await new Promise((r) => setTimeout(r, 200));
    assert.equal(await docker('volume', 'ls', '-q', '--filter', `label=dev.hangar.env-id=${env.id}`), '');
    assert.equal(await docker('ps', '-aq', '--filter', `label=dev.hangar.env-id=${env.id}`), '');
    assert.ok(logLines.length > 0);
    assert.deepEqual(
      logLines.filter((l) => l.includes(key)),
      [],
      'no log line carries the key',
    );
  });

  it("an unreadable secret_file is 422 without the path's content; an unlisted user is 403; /storage shows no key", async () => {
    const e = await apiError(
      u.bob.c.createEnvironment({ ...base, name: 'nokey', storage_type: 'ceph', storage_config: mounts('nokey') }),
    );
    assert.equal(e.status, 422);
    assert.match(e.message, /share 'nokey': its secret_file can't be read \(ENOENT\)/);
    const a = await apiError(u.alice.c.createEnvironment({ ...base, name: 'x', storage_config: mounts('cephfs') }));
    assert.deepEqual([a.status, a.field], [403, 'storage_config.mounts.0.source']);
    const st = await u.bob.c.storage();
    assert.deepEqual(
      st.shares.find((s) => s.name === 'cephfs'),
      {
        name: 'cephfs',
        kind: 'cephfs',
        read_only: false,
        sub_directories: 'none',
      },
    );
    assert.ok(!JSON.stringify(st).includes(key));
    const cls = await apiError(
      u.bob.c.createEnvironment({
        ...base,
        name: 'cls',
        storage_config: { mounts: [{ type: 'volume', source: 'v', target: '/v', ceph: 'rbd' }] },
      }),
    );
    assert.deepEqual([cls.status, cls.field], [400, 'storage_config.mounts.0.ceph'], 'Docker volumes have no class');
    assert.deepEqual(await u.bob.c.listEnvironments(), []);
    assert.deepEqual(await u.bob.c.volumes(), []);
  });
});
