// Lifecycle policies on real Docker with a moved clock (the policy loop is driven by autopilot.tick(), so nothing
// sleeps for minutes): ephemeral deleted after stop and after its TTL; scheduled start/stop including a start
// missed while the gateway was down; on_demand started by a real OpenSSH `ssh` through `hangar ssh-config` and
// stopped after the last session closes plus the idle time; busy GPUs (the nvidia-smi double) keep a GPU env up;
// extend; a second user's token sees another user's env as 404.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { HangarClient } from '../../common/client';
import type { Environment, GpuInfo } from '../../common/model';
import { sshAlias } from '../../common/names';
import { ManualClock } from '../../daemon/environments/clock';
import { apiError } from '../helpers/apiError';
import { Cli } from '../helpers/cli';
import { startDaemon, type TestDaemon } from '../helpers/daemon';
import { containersWith, SSH_IMAGE } from '../helpers/docker';
import { tmpDir } from '../helpers/tmp';

const MIN = 60_000;
const DOUBLE = path.resolve(__dirname, '../doubles/nvidia-smi');
const FIXTURES = path.resolve(__dirname, '../fixtures/nvidia-smi');
const CONFIG = `lifecycle:\n  interval_s: 3600\nbackends:\n  - id: local\n    nvidia_smi: ${DOUBLE}\n`;
const base = { image: SSH_IMAGE, image_pull_policy: 'never' as const, environment_type: 'terminal' as const };
const gpuFixture = (name: string) => (process.env.HANGAR_FAKE_NVIDIA_SMI = path.join(FIXTURES, name));

describe('lifecycle: policies on Docker (moved clock)', function () {
  this.timeout(300_000);
  let d: TestDaemon;
  let clock: ManualClock;
  let cli: Cli;
  let bob: HangarClient;
  const dataDir = tmpDir('hangard-life-');
  const suffix = Date.now().toString(36);
  const tick = () => d.server.envs.autopilot.tick();
  const create = async (name: string, o: Record<string, unknown>) => {
    const env = await bob.createEnvironment({ ...base, name: `${name}-${suffix}`, ...o } as any);
    return bob.waitFor(env.id, ['running']);
  };
  const get = (id: string) => bob.getEnvironment(id);

  before(async () => {
    gpuFixture('h100-idle');
    clock = new ManualClock();
    d = await startDaemon({ dataDir, configYaml: CONFIG, clock });
    const { token } = await d.admin.createUser(`bob${suffix}`);
    bob = new HangarClient({ url: d.url, token });
    cli = new Cli(d.url);
    await cli.login(token);
    await d.admin.request('POST', '/api/v1/gpus/refresh');
  });
  after(async () => {
    for (const e of (await d?.admin.listEnvironments()) ?? [])
      await d.admin.deleteEnvironment(e.id).catch(() => undefined);
    await d?.close();
    delete process.env.HANGAR_FAKE_NVIDIA_SMI;
  });

  it('ephemeral: deleted (container and all) once stopped, and after its TTL', async () => {
    const a = await create('eph-a', { lifecycle_policy: 'ephemeral' });
    await bob.action(a.id, 'stop');
    assert.equal((await get(a.id)).next_action!.action, 'delete');
    assert.deepEqual(
      (await tick()).done.map((x) => x.reason),
      ['ephemeral: stopped'],
    );
    assert.equal((await apiError(get(a.id))).status, 404);
    assert.deepEqual(await containersWith(`dev.hangar.env-id=${a.id}`), []);
    const b = await create('eph-b', { lifecycle_policy: 'ephemeral', lifecycle_config: { ttl_hours: 2 } });
    clock.advance(119 * MIN);
    await bob.extend(b.id, 1); // keep the 30 min idle grace out of the way: only the TTL is tested here
    clock.advance(2 * MIN);
    assert.equal((await get(b.id)).next_action!.reason, 'ephemeral TTL');
    await tick();
    assert.equal((await apiError(get(b.id))).status, 404);
  });

  it('ephemeral: a restart rebuilds it from the same spec (a fresh container: what the last one wrote is gone)', async () => {
    const e = await create('eph-r', { lifecycle_policy: 'ephemeral' });
    const ssh = async (cmd: string) => {
      const r = await cli.run(['ssh', e.name, '--', cmd]);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.trim();
    };
    await ssh('echo scratch > /tmp/left-behind');
    const rebuilt = await bob.action(e.id, 'restart');
    assert.equal(rebuilt.status, 'running');
    assert.notEqual(rebuilt.backend_ref, e.backend_ref);
    assert.deepEqual(await containersWith(`dev.hangar.env-id=${e.id}`), [rebuilt.backend_ref]);
    assert.equal(await ssh('test -e /tmp/left-behind && echo kept || echo fresh'), 'fresh');
  });

  it('scheduled: stops at the stop cron, and a start missed while the gateway was down happens at restart', async () => {
    const now = new Date(clock.now());
    const hh = (h: number) => (now.getUTCHours() + h) % 24;
    // A window that opens in 1 h and closes in 3 h (UTC hours), every day.
    const schedule = { start: `0 ${hh(1)} * * *`, stop: `0 ${hh(3)} * * *`, timezone: 'UTC' };
    const env = await create('sched', { lifecycle_policy: 'scheduled', lifecycle_config: { schedule } });
    const stopAt = Date.parse((await get(env.id)).next_action!.at!);
    assert.equal((await get(env.id)).next_action!.reason, `schedule: ${schedule.stop}`);
    clock.set(stopAt + 1000);
    await tick();
    assert.equal((await get(env.id)).status, 'stopped');
    const startAt = Date.parse((await get(env.id)).next_action!.at!);
    assert.equal((await get(env.id)).next_action!.action, 'start');
    // The gateway is down across the start and back 30 min into the window.
    await d.close();
    clock.set(startAt + 30 * MIN);
    // Same port: the clients (and the ssh config written later) keep their URL.
    d = await startDaemon({ dataDir, configYaml: CONFIG, clock, port: Number(new URL(d.url).port) });
    // The pooled keep-alive sockets went with the old process: the first request may meet one.
    await get(env.id).catch(() => undefined);
    assert.match((await get(env.id)).next_action!.reason, /\(missed\)$/);
    assert.deepEqual(
      (await tick()).done.map((x) => x.action),
      ['start'],
    );
    assert.equal((await get(env.id)).status, 'running');
    const { entries: audit } = await d.admin.request<{
      entries: { action: string; target: string; detail: any; user_id: string | null }[];
    }>('GET', '/api/v1/audit');
    const auto = audit.filter((a) => a.target === env.id && JSON.parse(a.detail ?? 'null')?.automatic);
    assert.deepEqual(auto.map((a) => a.action).sort(), ['environment.start', 'environment.stop']);
  });

  it('on_demand: a real ssh through the generated config starts it; stopped after the last session + idle', async () => {
    const env = await create('od', { lifecycle_policy: 'on_demand' });
    const name = env.name;
    clock.advance(31 * MIN);
    await tick();
    assert.equal((await get(env.id)).status, 'stopped');
    const file = path.join(tmpDir(), 'ssh_config');
    const w = await cli.run(['ssh-config', '--write', file]);
    assert.equal(w.code, 0, w.stderr);
    const ssh = (cmd: string) =>
      new Promise<{ code: number; out: string; err: string }>((resolve) =>
        execFile(
          'ssh',
          ['-F', file, '-o', 'BatchMode=yes', sshAlias(d.url, name), cmd],
          {
            env: { ...process.env, HANGAR_CONFIG_DIR: cli.configDir, HANGAR_URL: '', HANGAR_TOKEN: '' },
            timeout: 120_000,
          },
          (e, out, err) => resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, out, err }),
        ),
      );
    const r = await ssh('echo up');
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out.trim(), 'up');
    assert.match(r.err, new RegExp(`starting ${name}…`));
    assert.equal((await get(env.id)).status, 'running');
    // The first session's tunnel closes a moment after ssh returns: let it, so the "connection open" seen next is
    // the held one's.
    await waitUntil(async () => !/connection/.test((await get(env.id)).next_action!.reason));
    // A session held open: time passes, nothing stops it. (Held until the test ends it: a session that ends by
    // itself could end before the tick on a busy machine.)
    const held = spawn('ssh', ['-F', file, '-o', 'BatchMode=yes', sshAlias(d.url, name), 'sleep 300'], {
      env: { ...process.env, HANGAR_CONFIG_DIR: cli.configDir, HANGAR_URL: '', HANGAR_TOKEN: '' },
      stdio: 'ignore',
    });
    await waitUntil(async () => /connection/.test((await get(env.id)).next_action!.reason));
    clock.advance(90 * MIN);
    await tick();
    assert.equal((await get(env.id)).status, 'running');
    const exited = new Promise((res) => held.once('exit', res));
    held.kill();
    await exited;
    await waitUntil(async () => (await get(env.id)).next_action!.action === 'stop');
    assert.equal((await get(env.id)).next_action!.reason, 'idle 30 min');
    clock.advance(29 * MIN);
    await tick();
    assert.equal((await get(env.id)).status, 'running');
    clock.advance(2 * MIN);
    await tick();
    assert.equal((await get(env.id)).status, 'stopped');
  });

  it('busy GPUs keep a GPU env up with nobody connected; idle ones let it stop and release the GPU', async () => {
    gpuFixture('h100-busy');
    await d.admin.request('POST', '/api/v1/gpus/refresh');
    const env = await create('train', {
      lifecycle_policy: 'on_demand',
      lifecycle_config: { keep_alive_while_gpu_busy: true },
      gpu_mode: 'exclusive',
      gpu_count: 1,
    });
    for (let i = 0; i < 5; i++) {
      clock.advance(10 * MIN);
      await tick();
    }
    const up = await get(env.id);
    assert.equal(up.status, 'running', '50 min unconnected, GPUs busy');
    assert.match(up.next_action!.reason, /GPUs busy keep it up/);
    gpuFixture('h100-idle');
    await d.admin.request('POST', '/api/v1/gpus/refresh');
    clock.advance(31 * MIN);
    await tick();
    assert.equal((await get(env.id)).status, 'stopped');
    const gpus = await d.admin.request<GpuInfo[]>('GET', '/api/v1/gpus');
    assert.ok(
      gpus.every((g) => !g.holders.some((h) => h.env_id === env.id)),
      'grant released',
    );
    // The accounting: bob's GPU-hours held, busy and reclaimed; his own row only; a bad time is a 400 naming it.
    const range = `from=${new Date(clock.now() - 24 * 3_600_000).toISOString()}&to=${new Date(clock.now() + 3_600_000).toISOString()}`;
    const usage = await bob.request<{ rows: { key: string; gpu_hours_held: number }[] }>(
      'GET',
      `/api/v1/gpus/usage?${range}`,
    );
    assert.equal(usage.rows.length, 1);
    assert.ok(usage.rows[0].gpu_hours_held > 0.5, JSON.stringify(usage.rows));
    const badTime = await apiError(bob.request('GET', '/api/v1/gpus/usage?from=yesterday'));
    assert.equal(badTime.status, 400);
    assert.equal(badTime.field, 'from');
  });

  it("extend: hangar extend pushes the stop out; another user's env is 404 to it", async () => {
    const env = await create('ext', { lifecycle_policy: 'on_demand' });
    const before = Date.parse((await get(env.id)).next_action!.at!);
    const r = await cli.run(['extend', env.name, '2h']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /stop in \d+ min \(idle 30 min\)|stop in [\d.]+ h \(idle 30 min\)/);
    assert.equal(Date.parse((await get(env.id)).next_action!.at!), before + 120 * MIN);
    const ls = await cli.run(['ls']);
    assert.match(ls.stdout, /NEXT/);
    const bad = await apiError(bob.request('POST', `/api/v1/environments/${env.id}/extend`, { hours: 0 }));
    assert.equal(bad.status, 400);
    const { token } = await d.admin.createUser(`eve${suffix}`);
    const eve = new HangarClient({ url: d.url, token });
    assert.equal((await apiError(eve.extend(env.id, 60))).status, 404);
  });
});

async function waitUntil(fn: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

export type { Environment };
