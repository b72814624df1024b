// Backups of VM data disks into the real test S3 server, without a boot: the disk is the one POST /volumes makes,
// written and read by pattern with qemu-io (QEMU's own block layer, as a guest would see it). A backup is the qcow2
// file's exact bytes in the store (the SHA-256 recorded equals the pool file's and the object's); the disk is
// changed, restored, and holds the old bytes again (pattern and SHA-256 of the whole file); a schedule's keep 1
// deletes the older backup's object; another user gets 404 for everything; an object changed in the store is a 422
// on restore and the disk is not touched (the booted VM's own backup, while it runs, is
// test/datasets/backups-vm.test.ts).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Readable } from 'node:stream';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { HangarClient } from '../../common/client';
import type { Volume } from '../../common/model';
import { apiError } from '../helpers/apiError';
import { startDaemon, type TestDaemon } from '../helpers/daemon';
import { holds, LIBVIRT_CONFIG, POOL, POOL_DIR, qemuIo } from '../helpers/libvirt';
import { ensureS3Server, testStore, uniqueBucket } from '../helpers/s3';
import { backupStoreYaml } from '../helpers/volumeData';

const run = promisify(execFile);
const virsh = (...a: string[]) => run('virsh', ['-q', '-c', 'qemu:///system', ...a]);
const diskFile = (v: Volume) => path.join(POOL_DIR, `${v.backend_name}.qcow2`);
const fileSum = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

describe('datasets: backups of libvirt data disks (qcow2 images in the store), restore by checksum', function () {
  this.timeout(300_000);
  const bucket = uniqueBucket('hangar-vmbak');
  const s3 = testStore();
  const sfx = crypto.randomBytes(3).toString('hex');
  let d: TestDaemon;
  let bob: HangarClient;
  let alice: HangarClient;
  let vol: Volume;
  const objectSum = async (key: string) => {
    const r = await s3.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const h = crypto.createHash('sha256');
    for await (const chunk of r.Body as Readable) h.update(chunk as Buffer);
    return h.digest('hex');
  };
  const keys = async () =>
    ((await s3.client.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map((o) => o.Key!);

  before(async () => {
    ensureS3Server();
    await virsh('pool-info', POOL);
    d = await startDaemon({ configYaml: `${LIBVIRT_CONFIG}${backupStoreYaml(bucket)}` });
    bob = new HangarClient({ url: d.url, token: (await d.admin.createUser(`bob${sfx}`, 'user')).token });
    alice = new HangarClient({ url: d.url, token: (await d.admin.createUser(`alice${sfx}`, 'user')).token });
    vol = await bob.createVolume({ name: 'disk', backend_id: 'kvm', size_gb: 1 });
    await qemuIo(vol.backend_name, 'write -P 0xab 0 1M');
    await qemuIo(vol.backend_name, 'write -P 0x11 512M 4M');
  });
  after(async () => {
    for (const b of (await d?.admin.backups().catch(() => [])) ?? []) await d.admin.deleteBackup(b.id).catch(() => 0);
    for (const v of (await d?.admin.volumes().catch(() => [])) ?? []) await d.admin.deleteVolume(v.id).catch(() => 0);
    await d?.close();
  });

  it("a backup is the disk's exact qcow2 bytes in the store; change, restore: the same bytes are back", async () => {
    const before = fileSum(diskFile(vol));
    const b = await bob.runBackup({ volume: vol.id });
    assert.equal(b.status, 'complete', b.message ?? '');
    assert.deepEqual(
      b.items.map((i) => [i.item, i.kind, i.volume_id, i.sha256]),
      [[`volume:${vol.id}`, 'disk_image', vol.id, before]],
    );
    assert.equal(b.items[0].size_bytes, fs.statSync(diskFile(vol)).size);
    const [key] = await keys();
    assert.match(key, new RegExp(`^snap/backups/${b.id}/volume-${vol.id}\\.qcow2$`));
    assert.equal(await objectSum(key), before, 'the object holds the same bytes');
    await qemuIo(vol.backend_name, 'write -P 0xcd 0 1M');
    await qemuIo(vol.backend_name, 'write -P 0x22 900M 1M'); // new clusters: the file grows
    assert.equal(await holds(vol.backend_name, 0xab), false);
    assert.notEqual(fileSum(diskFile(vol)), before);
    await bob.restoreBackup(b.id);
    assert.equal(fileSum(diskFile(vol)), before, 'the pool file is byte for byte the backup');
    assert.equal(await holds(vol.backend_name, 0xab), true);
    assert.match(await qemuIo(vol.backend_name, 'read -P 0x11 512M 4M'), /read 4194304/);
    const info = JSON.parse((await run('qemu-img', ['info', '-U', '--output=json', diskFile(vol)])).stdout);
    assert.deepEqual([info.format, info['virtual-size']], ['qcow2', 2 ** 30]);
  });

  it("another user gets 404 for the disk's backups, runs, restores, schedules and deletes", async () => {
    const [b] = await bob.backups({ volume: vol.id });
    for (const call of [
      () => alice.backup(b.id),
      () => alice.restoreBackup(b.id),
      () => alice.deleteBackup(b.id),
      () => alice.backups({ volume: vol.id }),
      () => alice.runBackup({ volume: vol.id }),
      () => alice.putBackupSchedule({ volume: vol.id, cron: '@daily' }),
    ])
      assert.equal((await apiError(call())).status, 404);
    assert.deepEqual(await alice.backups(), []);
  });

  it('a schedule with keep 1: the next backup deletes the older one, its object first', async () => {
    const [old] = await bob.backups({ volume: vol.id });
    await bob.putBackupSchedule({ volume: vol.id, cron: '0 3 * * *', timezone: 'Asia/Shanghai', keep: 1 });
    await qemuIo(vol.backend_name, 'write -P 0xee 0 1M');
    const next = await bob.runBackup({ volume: vol.id });
    assert.deepEqual(
      (await bob.backups({ volume: vol.id })).map((b) => b.id),
      [next.id],
    );
    assert.deepEqual(await keys(), [`snap/backups/${next.id}/volume-${vol.id}.qcow2`]);
    assert.equal((await apiError(bob.backup(old.id))).status, 404);
    assert.equal(next.items[0].sha256, fileSum(diskFile(vol)));
  });

  it('an image changed in the store is a 422 naming the checksum, and the disk is not touched', async () => {
    const [b] = await bob.backups({ volume: vol.id });
    const key = (await keys())[0];
    const body = Buffer.alloc(b.items[0].size_bytes, 1);
    await s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    await qemuIo(vol.backend_name, 'write -P 0x77 0 1M');
    const now = fileSum(diskFile(vol));
    const r = await apiError(bob.restoreBackup(b.id));
    assert.equal(r.status, 422);
    assert.match(r.message, new RegExp(`has SHA-256 [0-9a-f]{64}, recorded ${b.items[0].sha256}`));
    assert.equal(fileSum(diskFile(vol)), now);
    assert.equal(await holds(vol.backend_name, 0x77), true);
  });
});
