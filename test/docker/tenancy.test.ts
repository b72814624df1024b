// Tenancy on a real dockerd with a second, non-admin user: host paths only from the operator's allowlist, named
// volumes owned per user (or team), never shared by name.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { HangarClient } from '../../common/client';
import type { User, Volume } from '../../common/model';
import { startDaemon, type TestDaemon } from '../helpers/daemon';
import { docker, inspect, SSH_IMAGE } from '../helpers/docker';
import { apiError } from '../helpers/apiError';
import { tmpDir } from '../helpers/tmp';
import { Cli } from '../helpers/cli';

describe('docker: tenancy (host paths, volumes)', function () {
  this.timeout(180_000);
  let d: TestDaemon;
  let shared: string;
  const users: Record<string, { user: User; c: HangarClient }> = {};
  const base = { image: SSH_IMAGE, image_pull_policy: 'never' as const, environment_type: 'terminal' as const };

  before(async () => {
    shared = tmpDir('hangar-hostpath-');
    fs.writeFileSync(path.join(shared, 'readme.txt'), 'shared data\n');
    const suffix = Date.now() % 100000;
    d = await startDaemon({
      configYaml:
        [
          'host_paths:',
          `  - {name: datasets, path: ${shared}, users: [bob${suffix}]}`,
          `  - {name: nobody, path: ${shared}}`,
        ].join('\n') + '\n',
    });
    for (const n of ['alice', 'bob']) {
      const { user, token } = await d.admin.createUser(`${n}${suffix}`);
      users[n] = { user, c: new HangarClient({ url: d.url, token }) };
    }
  });
  after(async () => {
    for (const e of (await d?.admin.listEnvironments()) ?? [])
      await d.admin.deleteEnvironment(e.id).catch(() => undefined);
    for (const v of (await d?.admin.volumes().catch(() => [] as Volume[])) ?? [])
      await docker('volume', 'rm', '-f', v.backend_name).catch(() => undefined);
    await d?.close();
  });

  const exec = (ref: string, script: string) => docker('exec', ref, '/bin/sh', '-c', script);

  it("a non-admin bind of / is refused with 403 naming the rule; so is the admin's", async () => {
    for (const c of [users.bob.c, d.admin]) {
      const e = await apiError(
        c.createEnvironment({
          ...base,
          name: 'rooted',
          storage_config: { mounts: [{ type: 'bind', source: '/', target: '/host' }] },
        }),
      );
      assert.equal(e.status, 403);
      assert.equal(e.code, 'forbidden');
      assert.match(e.message, /storage_config\.mounts\.0: raw host paths are refused \(rule host_paths/);
      assert.equal(e.field, 'storage_config.mounts.0');
    }
    assert.deepEqual(await d.admin.listEnvironments(), [], 'nothing was recorded');
  });

  it('an allowlisted host path mounts read-only by default (a write fails inside); not listed for you, or rw of a ro entry: 403', async () => {
    const env = await users.bob.c.createEnvironment({
      ...base,
      name: 'reader',
      storage_config: { mounts: [{ type: 'host_path', source: 'datasets', target: '/data' }] },
    });
    const running = await users.bob.c.waitFor(env.id, ['running']);
    assert.deepEqual(running.storage_config?.mounts, [
      { type: 'host_path', source: 'datasets', target: '/data', read_only: true },
    ]);
    const m = (await inspect(running.backend_ref!)).Mounts.find(
      (x: { Destination: string }) => x.Destination === '/data',
    );
    assert.deepEqual([m.Type, m.Source, m.RW], ['bind', shared, false]);
    assert.equal(await exec(running.backend_ref!, 'cat /data/readme.txt'), 'shared data');
    // Even the container's root can't write there.
    await assert.rejects(exec(running.backend_ref!, 'echo x > /data/new'), /Read-only file system/);
    assert.ok(!fs.existsSync(path.join(shared, 'new')));

    const rw = await apiError(
      users.bob.c.createEnvironment({
        ...base,
        name: 'writer',
        storage_config: { mounts: [{ type: 'host_path', source: 'datasets', target: '/data', read_only: false }] },
      }),
    );
    assert.deepEqual([rw.status, rw.field], [403, 'storage_config.mounts.0.read_only']);
    assert.match(rw.message, /host path 'datasets' is read-only \(rule host_paths\.read_only\)/);
    for (const [c, src] of [
      [users.alice.c, 'datasets'],
      [users.bob.c, 'nobody'],
      [d.admin, 'datasets'],
      [users.bob.c, 'unknown'],
    ] as const) {
      const e = await apiError(
        c.createEnvironment({
          ...base,
          name: 'other',
          storage_config: { mounts: [{ type: 'host_path', source: src, target: '/data' }] },
        }),
      );
      assert.equal(e.status, 403, src);
      assert.match(
        e.message,
        new RegExp(`'${src}' is not a host_paths entry user '[a-z0-9]+' may use \\(rule host_paths\\)`),
      );
    }
    await users.bob.c.deleteEnvironment(env.id);
  });

  it("a second user's mount of the first user's volume name gets their own volume; by id or team it is 404", async () => {
    const { alice, bob } = users;
    const a = await alice.c.waitFor(
      (
        await alice.c.createEnvironment({
          ...base,
          name: 'mine',
          storage_config: { mounts: [{ type: 'volume', source: 'data', target: '/data' }] },
        })
      ).id,
      ['running'],
    );
    await exec(a.backend_ref!, 'echo secret-of-alice > /data/f');
    const [av] = await alice.c.volumes();
    assert.deepEqual(
      [av.name, av.owner_id, av.team, av.backend_id, av.backend_name],
      ['data', alice.user.id, null, 'local', `hangar-vol-${av.id}`],
    );
    assert.equal(a.storage_config?.mounts?.[0].volume_id, av.id);
    const am = (await inspect(a.backend_ref!)).Mounts.find((x: { Destination: string }) => x.Destination === '/data');
    assert.equal(am.Name, `hangar-vol-${av.id}`, "the backend's name comes from the id");

    const b = await bob.c.waitFor(
      (
        await bob.c.createEnvironment({
          ...base,
          name: 'mine',
          storage_config: { mounts: [{ type: 'volume', source: 'data', target: '/data' }] },
        })
      ).id,
      ['running'],
    );
    assert.equal(
      await exec(b.backend_ref!, 'ls -A /data; test ! -e /data/f && echo absent'),
      'absent',
      "bob does not see alice's file",
    );
    const [bv] = await bob.c.volumes();
    assert.notEqual(bv.id, av.id);
    assert.equal(bv.name, 'data');
    assert.deepEqual((await d.admin.volumes()).map((v) => v.id).sort(), [av.id, bv.id].sort(), 'an admin lists all');

    for (const source of [`id:${av.id}`, 'team:data']) {
      const e = await apiError(
        bob.c.createEnvironment({
          ...base,
          name: 'peek',
          storage_config: { mounts: [{ type: 'volume', source, target: '/data' }] },
        }),
      );
      assert.equal(e.status, 404, source);
      assert.match(e.message, new RegExp(`volume '${source}' not found`));
    }
    // By the backend's own name it is only a name: a new volume of bob's, not alice's.
    const c = await bob.c.waitFor(
      (
        await bob.c.createEnvironment({
          ...base,
          name: 'byname',
          storage_config: { mounts: [{ type: 'volume', source: av.backend_name, target: '/data' }] },
        })
      ).id,
      ['running'],
    );
    assert.equal(await exec(c.backend_ref!, 'test ! -e /data/f && echo absent'), 'absent');
    // Her own volume by id works for alice, and the file is still there after her env is gone (volumes outlive envs).
    await alice.c.deleteEnvironment(a.id);
    const again = await alice.c.waitFor(
      (
        await alice.c.createEnvironment({
          ...base,
          name: 'again',
          storage_config: { mounts: [{ type: 'volume', source: `id:${av.id}`, target: '/v' }] },
        })
      ).id,
      ['running'],
    );
    assert.equal(await exec(again.backend_ref!, 'cat /v/f'), 'secret-of-alice');
  });

  it('the CLI: -v takes volume names only (a host path is a usage error), --host-path an allowlist name', async () => {
    const cli = new Cli(d.url);
    await cli.login((await d.admin.createUser(`carol${Date.now() % 100000}`)).token);
    const bad = await cli.run(['create', 'rooted', '--image', SSH_IMAGE, '--pull', 'never', '-v', '/:/host']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /host paths can't be given; .*--host-path NAME:DST/);
    const refused = await cli.run([
      'create',
      'reader',
      '--image',
      SSH_IMAGE,
      '--pull',
      'never',
      '--type',
      'terminal',
      '--host-path',
      'datasets:/data',
    ]);
    assert.equal(refused.code, 3, 'a 403');
    assert.match(refused.stderr, /rule host_paths/);
    const ok = await cli.run([
      '--json',
      'create',
      'tv',
      '--image',
      SSH_IMAGE,
      '--pull',
      'never',
      '--type',
      'terminal',
      '-v',
      'team:x:/t',
    ]);
    assert.equal(ok.code, 4, 'no team: 404');
  });
});
