// Host paths only from the operator's allowlist, volumes as owned objects, the gateway id kept in two places.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { User } from '../../common/model';
import { loadConfig, type HostPathConfig } from '../../daemon/config';
import { ForbiddenError, InputError, NotFoundError } from '../../daemon/errors';
import { resolveGatewayId } from '../../daemon/services/gatewayId';
import { MountPolicy } from '../../daemon/environments/mounts';
import { openDatabase } from '../../daemon/store/db';
import { tmpDir } from '../helpers/tmp';

const yaml = (s: string) => {
  const file = path.join(tmpDir(), 'c.yaml');
  fs.writeFileSync(file, s);
  return () => loadConfig({ argv: ['--config', file] });
};

describe('config: host_paths', () => {
  it('parses entries: read-only by default, users and teams', () => {
    const c = yaml(
      'host_paths:\n  - name: datasets\n    path: /srv/datasets\n    users: [alice]\n    teams: [ml]\n  - name: scratch\n    path: /scratch\n    read_only: false\n    users: ["*"]\n',
    )();
    assert.deepEqual(c.host_paths, [
      { name: 'datasets', path: '/srv/datasets', read_only: true, users: ['alice'], teams: ['ml'] },
      { name: 'scratch', path: '/scratch', read_only: false, users: ['*'], teams: [] },
    ]);
    assert.deepEqual(loadConfig({}).host_paths, []);
  });

  it('refuses relative or unnormalised paths, bad names, duplicates and unknown keys, naming the key', () => {
    assert.throws(yaml('host_paths:\n  - {name: a, path: srv}\n'), /host_paths\.0\.path: must be an absolute path/);
    assert.throws(
      yaml('host_paths:\n  - {name: a, path: /srv/../etc}\n'),
      /host_paths\.0\.path: must be a normalised path/,
    );
    assert.throws(yaml('host_paths:\n  - {name: a, path: /srv/}\n'), /host_paths\.0\.path/);
    assert.throws(yaml('host_paths:\n  - {name: A b, path: /srv}\n'), /host_paths\.0\.name/);
    assert.throws(
      yaml('host_paths:\n  - {name: a, path: /x}\n  - {name: a, path: /y}\n'),
      /host_paths\.1\.name: duplicate name 'a'/,
    );
    assert.throws(
      yaml('host_paths:\n  - {name: a, path: /x, writable: true}\n'),
      /invalid configuration: host_paths\.0/,
    );
  });
});

describe('mount policy', () => {
  const hp: HostPathConfig[] = [
    { name: 'datasets', path: '/srv/datasets', read_only: true, users: ['alice'], teams: ['ml'] },
    { name: 'scratch', path: '/scratch', read_only: false, users: ['*'], teams: [] },
  ];
  const alice: User = { id: 'u-alice', name: 'alice', role: 'user', team: null, created_at: '' };
  const bob: User = { id: 'u-bob', name: 'bob', role: 'user', team: 'ml', created_at: '' };
  const admin: User = { id: 'u-admin', name: 'admin', role: 'admin', team: null, created_at: '' };
  let policy: MountPolicy;
  let db: Awaited<ReturnType<typeof openDatabase>>;
  before(async () => {
    db = await openDatabase(tmpDir());
    for (const u of [alice, bob, admin])
      await db
        .insertInto('users')
        .values({ ...u, created_at: new Date().toISOString() })
        .execute();
    policy = new MountPolicy({ hostPaths: hp, db });
  });
  after(() => db.destroy());

  const refused = async (p: Promise<unknown>) => {
    try {
      await p;
    } catch (err) {
      return err as Error & { details?: Record<string, unknown> };
    }
    throw new Error('not refused');
  };

  it('refuses raw binds for everyone, admins included, naming the rule', async () => {
    const err = await refused(policy.plan(admin, 'local', [{ type: 'bind', source: '/', target: '/host' }]));
    assert.ok(err instanceof ForbiddenError);
    assert.match(err.message, /storage_config\.mounts\.0: raw host paths are refused \(rule host_paths/);
    assert.equal(err.details?.rule, 'host_paths');
  });

  it('host paths: only entries the user may use, read-only unless the entry allows rw; the path comes from the config', async () => {
    const [p] = await policy.plan(alice, 'local', [{ type: 'host_path', source: 'datasets', target: '/data' }]);
    assert.deepEqual(p.spec, { type: 'bind', source: '/srv/datasets', target: '/data', read_only: true });
    assert.deepEqual(p.stored, { type: 'host_path', source: 'datasets', target: '/data', read_only: true });
    assert.equal(
      (await policy.plan(bob, 'local', [{ type: 'host_path', source: 'datasets', target: '/d' }]))[0].spec.source,
      '/srv/datasets',
      'by team',
    );
    for (const who of [admin]) {
      const err = await refused(policy.plan(who, 'local', [{ type: 'host_path', source: 'datasets', target: '/d' }]));
      assert.ok(err instanceof ForbiddenError && /not a host_paths entry user 'admin' may use/.test(err.message));
    }
    assert.ok(
      (await refused(policy.plan(alice, 'local', [{ type: 'host_path', source: 'nope', target: '/d' }]))) instanceof
        ForbiddenError,
    );
    const rw = await refused(
      policy.plan(alice, 'local', [{ type: 'host_path', source: 'datasets', target: '/d', read_only: false }]),
    );
    assert.ok(rw instanceof ForbiddenError);
    assert.equal(rw.details?.rule, 'host_paths.read_only');
    assert.equal(
      (await policy.plan(admin, 'local', [{ type: 'host_path', source: 'scratch', target: '/s' }]))[0].spec.read_only,
      false,
    );
    assert.deepEqual(
      policy.toSpec([{ type: 'host_path', source: 'datasets', target: '/d', read_only: false }], 'env'),
      [{ type: 'bind', source: '/srv/datasets', target: '/d', read_only: true }],
      'an entry read-only now stays so',
    );
  });

  it('volumes: per owner, backend names from ids, team volumes for the team, others 404', async () => {
    const [a] = await policy.plan(alice, 'local', [{ type: 'volume', source: 'data', target: '/data' }]);
    assert.ok(a.newVolume);
    assert.equal(a.spec.source, `hangar-vol-${a.newVolume.id}`);
    await policy.commit(db, [a]);
    const [again] = await policy.plan(alice, 'local', [{ type: 'volume', source: 'data', target: '/data' }]);
    assert.equal(again.newVolume, undefined);
    assert.equal(again.stored.volume_id, a.newVolume.id);
    const [b] = await policy.plan(bob, 'local', [{ type: 'volume', source: 'data', target: '/data' }]);
    assert.ok(b.newVolume && b.newVolume.id !== a.newVolume.id, "bob's data is his own");
    for (const src of [`id:${a.newVolume.id}`, `hangar-vol-${a.newVolume.id}`]) {
      const [p] = await policy
        .plan(bob, 'local', [{ type: 'volume', source: src, target: '/x' }])
        .catch((err) => [err]);
      if (src.startsWith('id:')) assert.ok(p instanceof NotFoundError, 'by id: 404');
      else assert.notEqual(p.spec.source, `hangar-vol-${a.newVolume.id}`, 'a backend name is only a name');
    }
    assert.ok(
      (await refused(policy.plan(alice, 'local', [{ type: 'volume', source: 'team:data', target: '/x' }]))) instanceof
        NotFoundError,
      'no team',
    );
    const [t] = await policy.plan(bob, 'local', [{ type: 'volume', source: 'team:data', target: '/x' }]);
    assert.equal(t.newVolume?.team, 'ml');
    assert.ok(
      (await refused(
        policy.plan(alice, 'local', [
          { type: 'volume', source: 'a', target: '/x' },
          { type: 'volume', source: 'b', target: '/x' },
        ]),
      )) instanceof InputError,
    );
  });
});

describe('gateway id', () => {
  it('kept in the file and the database; a lost file comes back; a mismatch is a start-up error', async () => {
    const dir = tmpDir();
    const db = await openDatabase(dir);
    try {
      const id = await resolveGatewayId(dir, db);
      assert.equal(fs.readFileSync(path.join(dir, 'gateway.id'), 'utf8').trim(), id);
      fs.rmSync(path.join(dir, 'gateway.id'));
      assert.equal(await resolveGatewayId(dir, db), id);
      assert.equal(fs.readFileSync(path.join(dir, 'gateway.id'), 'utf8').trim(), id);
      fs.writeFileSync(path.join(dir, 'gateway.id'), 'someoneelse\n');
      await assert.rejects(
        resolveGatewayId(dir, db),
        /gateway id mismatch: .*gateway\.id says 'someoneelse' but the database says '[0-9a-f]+'/,
      );
    } finally {
      await db.destroy();
    }
  });

  it('a file from before the meta table is taken into the database', async () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'gateway.id'), 'abc123\n');
    const db = await openDatabase(dir);
    try {
      assert.equal(await resolveGatewayId(dir, db), 'abc123');
      assert.equal(
        (await db.selectFrom('meta').select('value').where('key', '=', 'gateway_id').executeTakeFirst())?.value,
        'abc123',
      );
    } finally {
      await db.destroy();
    }
  });
});
