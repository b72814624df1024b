// GPUs on a Docker host end to end: inventory from nvidia-smi (a test double printing fixtures: there is no GPU
// here), grants chosen by the daemon, the UUIDs dockerd stores in DeviceRequests and hands to the container
// (through the nvidia-container-runtime-hook double test/setup/start-dockerd.sh puts on dockerd's PATH).
import fs from 'node:fs';
import assert from 'node:assert/strict';
import path from 'node:path';
import { ApiError } from '../../common/client';
import type { GpuInfo } from '../../common/model';
import { spawnDaemon, startDaemon, type TestDaemon } from '../helpers/daemon';
import { containersWith, docker, inspect, SSH_IMAGE } from '../helpers/docker';
import { tmpDir } from '../helpers/tmp';
import { apiError } from '../helpers/apiError';

const DOUBLE = path.resolve(__dirname, '../doubles/nvidia-smi');
const FIXTURES = path.resolve(__dirname, '../fixtures/nvidia-smi');
const useFixture = (name: string) => {
  process.env.HANGAR_FAKE_NVIDIA_SMI = path.join(FIXTURES, name);
};
const config = `backends:\n  - id: local\n    nvidia_smi: ${DOUBLE}\n    gpu_shared_replicas: 2\n`;

const base = { image: SSH_IMAGE, image_pull_policy: 'never' as const, environment_type: 'terminal' as const };

describe('docker: GPU inventory and allocation', function () {
  this.timeout(240_000);
  let d: TestDaemon;
  const gpus = () => d.admin.request<GpuInfo[]>('GET', '/api/v1/gpus');

  before(async () => {
    useFixture('a100-mig-535');
    d = await startDaemon({ configYaml: config });
    await d.admin.request('POST', '/api/v1/gpus/refresh');
  });
  after(async () => {
    for (const e of (await d?.admin.listEnvironments()) ?? [])
      await d.admin.deleteEnvironment(e.id).catch(() => undefined);
    await d?.close();
    delete process.env.HANGAR_FAKE_NVIDIA_SMI;
  });

  it('inventory: whole GPUs, MIG instances, free units', async () => {
    const gs = await gpus();
    assert.equal(gs.length, 6);
    const g0 = gs.find((g) => g.index === 0 && g.kind === 'gpu')!;
    assert.equal(g0.mig_mode, 'enabled');
    assert.equal(g0.free, 0, 'MIG on: only its instances are grantable');
    assert.equal(gs.filter((g) => g.kind === 'mig').length, 4);
    assert.equal((await d.admin.request<GpuInfo[]>('GET', '/api/v1/gpus?free=true&model=A100')).length, 5);
  });

  it('exclusive: the granted UUID is what dockerd stores and what the container sees', async () => {
    const env = await d.admin.createEnvironment({
      ...base,
      name: 'train',
      gpu_mode: 'exclusive',
      gpu_count: 1,
      gpu_model: 'A100',
    });
    const running = await d.admin.waitFor(env.id, ['running']);
    const g1 = (await gpus()).find((g) => g.kind === 'gpu' && g.index === 1)!;
    assert.deepEqual(running.gpu_device_ids, [g1.id]);
    const c = await inspect(running.backend_ref!);
    assert.deepEqual(c.HostConfig.DeviceRequests, [
      { Driver: 'nvidia', Count: 0, DeviceIDs: [g1.id], Capabilities: [['gpu']], Options: {} },
    ]);
    // dockerd gives it to the container's init process (the OCI spec), where NVIDIA's hook reads it.
    const initEnv = await docker('exec', running.backend_ref!, 'sh', '-c', "tr '\\0' '\\n' < /proc/1/environ");
    assert.ok(initEnv.split('\n').includes(`NVIDIA_VISIBLE_DEVICES=${g1.id}`), initEnv);
    const after = (await gpus()).find((g) => g.id === g1.id)!;
    assert.equal(after.free, 0);
    assert.deepEqual(
      after.holders.map((h) => h.env_name),
      ['train'],
    );
  });

  it('when nothing fits: 409 saying what is free, and no environment or container', async () => {
    const e = await apiError(
      d.admin.createEnvironment({ ...base, name: 'more', gpu_mode: 'exclusive', gpu_count: 1, gpu_model: 'A100' }),
    );
    assert.equal(e.status, 409);
    assert.match(
      e.message,
      /no GPU fits: need 1× A100 on backend 'local'; 0 of 2 NVIDIA A100-SXM4-80GB free \(1 in MIG mode\)/,
    );
    const h = await apiError(
      d.admin.createEnvironment({ ...base, name: 'more', gpu_mode: 'exclusive', gpu_count: 1, gpu_model: 'H100' }),
    );
    assert.match(h.message, /no H100 on backend 'local' at all/);
    assert.equal((await apiError(d.admin.getEnvironment('more'))).status, 404);
    assert.deepEqual(await containersWith('dev.hangar.env-name=more'), []);
  });

  it('mig: a MIG instance by profile, its MIG UUID in DeviceRequests', async () => {
    const env = await d.admin.createEnvironment({
      ...base,
      name: 'slice',
      gpu_mode: 'mig',
      gpu_mig_profile: '1g.10gb',
    });
    const running = await d.admin.waitFor(env.id, ['running']);
    assert.equal(running.gpu_device_ids.length, 1);
    assert.match(running.gpu_device_ids[0], /^MIG-/);
    assert.deepEqual(
      (await inspect(running.backend_ref!)).HostConfig.DeviceRequests[0].DeviceIDs,
      running.gpu_device_ids,
    );
  });

  it('stop releases the grant, start takes the same GPU back; someone else holding it blocks the start with a reason', async () => {
    const train = await d.admin.getEnvironment('train');
    await d.admin.action('train', 'stop');
    const freed = (await gpus()).find((g) => g.id === train.gpu_device_ids[0])!;
    assert.equal(freed.free, 2, 'free again while stopped');
    const thief = await d.admin.createEnvironment({ ...base, name: 'thief', gpu_mode: 'exclusive', gpu_count: 1 });
    await d.admin.waitFor(thief.id, ['running']);
    const blocked = await apiError(d.admin.action('train', 'start'));
    assert.equal(blocked.status, 409);
    assert.match(blocked.message, /is now held by environment 'thief'/);
    assert.equal((await d.admin.getEnvironment('train')).status, 'stopped');
    await d.admin.deleteEnvironment('thief');
    const started = await d.admin.action('train', 'start');
    assert.equal(started.status, 'running');
    assert.deepEqual(started.gpu_device_ids, train.gpu_device_ids);
    assert.equal((await gpus()).find((g) => g.id === train.gpu_device_ids[0])!.holders[0].env_name, 'train');
  });

  it('asked to wait: queued as pending with the reason, nothing made; running as soon as a GPU is released', async () => {
    const q = await d.admin.createEnvironment({
      ...base,
      name: 'queued',
      gpu_mode: 'exclusive',
      gpu_count: 1,
      gpu_model: 'A100',
      gpu_wait: true,
    });
    assert.equal(q.status, 'pending');
    assert.match(
      q.status_message!,
      /^waiting for GPUs: need 1× A100 on backend 'local'; 0 of 2 NVIDIA A100-SXM4-80GB free/,
    );
    assert.deepEqual(await containersWith(`dev.hangar.env-id=${q.id}`), []);
    assert.match((await apiError(d.admin.action('queued', 'stop'))).message, /queued for GPUs/);
    const train = await d.admin.getEnvironment('train');
    await d.admin.action('train', 'stop'); // releases the A100: the queue takes it
    const running = await d.admin.waitFor(q.id, ['running']);
    assert.deepEqual(running.gpu_device_ids, train.gpu_device_ids);
    await d.admin.deleteEnvironment(q.id);
    assert.equal((await d.admin.action('train', 'start')).status, 'running');
  });

  it('shared: time-slicing up to the configured replicas', async () => {
    await d.admin.deleteEnvironment('train');
    const a = await d.admin.createEnvironment({ ...base, name: 'share-a', gpu_mode: 'shared', gpu_count: 1 });
    const b = await d.admin.createEnvironment({ ...base, name: 'share-b', gpu_mode: 'shared', gpu_count: 1 });
    const [ra, rb] = await Promise.all([d.admin.waitFor(a.id, ['running']), d.admin.waitFor(b.id, ['running'])]);
    assert.deepEqual(ra.gpu_device_ids, rb.gpu_device_ids, 'both on the one whole GPU (replicas: 2)');
    const c = await apiError(d.admin.createEnvironment({ ...base, name: 'share-c', gpu_mode: 'shared', gpu_count: 1 }));
    assert.match(c.message, /every replica is taken/);
    await d.admin.deleteEnvironment(a.id);
    await d.admin.deleteEnvironment(b.id);
  });

  it('a host whose GPUs vanish is marked, not forgotten', async () => {
    useFixture('driver-gone');
    const r = await d.admin.request<{ backend: string; error?: string }[]>('POST', '/api/v1/gpus/refresh');
    assert.match(r[0].error!, /couldn't communicate with the NVIDIA driver/);
    const gs = await gpus();
    assert.equal(gs.length, 6);
    assert.ok(gs.every((g) => !g.present && g.free === 0));
    assert.match(gs[0].health_message!, /NVIDIA driver/);
    useFixture('a100-mig-535');
    await d.admin.request('POST', '/api/v1/gpus/refresh');
    assert.ok((await gpus()).every((g) => g.present));
  });
});

describe('docker: GPU grants under contention and crashes', function () {
  this.timeout(300_000);

  it('200 concurrent creates for 8 GPUs: exactly 8 granted, no double grant', async () => {
    useFixture('h100-550');
    const d = await startDaemon({ configYaml: config });
    try {
      const results = await Promise.allSettled(
        Array.from({ length: 200 }, (_, i) =>
          d.admin.createEnvironment({ ...base, name: `race-${i}`, gpu_mode: 'exclusive', gpu_count: 1 }),
        ),
      );
      const ok = results.filter((r) => r.status === 'fulfilled');
      const refused = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
      assert.equal(ok.length, 8);
      assert.ok(
        refused.every((r) => (r.reason as ApiError).status === 409),
        refused
          .map((r) => String(r.reason))
          .slice(0, 3)
          .join('; '),
      );
      const envs = await d.admin.listEnvironments();
      const ids = envs.flatMap((e) => e.gpu_device_ids);
      assert.equal(ids.length, 8);
      assert.equal(new Set(ids).size, 8, 'no GPU granted twice');
      await Promise.all(envs.map((e) => d.admin.waitFor(e.id, ['running'])));
    } finally {
      for (const e of await d.admin.listEnvironments()) await d.admin.deleteEnvironment(e.id).catch(() => undefined);
      await d.close();
    }
  });

  it('kill -9 while grants are being made: after restart grants match what runs', async () => {
    useFixture('h100-550');
    process.env.HANGAR_CONFIG = path.join(tmpDir('hangar-gpu-cfg-'), 'c.yaml');
    fs.writeFileSync(process.env.HANGAR_CONFIG, config);
    const dataDir = tmpDir('hangard-gpu-kill-');
    let daemon = await spawnDaemon(dataDir);
    try {
      const creates = Array.from({ length: 12 }, (_, i) =>
        daemon.admin
          .createEnvironment({ ...base, name: `crash-${i}`, gpu_mode: 'exclusive', gpu_count: 1 })
          .catch(() => undefined),
      );
      await new Promise((r) => setTimeout(r, 150));
      await daemon.kill('SIGKILL');
      await Promise.all(creates);
      daemon = await spawnDaemon(dataDir);
      const envs = await daemon.admin.listEnvironments();
      assert.ok(envs.length <= 8);
      for (const e of envs) await daemon.admin.waitFor(e.id, ['running'], { timeoutMs: 90_000 });
      const settled = await daemon.admin.listEnvironments();
      const held = settled.flatMap((e) => e.gpu_device_ids);
      assert.equal(new Set(held).size, held.length, 'no GPU held twice');
      const gs = await daemon.admin.request<GpuInfo[]>('GET', '/api/v1/gpus');
      for (const e of settled) {
        const c = await inspect(e.backend_ref!);
        assert.deepEqual(
          c.HostConfig.DeviceRequests[0].DeviceIDs,
          e.gpu_device_ids,
          `${e.name}: container matches its grant`,
        );
        for (const id of e.gpu_device_ids)
          assert.deepEqual(
            gs.find((g) => g.id === id)!.holders.map((h) => h.env_name),
            [e.name],
          );
      }
      assert.equal(gs.filter((g) => g.holders.length > 0).length, settled.length);
    } finally {
      for (const e of await daemon.admin.listEnvironments().catch(() => []))
        await daemon.admin.deleteEnvironment(e.id).catch(() => undefined);
      await daemon.kill('SIGTERM');
      delete process.env.HANGAR_CONFIG;
      delete process.env.HANGAR_FAKE_NVIDIA_SMI;
    }
  });
});
