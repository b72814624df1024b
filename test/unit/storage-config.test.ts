// The operator's storage settings: shares and volume quotas are strict, and a share path is only what was checked.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { User } from '../../common/model';
import { createEnvironmentSchema } from '../../common/schemas';
import { loadConfig } from '../../daemon/config';
import { makeDirsScript } from '../../daemon/backends/shared/shareDirs';
import { planShare, shareSpec } from '../../daemon/environments/shares';
import { ForbiddenError } from '../../daemon/errors';
import { tmpDir } from '../helpers/tmp';

const yaml = (s: string) => {
  const file = path.join(tmpDir(), 'c.yaml');
  fs.writeFileSync(file, s);
  return () => loadConfig({ argv: ['--config', file] });
};

describe('config: shares and volume_quotas', () => {
  it('parses a share with defaults; quotas default to none', () => {
    const c = yaml('shares:\n  - {name: data, server: 10.0.0.5, export: /srv/data, users: ["*"]}\n')();
    assert.deepEqual(c.shares, [
      {
        name: 'data',
        kind: 'nfs',
        server: '10.0.0.5',
        export: '/srv/data',
        nfs_version: '4.1',
        options: [],
        users: ['*'],
        teams: [],
        read_only: false,
        sub_directories: 'none',
      },
    ]);
    assert.deepEqual(loadConfig({}).volume_quotas, { per_user: {}, per_team: {} });
  });

  it('refuses unknown keys, odd servers, paths and options, and duplicates, naming the key', () => {
    assert.throws(yaml('shares:\n  - {name: a, server: s, export: /x, secret: y}\n'), /shares\.0\.secret: unknown key/);
    assert.throws(yaml('shares:\n  - {name: a, server: "s;rm", export: /x}\n'), /shares\.0\.server/);
    assert.throws(yaml('shares:\n  - {name: a, server: s, export: /x/../y}\n'), /shares\.0\.export/);
    assert.throws(
      yaml('shares:\n  - {name: a, server: s, export: /x, options: ["ro,exec"]}\n'),
      /shares\.0\.options\.0/,
    );
    assert.throws(
      yaml('shares:\n  - {name: a, server: s, export: /x}\n  - {name: a, server: t, export: /y}\n'),
      /shares\.1\.name: duplicate/,
    );
    assert.throws(
      yaml('volume_quotas:\n  per_user: {max_size: 3}\n'),
      /volume_quotas\.per_user\.max_size: unknown key/,
    );
  });
});

describe('share mounts', () => {
  const shares = yaml(
    'shares:\n  - {name: home, server: nfs, export: /home, users: [alice], sub_directories: per_user}\n  - {name: ro, server: nfs, export: /, teams: [ml], read_only: true, sub_directories: per_env}\n  - {name: open, server: nfs, export: /srv, users: ["*"]}\n',
  )().shares;
  const alice: User = { id: 'u1', name: 'alice', role: 'user', team: 'ml', created_at: '' };
  const bob: User = { id: 'u2', name: 'bob', role: 'admin', team: null, created_at: '' };

  it('per_user and per_env sub-directories, then the sub_path; read-only stays read-only', () => {
    const m = planShare(shares, alice, { type: 'share', source: 'home', target: '/w', sub_path: 'p/q' }, 'f');
    assert.deepEqual(m, {
      type: 'share',
      source: 'home',
      target: '/w',
      read_only: false,
      sub_path: 'alice/p/q',
      make_below: '',
    });
    assert.equal(shareSpec(shares, m, 'e1').nfs!.path, '/home/alice/p/q');
    assert.deepEqual(shareSpec(shares, m, 'e1').nfs!.make, { base: '/home', sub: 'alice/p/q' });
    const r = planShare(shares, alice, { type: 'share', source: 'ro', target: '/r' }, 'f');
    assert.deepEqual(shareSpec(shares, r, 'e1').nfs, {
      kind: 'nfs',
      server: 'nfs',
      path: '/e1',
      version: '4.1',
      options: [],
    });
    assert.throws(
      () => planShare(shares, alice, { type: 'share', source: 'ro', target: '/r', read_only: false }, 'f'),
      ForbiddenError,
    );
    assert.throws(
      () => planShare(shares, bob, { type: 'share', source: 'home', target: '/r' }, 'f'),
      /not a share user 'bob' may use/,
    );
  });

  it('{user} and {env} segments: Hangar makes the directories from the first one down, never above it', () => {
    const m = planShare(
      shares,
      alice,
      { type: 'share', source: 'open', target: '/w', sub_path: 'data/{user}/{env}/x' },
      'f',
    );
    assert.deepEqual([m.sub_path, m.make_below], ['data/alice/{env}/x', 'data']);
    assert.deepEqual(shareSpec(shares, m, 'e1').nfs, {
      kind: 'nfs',
      server: 'nfs',
      path: '/srv/data/alice/e1/x',
      version: '4.1',
      options: [],
      make: { base: '/srv/data', sub: 'alice/e1/x' },
    });
    // A plain sub_path is the operator's directory: it must exist, nothing is made.
    const plain = planShare(shares, alice, { type: 'share', source: 'open', target: '/w', sub_path: 'data/x' }, 'f');
    assert.equal(plain.make_below, undefined);
    assert.equal(shareSpec(shares, plain, 'e1').nfs!.make, undefined);
    // Nothing is made on a read-only share.
    const ro = planShare(shares, alice, { type: 'share', source: 'ro', target: '/r' }, 'f');
    assert.equal(shareSpec(shares, ro, 'e1').nfs!.make, undefined);
    // per_env: the env's directory and what is below it.
    assert.deepEqual(
      shareSpec(
        shares.map((x) => (x.name === 'open' ? { ...x, sub_directories: 'per_env' as const } : x)),
        plain,
        'e1',
      ).nfs!.make,
      { base: '/srv', sub: 'e1/data/x' },
    );
  });

  it('the made directories: one level at a time, a symlink refused, root-owned ones handed to uid 1000', async () => {
    const root = tmpDir();
    fs.mkdirSync(path.join(root, 'alice'));
    const sh = (sub: string) =>
      spawnSync('sh', ['-c', makeDirsScript(root, { base: '/x', sub })], { encoding: 'utf8' });
    const ok = sh('alice/e1/x');
    assert.equal(ok.status, 0, ok.stderr);
    const st = fs.statSync(path.join(root, 'alice/e1/x'));
    assert.equal(st.mode & 0o777, 0o750);
    // Run as root (the set-up's tests are), root's directories become the login user's; otherwise they stay.
    assert.equal(st.uid, process.getuid!() === 0 ? 1000 : process.getuid!());
    fs.symlinkSync('/etc', path.join(root, 'link'));
    const bad = sh('link/x');
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /refusing .*link on the share: a symlink/);
    assert.ok(!fs.existsSync('/etc/x'));
  });

  it('the API schema refuses "..", absolute and odd sub_paths, naming the field', () => {
    for (const sub of ['..', 'a/..', '/etc', 'a//b', 'a b', '$(x)', '.', '{home}', 'a{user}', '{user']) {
      const r = createEnvironmentSchema.safeParse({
        name: 'e',
        image: 'i',
        storage_config: { mounts: [{ type: 'share', source: 'home', target: '/w', sub_path: sub }] },
      });
      assert.equal(r.success, false, sub);
      assert.deepEqual(r.error!.issues[0].path, ['storage_config', 'mounts', 0, 'sub_path'], sub);
    }
  });
});
