// Datasets in envs that reach the store themselves, pure parts: the bucket policy statements of an env's account
// (list under the prefix only, read, write only when read-write; the operator's statements kept, stale Hangar ones
// dropped), what a VM's cloud-init gets (a root-only 0600 rclone config, a mount unit before the env's, the host alias on
// user-mode networking, the refusal on a restricted network) and the store config's scoping rules. The real store,
// pods and guest: test/datasets/k8s-datasets.test.ts and test/datasets/vm-datasets.test.ts.
import assert from 'node:assert/strict';
import YAML from 'yaml';
import { userData } from '../../daemon/backends/libvirt/cloudInit';
import { datasetsScript, guestDatasets, rcloneConfig } from '../../daemon/backends/libvirt/guestDatasets';
import type { SpecMount } from '../../daemon/contract';
import { objectStore } from '../../daemon/objectstore/config';
import { accountFor, mergePolicy, newSecret, statementsFor } from '../../daemon/objectstore/scopedPolicy';

const ds = (target: string, readOnly: boolean, endpoint = 'http://127.0.0.1:17070'): SpecMount => ({
  type: 'dataset',
  source: 'dataset-0',
  target,
  read_only: readOnly,
  dataset: {
    endpoint,
    region: 'us-east-1',
    pathStyle: true,
    bucket: 'b1',
    prefix: 'alice/corpus',
    accessKeyId: 'hgenvabc',
    secretAccessKey: 'S3cretS3cret',
  },
});

describe('datasets: scoped credentials and guest mounts (pure)', () => {
  it('statements: list under the prefix, read it, write only when read-write', () => {
    const account = accountFor('0b4a1f7e-0000-4000-8000-000000000000', 's3');
    assert.match(account, /^hgenv[0-9a-f]{27}$/);
    assert.equal(accountFor('0b4a1f7e-0000-4000-8000-000000000000', 's3'), account, 'derived, so a delete finds it');
    const ro = statementsFor(account, [{ bucket: 'b1', prefix: 'alice/corpus', readOnly: true }]);
    assert.deepEqual(
      ro.map((s) => [s.Action, s.Resource, s.Condition ?? null]),
      [
        [
          ['s3:ListBucket'],
          ['arn:aws:s3:::b1'],
          { StringLike: { 's3:prefix': ['alice/corpus', 'alice/corpus/', 'alice/corpus/*'] } },
        ],
        [['s3:GetObject'], ['arn:aws:s3:::b1/alice/corpus', 'arn:aws:s3:::b1/alice/corpus/*'], null],
      ],
    );
    const rw = statementsFor(account, [{ bucket: 'b1', prefix: 'alice/scratch', readOnly: false }]);
    assert.ok(rw[2].Action.includes('s3:PutObject') && rw[2].Action.includes('s3:DeleteObject'));
    assert.deepEqual(rw[2].Resource, ['arn:aws:s3:::b1/alice/scratch/*']);
    assert.ok(rw.every((s) => s.Principal.AWS[0] === account && s.Effect === 'Allow'));
    assert.match(newSecret(), /^[A-Za-z0-9]{40}$/);
  });

  it("merge: replaces the account's statements, keeps the operator's, drops those of accounts that are gone", () => {
    const mine = accountFor('e1', 's3');
    const gone = accountFor('e2', 's3');
    const live = accountFor('e3', 's3');
    const operator = { Sid: 'ops', Effect: 'Allow', Principal: { AWS: ['ops'] }, Action: ['s3:*'], Resource: ['*'] };
    const before = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        operator,
        ...statementsFor(mine, [{ bucket: 'b', prefix: 'old', readOnly: true }]),
        ...statementsFor(gone, [{ bucket: 'b', prefix: 'x', readOnly: true }]),
        ...statementsFor(live, [{ bucket: 'b', prefix: 'y', readOnly: true }]),
      ],
    });
    const add = statementsFor(mine, [{ bucket: 'b', prefix: 'new', readOnly: false }]);
    const after = JSON.parse(mergePolicy(before, mine, add, new Set([mine, live]))!);
    const sids = after.Statement.map((s: { Sid: string }) => s.Sid);
    assert.deepEqual(sids, ['ops', `Hangar${live}S0`, `Hangar${live}S1`, ...add.map((s) => s.Sid)]);
    assert.ok(!JSON.stringify(after).includes('"old'), "the account's earlier grant is gone");
    // Removing the last Hangar statement of a policy that had only those: nothing left, the policy is deleted.
    const only = JSON.stringify({ Version: '2012-10-17', Statement: add });
    assert.equal(mergePolicy(only, mine, [], new Set([mine])), undefined);
  });

  it('VM: a 0600 rclone config with the key, rclone mount --read-only for the login user, 10.0.2.2 for loopback', () => {
    const guest = guestDatasets([ds('/data/corpus', true), ds("/data/it's", false, 'https://s3.example.org')], {
      backendId: 'kvm',
      network: 'user',
      restrict: false,
    });
    assert.equal(guest[0].endpoint, 'http://10.0.2.2:17070');
    assert.equal(guest[1].endpoint, 'https://s3.example.org', 'a real host name is kept');
    const script = datasetsScript(guest);
    assert.match(
      script,
      /rclone 'mount' 'ds:b1\/alice\/corpus' '\/data\/corpus' '--config=\/etc\/hangar\/datasets\/0\.conf' '--daemon' '--allow-other' '--uid=1000' '--gid=1000' '--umask=022' '--dir-cache-time=30s' '--log-file=\/var\/log\/hangar-dataset-0\.log' '--read-only'/,
    );
    assert.match(script, /'\/data\/it'\\''s' .*'--vfs-cache-mode=writes'/, 'quoted; read-write caches writes');
    assert.ok(!script.includes('S3cret'), 'the key is in its file, not the script');
    const doc = YAML.parse(
      userData({ hostname: 'h', files: [], command: ['/bin/true'], datasets: guest }).replace('#cloud-config\n', ''),
    );
    const conf = doc.write_files.find((f: { path: string }) => f.path === '/etc/hangar/datasets/0.conf');
    assert.equal(conf.permissions, '0600');
    assert.equal(
      conf.content,
      [
        '[ds]',
        'type = s3',
        'provider = Other',
        'endpoint = http://10.0.2.2:17070',
        'region = us-east-1',
        'force_path_style = true',
        'no_check_bucket = true',
        'access_key_id = hgenvabc',
        'secret_access_key = S3cretS3cret',
        '',
      ].join('\n'),
    );
    const unit = doc.write_files.find((f: { path: string }) => f.path.endsWith('hangar-datasets.service'));
    assert.match(unit.content, /Before=hangar-init\.service/);
    assert.deepEqual(doc.runcmd.slice(-3)[0], ['systemctl', 'enable', '--now', 'hangar-datasets.service']);
    const nl = { ...ds('/d', true), dataset: { ...ds('/d', true).dataset!, region: 'x\nsecret_access_key = y' } };
    assert.throws(
      () => rcloneConfig(guestDatasets([nl], { backendId: 'k', network: 'n', restrict: false })[0]),
      /region/,
    );
  });

  it('VM: a restricted network is refused, naming it; a libvirt network keeps the loopback address', () => {
    assert.throws(
      () => guestDatasets([ds('/d', true)], { backendId: 'kvm', network: 'user', restrict: true }),
      /restrict_network/,
    );
    const [g] = guestDatasets([ds('/d', true)], { backendId: 'kvm', network: 'default', restrict: true });
    assert.equal(g.endpoint, 'http://127.0.0.1:17070');
  });

  it('config: scoping versitygw needs admin_endpoint; the default is none, without full credentials to envs', () => {
    const base = { name: 's', endpoint: 'http://127.0.0.1:1', credentials: { file: '/x' } };
    const r = objectStore.safeParse({ ...base, scoping: 'versitygw' });
    assert.equal(r.success, false);
    assert.deepEqual(r.error!.issues[0].path, ['admin_endpoint']);
    const d = objectStore.parse(base);
    assert.equal(d.scoping, 'none');
    assert.equal(d.full_credentials_to_envs, false);
  });
});
