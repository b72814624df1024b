// Datasets in a VM, mounted by the guest itself with rclone (the template has it) using credentials scoped to the env's
// datasets (a versitygw account per env, bucket policy statements): one TCG boot for every check. The guest reaches
// the test S3 server on the host's 127.0.0.1 as 10.0.2.2 (QEMU's user-mode NAT, restrict_network off). The login user
// reads the read-only dataset (checksum), is refused writes there, writes the read-write one (the bucket has it) and
// can't read the key file; the key the guest got (taken from its cloud-init seed on the host) reads only the env's
// datasets — another user's prefix, listing the bucket and writes to the read-only one are 403 — and is revoked when
// the env is deleted. Another user's dataset is a 404 at create.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import YAML from 'yaml';
import { HangarClient } from '../../common/client';
import { datasetApi, uploadFile } from '../../common/datasetsClient';
import type { Environment } from '../../common/model';
import { apiError } from '../helpers/apiError';
import { Cli } from '../helpers/cli';
import { startDaemon, type TestDaemon } from '../helpers/daemon';
import { eventually } from '../helpers/k8s';
import { POOL, POOL_DIR } from '../helpers/libvirt';
import { ensureS3Server, S3_CREDENTIALS_FILE, S3_ENDPOINT, testStore, uniqueBucket } from '../helpers/s3';
import { tmpDir } from '../helpers/tmp';

const templateDir = () => execFileSync('bash', ['test/setup/build-vm-image.sh', 'path'], { encoding: 'utf8' }).trim();

/** The dataset keys the guest was given: from the user-data on its seed volume (what cloud-init wrote). */
function seedKeys(ref: string): { id: string; secret: string }[] {
  const dir = tmpDir('hangar-vmds-seed-');
  const iso = path.join(dir, 'seed.iso');
  execFileSync('qemu-img', ['convert', '-U', '-O', 'raw', path.join(POOL_DIR, `${ref}-seed.qcow2`), iso]);
  const text = execFileSync('isoinfo', ['-R', '-i', iso, '-x', '/user-data'], { encoding: 'utf8' });
  fs.rmSync(dir, { recursive: true, force: true });
  const doc = YAML.parse(text.replace(/^#cloud-config\n/, '')) as {
    write_files: { path: string; content: string; permissions: string }[];
  };
  return doc.write_files
    .filter((f) => f.path.startsWith('/etc/hangar/datasets/'))
    .map((f) => {
      assert.equal(f.permissions, '0600', f.path);
      const value = (k: string) => new RegExp(`^${k} = (.*)$`, 'm').exec(f.content)![1];
      return { id: value('access_key_id'), secret: value('secret_access_key') };
    });
}

describe('datasets: mounted in a VM by the guest (rclone mount, scoped credentials)', function () {
  this.timeout(3_600_000);
  const sfx = `${process.pid % 1000}${Date.now() % 100000}`;
  const TEMPLATE = `vmds-${sfx}`;
  const bucket = uniqueBucket('hangar-vmds');
  const payload = crypto.randomBytes(2 * 1024 * 1024 + 11);
  let d: TestDaemon;
  let alice: HangarClient;
  let bob: HangarClient;
  let cli: Cli;
  let env: Environment;
  let key: { id: string; secret: string };
  const aliceName = `alice${sfx}`;

  const ssh = async (command: string): Promise<{ code: number; out: string; err: string }> => {
    const r = await cli.run(['ssh', env.name, '--', command], { timeoutMs: 180_000 });
    return { code: r.code, out: r.stdout.trim(), err: r.stderr };
  };
  const ok = async (command: string) => {
    const r = await ssh(command);
    assert.equal(r.code, 0, `${command}: ${r.err}`);
    return r.out;
  };
  const status = (p: Promise<unknown>) =>
    p.then(
      () => 200,
      (e: { $metadata?: { httpStatusCode?: number } }) => e.$metadata?.httpStatusCode,
    );

  before(async function () {
    this.timeout(900_000);
    ensureS3Server();
    d = await startDaemon({
      configYaml: `
# The VM lane runs beside the other tests (test/run.sh): host ports of its own.
vnc_port_range: { from: 16800, to: 16819 }
rdp_port_range: { from: 14300, to: 14319 }
backends:
  - id: kvm
    kind: libvirt
    uri: qemu:///system
    pool: ${POOL}
    virt_type: qemu
    restrict_network: false    # the guest must reach the S3 server on the host's loopback (10.0.2.2)
    forward_port_range: { from: 22760, to: 22779 }
    default_vcpus: 1
    default_memory_mb: 768
    boot_timeout_s: 1800
    shutdown_timeout_s: 120
object_stores:
  - {name: s3, endpoint: '${S3_ENDPOINT}', credentials: {file: ${S3_CREDENTIALS_FILE}}, scoping: versitygw, admin_endpoint: 'http://127.0.0.1:17071'}
`,
    });
    const dir = templateDir();
    const meta = JSON.parse(fs.readFileSync(path.join(dir, 'template.json'), 'utf8'));
    await d.admin.importTemplate('kvm', {
      name: TEMPLATE,
      os: 'debian-12',
      cloud_init: true,
      firmware: 'direct-kernel',
      default_user: 'debian',
      cmdline: meta.cmdline,
      disk: { file: path.join(dir, 'disk.qcow2') },
      kernel: { file: path.join(dir, meta.kernel) },
      initrd: { file: path.join(dir, meta.initrd) },
    });
    const a = await d.admin.createUser(aliceName);
    alice = new HangarClient({ url: d.url, token: a.token, timeoutMs: 600_000 });
    bob = new HangarClient({ url: d.url, token: (await d.admin.createUser(`bob${sfx}`)).token });
    cli = new Cli(d.url);
    await cli.login(a.token);
    await datasetApi.create(alice, { name: 'corpus', store: 's3', bucket });
    await datasetApi.create(alice, { name: 'scratch', store: 's3', bucket });
    await datasetApi.create(bob, { name: 'bobs', store: 's3', bucket });
    const work = tmpDir('hangar-vmds-');
    fs.writeFileSync(path.join(work, 'p.bin'), payload);
    await uploadFile(alice, 'corpus', path.join(work, 'p.bin'), 'train/p.bin');
    fs.writeFileSync(path.join(work, 'b.txt'), 'bob only');
    await uploadFile(bob, 'bobs', path.join(work, 'b.txt'), 'b.txt');
  });
  after(async () => {
    for (const e of (await d?.admin.listEnvironments().catch(() => [])) ?? [])
      await d.admin.deleteEnvironment(e.id).catch(() => undefined);
    await d?.server.envs.idle();
    for (const x of (await datasetApi.list(d.admin).catch(() => [])) ?? [])
      await datasetApi.remove(d.admin, x.id, true).catch(() => undefined);
    await d?.admin.deleteTemplate('kvm', TEMPLATE).catch(() => undefined);
    await d?.close();
  });

  const vm = (c: HangarClient, mounts: object[]) =>
    c.createEnvironment({
      name: `vmds${sfx}`,
      deployment_mode: 'vm',
      backend_id: 'kvm',
      image: TEMPLATE,
      environment_type: 'terminal',
      storage_type: 's3',
      storage_config: { mounts: mounts as never },
    });

  it("another user's dataset is a 404 at create", async () => {
    const corpus = await datasetApi.get(alice, 'corpus');
    const e = await apiError(vm(bob, [{ type: 'dataset', source: `id:${corpus.id}`, target: '/d' }]));
    assert.equal(e.status, 404);
  });

  it('boots a VM whose guest mounts a read-only and a read-write dataset with rclone', async () => {
    const made = await vm(alice, [
      { type: 'dataset', source: 'corpus', target: '/data/corpus', read_only: true },
      { type: 'dataset', source: 'scratch', target: '/data/scratch' },
    ]);
    env = await alice.waitFor(made.id, ['running', 'failed'], { timeoutMs: 2_000_000 });
    assert.equal(env.status, 'running', env.status_message ?? '');
    const mounts = (await ok('findmnt -no FSTYPE,SOURCE,OPTIONS /data/corpus; findmnt -no FSTYPE,SOURCE /data/scratch'))
      .replace(/ +/g, ' ')
      .split('\n');
    assert.match(mounts[0], new RegExp(`^fuse\\.rclone ds:${bucket}/${aliceName}/corpus ro,`));
    assert.match(mounts[1], new RegExp(`^fuse\\.rclone ds:${bucket}/${aliceName}/scratch$`));
  });

  it('the login user reads the read-only dataset (checksum), is refused writes there, writes the read-write one', async () => {
    const sum = (await ok('sha256sum /data/corpus/train/p.bin')).split(' ')[0];
    assert.equal(sum, crypto.createHash('sha256').update(payload).digest('hex'));
    const refused = await ssh('echo x > /data/corpus/new.txt');
    assert.notEqual(refused.code, 0);
    assert.match(refused.err, /Read-only file system/);
    await ok('echo written-in-vm > /data/scratch/out.txt && sync');
    const scratch = await datasetApi.get(alice, 'scratch');
    // rclone uploads a written file seconds after its close (--vfs-cache-mode writes).
    const text = await eventually(
      () =>
        testStore()
          .client.send(new GetObjectCommand({ Bucket: bucket, Key: `${scratch.prefix}/out.txt` }))
          .then((r) => r.Body!.transformToString()),
      'the write in the bucket',
      120_000,
    );
    assert.equal(text, 'written-in-vm\n');
    assert.equal(await ok('stat -c %u /data/scratch/out.txt'), '1000');
    const keyFile = await ssh('cat /etc/hangar/datasets/0.conf');
    assert.notEqual(keyFile.code, 0, 'the key file is root-only in the guest');
    assert.match(keyFile.err, /Permission denied/);
  });

  it("the guest's key reaches only the env's datasets (403 elsewhere), and is not the store's", async () => {
    const keys = seedKeys(env.backend_ref!);
    assert.equal(keys.length, 2);
    key = keys[0];
    assert.match(key.id, /^hgenv[0-9a-f]+$/);
    const root = fs.readFileSync(S3_CREDENTIALS_FILE, 'utf8');
    assert.ok(!root.includes(key.secret) && !root.includes(`=${key.id}\n`), "not the store's own key");
    const s3 = new S3Client({
      endpoint: S3_ENDPOINT,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: key.id, secretAccessKey: key.secret },
    });
    const mine = `${aliceName}/corpus/train/p.bin`;
    assert.equal(await status(s3.send(new GetObjectCommand({ Bucket: bucket, Key: mine }))), 200);
    assert.equal(await status(s3.send(new GetObjectCommand({ Bucket: bucket, Key: `bob${sfx}/bobs/b.txt` }))), 403);
    assert.equal(await status(s3.send(new ListObjectsV2Command({ Bucket: bucket }))), 403);
    assert.equal(
      await status(s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${aliceName}/corpus/x`, Body: 'x' }))),
      403,
    );
    // The mount can't climb out of its prefix either.
    assert.notEqual((await ssh(`cat /data/corpus/../bobs/b.txt /data/corpus/../../bob${sfx}/bobs/b.txt`)).code, 0);
  });

  it("deleting the env revokes the guest's key", async () => {
    await alice.deleteEnvironment(env.id);
    await d.server.envs.idle();
    const s3 = new S3Client({
      endpoint: S3_ENDPOINT,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: key.id, secretAccessKey: key.secret },
    });
    const err = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `${aliceName}/corpus/train/p.bin` })).then(
      () => 'allowed',
      (e: Error) => e.name,
    );
    assert.equal(err, 'InvalidAccessKeyId');
  });
});
