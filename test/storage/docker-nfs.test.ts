// Shares on a real dockerd: the env's share mount becomes a local-driver volume with exactly the share's NFS options;
// this machine's kernel has no NFS client, so the start fails with the kernel's message (never a fake success), and
// deleting the env leaves nothing behind. Bad sub_paths and shares not listed for the user are refused before.
import assert from 'node:assert/strict';
import Dockerode from 'dockerode';
import { HangarClient } from '../../common/client';
import { nfsMount } from '../../daemon/backends/docker/hostconfig';
import { shareSpec } from '../../daemon/environments/shares';
import type { User } from '../../common/model';
import { apiError } from '../helpers/apiError';
import { startDaemon, type TestDaemon } from '../helpers/daemon';
import { docker, SSH_IMAGE } from '../helpers/docker';

describe('storage: NFS shares on docker', function () {
  this.timeout(180_000);
  let d: TestDaemon;
  const sfx = Date.now() % 100000;
  const u: Record<string, { user: User; c: HangarClient }> = {};
  const base = { image: SSH_IMAGE, image_pull_policy: 'never' as const, environment_type: 'terminal' as const };

  before(async () => {
    d = await startDaemon({
      configYaml: [
        'shares:',
        `  - {name: projects, server: 127.0.0.1, export: /export, nfs_version: '4.1', options: [hard, timeo=600], users: [bob${sfx}], sub_directories: per_user}`,
        '',
      ].join('\n'),
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

  const share = (extra: Record<string, unknown> = {}) => ({
    mounts: [{ type: 'share' as const, source: 'projects', target: '/projects', ...extra }],
  });

  it('sub_path with "..", absolute or odd characters is 400 naming the field; an unlisted share is 403', async () => {
    for (const bad of ['../etc', '/etc', 'a/../../b', 'a b', 'x;rm']) {
      const e = await apiError(
        u.bob.c.createEnvironment({
          ...base,
          name: 'bad',
          storage_type: 'nfs',
          storage_config: share({ sub_path: bad }),
        }),
      );
      assert.deepEqual([e.status, e.field], [400, 'storage_config.mounts.0.sub_path'], bad);
    }
    const e = await apiError(u.alice.c.createEnvironment({ ...base, name: 'nope', storage_config: share() }));
    assert.deepEqual([e.status, e.field], [403, 'storage_config.mounts.0.source']);
    const k = await apiError(u.bob.c.createEnvironment({ ...base, name: 'pvc', storage_type: 'pvc' }));
    assert.equal(k.status, 400);
    assert.match(
      k.message,
      /storage_type: 'pvc' is not available on backend 'local' \(docker\); what each kind of backend can: docker: local, nfs/,
    );
    assert.deepEqual(await d.admin.listEnvironments(), []);
  });

  it("an env with a share fails with the kernel's message (no NFS client here), with its container and share volume gone", async () => {
    const env = await u.bob.c.createEnvironment({
      ...base,
      name: 'nfsuser',
      storage_type: 'nfs',
      storage_config: share({ sub_path: 'proj-a' }),
    });
    const failed = await u.bob.c.waitFor(env.id, ['failed', 'running']);
    assert.equal(failed.status, 'failed', 'no NFS client in this kernel: never a fake success');
    console.log(`      kernel says: ${failed.status_message}`);
    assert.match(failed.status_message ?? '', /mount|nfs|no such device/i);
    await u.bob.c.deleteEnvironment(env.id);
    for (let i = 0; i < 50 && (await u.bob.c.listEnvironments()).length; i++)
      await new Promise((r) => setTimeout(r, 200));
    assert.equal(await docker('volume', 'ls', '-q', '--filter', `label=dev.hangar.env-id=${env.id}`), '');
    assert.equal(await docker('ps', '-aq', '--filter', `label=dev.hangar.env-id=${env.id}`), '');
  });

  it("the volume dockerd makes for a share mount (container created, not started) has exactly the share's options", async () => {
    const envId = `t${sfx}`;
    const spec = shareSpec(
      [
        {
          name: 'projects',
          kind: 'nfs',
          server: '127.0.0.1',
          export: '/export',
          nfs_version: '4.1',
          options: ['hard', 'timeo=600'],
          users: [],
          teams: [],
          read_only: false,
          sub_directories: 'per_env',
        },
      ],
      { type: 'share', source: 'projects', target: '/projects', read_only: true, sub_path: 'a/b' },
      envId,
    );
    const engine = new Dockerode();
    const c = await engine.createContainer({
      Image: SSH_IMAGE,
      Labels: { 'dev.hangar.test': 'storage' },
      HostConfig: { Mounts: [nfsMount(envId, 0, spec, 'test-gateway')] },
    });
    try {
      const name = `hangar-share-${envId}-0`;
      const opts = JSON.parse(await docker('volume', 'inspect', '-f', '{{json .Options}}', name));
      assert.deepEqual(opts, {
        type: 'nfs',
        o: 'addr=127.0.0.1,nfsvers=4.1,hard,timeo=600,ro',
        device: `:/export/${envId}/a/b`,
      });
      const m = (await c.inspect()).Mounts[0];
      assert.deepEqual([m.Name, m.Destination, m.RW], [name, '/projects', false]);
    } finally {
      await c.remove({ force: true });
      await docker('volume', 'rm', '-f', `hangar-share-${envId}-0`);
    }
  });
});
