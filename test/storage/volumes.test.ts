// The volumes API on a real dockerd, with non-admin users: create/get/delete/resize, quotas with the numbers,
// refusal to delete a mounted volume (409 naming the env), team volumes, GET /storage, and the CLI.
import assert from 'node:assert/strict';
import { HangarClient } from '../../common/client';
import type { User } from '../../common/model';
import { apiError } from '../helpers/apiError';
import { Cli } from '../helpers/cli';
import { startDaemon, type TestDaemon } from '../helpers/daemon';
import { docker, SSH_IMAGE } from '../helpers/docker';
import { tmpDir } from '../helpers/tmp';

describe('storage: volumes API (docker, non-admin users)', function () {
  this.timeout(180_000);
  let d: TestDaemon;
  const sfx = Date.now() % 100000;
  const u: Record<string, { user: User; c: HangarClient; token: string }> = {};
  const made = new Set<string>();

  before(async () => {
    d = await startDaemon({
      configYaml: [
        'volume_quotas:',
        '  per_user: {max_count: 3, max_total_gb: 10}',
        '  per_team: {max_count: 1}',
        'host_paths:',
        `  - {name: datasets, path: ${tmpDir('hangar-hp-')}, users: [bob${sfx}]}`,
        'shares:',
        `  - {name: team-nfs, server: 127.0.0.1, export: /export, teams: [ml${sfx % 1000}]}`,
        '',
      ].join('\n'),
    });
    for (const [n, team] of [
      ['alice', undefined],
      ['bob', `ml${sfx % 1000}`],
      ['carol', `ml${sfx % 1000}`],
    ] as const) {
      const { user, token } = await d.admin.createUser(`${n}${sfx}`, 'user', team);
      u[n] = { user, token, c: new HangarClient({ url: d.url, token }) };
    }
  });
  after(async () => {
    for (const e of (await d?.admin.listEnvironments()) ?? []) await d.admin.deleteEnvironment(e.id).catch(() => 0);
    for (const v of (await d?.admin.volumes().catch(() => [])) ?? []) made.add(v.backend_name);
    for (const n of made) await docker('volume', 'rm', '-f', n).catch(() => undefined);
    await d?.close();
  });

  it("create makes a labelled Docker volume; another user's is 404 to get and delete; bad input is 400 naming the field", async () => {
    const v = await u.bob.c.createVolume({ name: 'data', size_gb: 2 });
    made.add(v.backend_name);
    assert.deepEqual([v.name, v.owner_id, v.size_gb, v.backend_name], ['data', u.bob.user.id, 2, `hangar-vol-${v.id}`]);
    const labels = JSON.parse(await docker('volume', 'inspect', '-f', '{{json .Labels}}', v.backend_name));
    assert.equal(labels['dev.hangar.owner'], u.bob.user.id);
    assert.equal((await u.bob.c.volume(v.id)).name, 'data');
    assert.equal((await apiError(u.alice.c.volume(v.id))).status, 404);
    assert.equal((await apiError(u.alice.c.deleteVolume(v.id))).status, 404);
    assert.deepEqual(await u.alice.c.volumes(), []);
    assert.equal((await apiError(u.bob.c.createVolume({ name: 'data' }))).status, 409);
    const bad = await apiError(u.bob.c.createVolume({ name: '../etc' }));
    assert.deepEqual([bad.status, bad.field], [400, 'name']);
    const nob = await apiError(u.bob.c.createVolume({ name: 'x', backend_id: 'nope' }));
    assert.deepEqual([nob.status, nob.field], [400, 'backend_id']);
    const big = await apiError(u.bob.c.createVolume({ name: 'x', size_gb: 0 }));
    assert.deepEqual([big.status, big.field], [400, 'size_gb']);
  });

  it('quotas refuse with the numbers (size, then count); a team volume counts against the team', async () => {
    const over = await apiError(u.bob.c.createVolume({ name: 'huge', size_gb: 9 }));
    assert.equal(over.status, 403);
    assert.match(over.message, /has 2 GB of 10 GB; 9 GB more would be 11 GB \(quota per_user\.max_total_gb\)/);
    for (const n of ['two', 'three']) made.add((await u.bob.c.createVolume({ name: n })).backend_name);
    const count = await apiError(u.bob.c.createVolume({ name: 'four' }));
    assert.match(count.message, /has 3 of 3 volumes \(quota per_user\.max_count\)/);
    const implicit = await apiError(
      u.bob.c.createEnvironment({
        name: 'implicit',
        image: SSH_IMAGE,
        image_pull_policy: 'never',
        storage_config: { mounts: [{ type: 'volume', source: 'new-by-mount', target: '/n' }] },
      }),
    );
    assert.equal(implicit.status, 403, 'a volume made by a first mount counts too');
    assert.match(implicit.message, /has 3 of 3 volumes/);
    assert.deepEqual(await u.bob.c.listEnvironments(), []);
    const t = await u.bob.c.createVolume({ name: 'shared', team: true });
    made.add(t.backend_name);
    assert.equal(t.team, `ml${sfx % 1000}`);
    assert.equal((await u.carol.c.volume(t.id)).name, 'shared', 'a team mate sees it');
    assert.equal((await apiError(u.alice.c.volume(t.id))).status, 404);
    assert.match((await apiError(u.carol.c.createVolume({ name: 'more', team: true }))).message, /has 1 of 1 volumes/);
    const other = await apiError(u.alice.c.createVolume({ name: 'x', team: 'other' }));
    assert.deepEqual([other.status, other.field], [403, 'team']);
    for (const n of ['two', 'three']) {
      const v = (await u.bob.c.volumes()).find((x) => x.name === n)!;
      await u.bob.c.deleteVolume(v.id);
    }
  });

  it('a mounted volume is not deleted (409 naming the env); after the env is gone it is kept, then removed on purpose', async () => {
    const v = (await u.bob.c.volumes()).find((x) => x.name === 'data')!;
    const env = await u.bob.c.createEnvironment({
      name: 'mounter',
      image: SSH_IMAGE,
      image_pull_policy: 'never',
      environment_type: 'terminal',
      storage_config: { mounts: [{ type: 'volume', source: 'data', target: '/data' }] },
    });
    const running = await u.bob.c.waitFor(env.id, ['running']);
    await docker('exec', running.backend_ref!, '/bin/sh', '-c', 'echo kept > /data/f');
    assert.deepEqual((await u.bob.c.volume(v.id)).mounted_by, [{ id: env.id, name: 'mounter' }]);
    const busy = await apiError(u.bob.c.deleteVolume(v.id));
    assert.equal(busy.status, 409);
    assert.match(busy.message, new RegExp(`mounted by 'mounter' \\(${env.id}\\)`));
    await u.bob.c.deleteEnvironment(env.id);
    for (let i = 0; i < 50 && (await u.bob.c.listEnvironments()).length; i++)
      await new Promise((r) => setTimeout(r, 200));
    assert.equal(await docker('volume', 'inspect', '-f', '{{.Name}}', v.backend_name), v.backend_name);
    await u.bob.c.deleteVolume(v.id);
    await assert.rejects(docker('volume', 'inspect', v.backend_name), 'gone from dockerd');
    assert.equal((await apiError(u.bob.c.volume(v.id))).status, 404);
  });

  it('resize on Docker is 422 naming the backends that can; /storage lists what the caller may mount', async () => {
    const t = (await u.bob.c.volumes()).find((x) => x.name === 'shared')!;
    const r = await apiError(u.bob.c.resizeVolume(t.id, 5));
    assert.equal(r.status, 422);
    assert.match(r.message, /backend 'local' can't resize volumes \(backends that can: none\)/);
    const bob = await u.bob.c.storage();
    assert.deepEqual(
      bob.volumes.map((x) => x.name),
      ['shared'],
    );
    assert.deepEqual(bob.host_paths, [{ name: 'datasets', read_only: true }]);
    assert.deepEqual(
      bob.shares.map((s) => s.name),
      ['team-nfs'],
    );
    const alice = await u.alice.c.storage();
    assert.deepEqual([alice.volumes, alice.shares, alice.host_paths], [[], [], []]);
    assert.equal((await apiError(u.bob.c.orphans())).status, 403, 'admin only stays admin only');
  });

  it('the CLI: hangar volumes create, ls, rm', async () => {
    const cli = new Cli(d.url);
    await cli.login(u.alice.token);
    const c = await cli.run(['volumes', 'create', 'cli-vol', '--size', '1']);
    assert.equal(c.code, 0, c.stderr);
    const ls = await cli.run(['volumes', 'ls']);
    assert.match(ls.stdout, /cli-vol .* 1 GiB/);
    made.add((await u.alice.c.volumes())[0].backend_name);
    assert.equal((await cli.run(['volumes', 'rm', 'cli-vol'])).code, 0);
    assert.deepEqual(await u.alice.c.volumes(), []);
    const q = await cli.run(['volumes', 'create', 'x', '--size', '11']);
    assert.notEqual(q.code, 0);
    assert.match(q.stderr, /quota/);
  });
});
