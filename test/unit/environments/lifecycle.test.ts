// Lifecycle policies on the fake backend with a moved clock: idle stops, activity, ephemeral deletes, schedules
// (a missed start after an outage), GPUs busy or idle, extend, limits, an env busy with another operation, and a
// decision made at a crash done once.
import assert from 'node:assert/strict';
import type { User } from '../../../common/model';
import { ManualClock } from '../../../daemon/environments/clock';
import type { LifecycleRules } from '../../../daemon/environments/policy';
import { AuditRepo } from '../../../daemon/store/users';
import { tmpDir } from '../../helpers/tmp';
import { FakeDriver } from './fakeDriver';
import { addUser, input, openGateway, tick, waitStatus, type Gateway } from './harness';

const MIN = 60_000;

describe('environments: lifecycle policies (moved clock)', () => {
  let g: Gateway;
  let fake: FakeDriver;
  let clock: ManualClock;
  let alice: User;
  let dir: string;
  const rules: LifecycleRules = { defaults: {}, limits: { ttl_hours: 48 }, teams: {} };

  beforeEach(async () => {
    fake = new FakeDriver();
    // 10:00 UTC on a Wednesday: schedules below are read against it.
    clock = new ManualClock(Date.parse('2026-12-02T10:00:00Z'));
    dir = tmpDir();
    g = await openGateway(dir, fake, { clock, lifecycle: rules });
    alice = await addUser(g.db);
  });
  afterEach(async () => {
    await g.envs.idle();
    await g.close();
  });

  const make = async (o: Record<string, unknown>) => {
    const env = await g.envs.create(alice, input(o));
    return waitStatus(g, env.id, ['running']);
  };
  const next = async (id: string) => (await g.envs.get(alice, id)).next_action!;
  const audit = async () =>
    (await new AuditRepo(g.db).list({ limit: 1000 })).map((a) => ({ ...a, detail: JSON.parse(a.detail ?? 'null') }));

  it('ephemeral: a restart is a rebuild from the same spec (a new object, the old one gone, same row and name)', async () => {
    const env = await make({ name: 'eph-rb', lifecycle_policy: 'ephemeral' });
    const before = (await g.repo.get(env.id))!;
    const after = await g.envs.restart(alice, env.id);
    assert.equal(after.status, 'running');
    assert.equal(after.name, 'eph-rb');
    assert.notEqual(after.backend_ref, before.backend_ref);
    assert.ok(!fake.objects.has(before.backend_ref!), 'the old object is deleted');
    assert.equal(fake.objects.get(after.backend_ref!)!.spec.image, before.image);
    assert.ok((await audit()).some((a) => a.action === 'environment.rebuild' && a.target === env.id));
  });

  it('on_demand: stopped after 30 idle minutes (not before), audited and evented with the reason', async () => {
    const env = await make({ name: 'od', lifecycle_policy: 'on_demand' });
    const n = await next(env.id);
    assert.equal(n.action, 'stop');
    assert.equal(n.reason, 'idle 30 min');
    assert.equal(Date.parse(n.at!), clock.now() + 30 * MIN);
    clock.advance(29 * MIN);
    assert.deepEqual((await g.envs.autopilot.tick()).done, []);
    clock.advance(2 * MIN);
    assert.deepEqual((await g.envs.autopilot.tick()).done, [{ env: 'od', action: 'stop', reason: 'idle 30 min' }]);
    assert.equal((await g.repo.get(env.id))!.status, 'stopped');
    const stop = (await audit()).find((a) => a.action === 'environment.stop')!;
    assert.equal(stop.user_id, null);
    assert.deepEqual(stop.detail, { automatic: true, reason: 'idle 30 min' });
    assert.ok(g.events.some((e) => e.type === 'environment.lifecycle' && e.action === 'stop'));
    assert.deepEqual(await next(env.id), { action: 'none', at: null, reason: 'starts on connect' });
  });

  it('activity pushes the idle deadline out, never in; an open connection holds it; listing does not bump', async () => {
    const env = await make({ name: 'act', lifecycle_policy: 'on_demand' });
    const first = Date.parse((await next(env.id)).at!);
    clock.advance(10 * MIN);
    await g.envs.list(alice, {});
    assert.equal(Date.parse((await next(env.id)).at!), first, 'listing is not activity');
    const close = g.envs.activity.connect(env.id, 'ssh');
    assert.deepEqual(await next(env.id), { action: 'none', at: null, reason: '1 connection open' });
    clock.advance(60 * MIN);
    await g.envs.autopilot.tick(); // a tick with the connection open stores "active now"
    assert.equal((await g.repo.get(env.id))!.status, 'running');
    clock.advance(5 * MIN);
    close();
    await tick();
    const after = Date.parse((await next(env.id)).at!);
    assert.equal(after, clock.now() + 30 * MIN);
    // An older activity time can't pull it in.
    await g.repo.touchActivity([env.id], new Date(first).toISOString());
    assert.equal(Date.parse((await next(env.id)).at!), after);
  });

  it('ephemeral: deleted once stopped, and after its TTL', async () => {
    const a = await make({ name: 'eph-a', lifecycle_policy: 'ephemeral' });
    await g.envs.stop(alice, a.id);
    assert.equal((await next(a.id)).action, 'delete');
    assert.deepEqual((await g.envs.autopilot.tick()).done, [
      { env: 'eph-a', action: 'delete', reason: 'ephemeral: stopped' },
    ]);
    assert.equal(await g.repo.get(a.id), undefined);
    const b = await make({
      name: 'eph-b',
      lifecycle_policy: 'ephemeral',
      lifecycle_config: { ttl_hours: 1, idle_timeout_minutes: 600 },
    });
    g.envs.activity.connect(b.id, 'port');
    assert.deepEqual(await next(b.id), {
      action: 'delete',
      at: new Date(clock.now() + 60 * MIN).toISOString(),
      reason: 'ephemeral TTL',
    });
    clock.advance(61 * MIN);
    await g.envs.autopilot.tick();
    assert.equal(await g.repo.get(b.id), undefined);
  });

  it('scheduled: stops at the stop cron, starts at the start cron, and a start missed in an outage happens', async () => {
    const schedule = { start: '0 9 * * 1-5', stop: '0 18 * * 1-5', timezone: 'Europe/Berlin' };
    const env = await make({ name: 'sch', lifecycle_policy: 'scheduled', lifecycle_config: { schedule } });
    const n = await next(env.id);
    assert.deepEqual(n, {
      action: 'stop',
      at: '2026-12-02T17:00:00.000Z',
      reason: 'schedule: 0 18 * * 1-5 (Europe/Berlin)',
    });
    clock.set(Date.parse('2026-12-02T17:00:01Z'));
    await g.envs.autopilot.tick();
    assert.equal((await g.repo.get(env.id))!.status, 'stopped');
    assert.deepEqual((await next(env.id)).at, '2026-12-03T08:00:00.000Z');
    // The gateway is down over the start (09:00 Berlin) and comes back at 11:30 Berlin: inside the window.
    await g.close();
    clock.set(Date.parse('2026-12-03T10:30:00Z'));
    g = await openGateway(dir, fake, { clock, lifecycle: rules });
    assert.match((await next(env.id)).reason, /\(missed\)$/);
    assert.deepEqual(
      (await g.envs.autopilot.tick()).done.map((d) => d.action),
      ['start'],
    );
    assert.equal((await g.repo.get(env.id))!.status, 'running');
    assert.equal((await next(env.id)).at, '2026-12-03T17:00:00.000Z');
  });

  it('a start missed when the window also closed meanwhile waits for the next one', async () => {
    const schedule = { start: '0 9 * * *', stop: '0 18 * * *', timezone: 'UTC' };
    const env = await make({ name: 'late', lifecycle_policy: 'scheduled', lifecycle_config: { schedule } });
    await g.envs.stop(alice, env.id);
    clock.set(Date.parse('2026-12-03T19:00:00Z'));
    assert.deepEqual(await next(env.id), {
      action: 'start',
      at: '2026-12-04T09:00:00.000Z',
      reason: 'schedule: 0 9 * * *',
    });
  });

  it('GPUs busy keep a GPU env up with nobody connected; idle GPUs stop it despite a forgotten terminal', async () => {
    fake.gpuCount = 2;
    const gpu = { gpu_mode: 'exclusive', gpu_count: 1 };
    const busy = await make({
      name: 'train',
      lifecycle_policy: 'on_demand',
      lifecycle_config: { keep_alive_while_gpu_busy: true },
      ...gpu,
    });
    const idle = await make({
      name: 'forgot',
      lifecycle_config: { stop_when_gpu_idle: true, gpu_busy_window_minutes: 20 },
      ...gpu,
    });
    g.envs.activity.connect(idle.id, 'ssh');
    fake.gpuUtilization = 95;
    await g.gpus.refresh();
    for (let i = 0; i < 4; i++) {
      clock.advance(10 * MIN);
      await g.envs.autopilot.tick();
    }
    // 40 min with nobody connected, past its 30 idle minutes: the busy GPUs kept it up.
    assert.equal((await g.repo.get(busy.id))!.status, 'running', 'busy GPUs count as activity');
    assert.match((await next(busy.id)).reason, /GPUs busy keep it up/);
    assert.equal((await g.repo.get(idle.id))!.status, 'running');
    fake.gpuUtilization = 2;
    await g.gpus.refresh();
    clock.advance(21 * MIN);
    await g.envs.autopilot.tick();
    assert.equal((await g.repo.get(idle.id))!.status, 'stopped', 'GPUs idle 20 min, a terminal open');
    assert.equal((await g.repo.get(busy.id))!.status, 'running');
    clock.advance(10 * MIN);
    await g.envs.autopilot.tick();
    assert.equal((await g.repo.get(busy.id))!.status, 'stopped', '30 min after its GPUs went idle');
    const stop = (await audit()).find((a) => a.action === 'environment.stop' && a.target === idle.id)!;
    assert.equal(stop.detail.reason, 'GPUs idle 20 min');
    assert.equal(
      await g.db.selectFrom('gpu_grants').select('id').where('env_id', '=', idle.id).executeTakeFirst(),
      undefined,
      'grants released',
    );
  });

  it('GPU usage: hours held, busy and reclaimed by an automatic stop, per user; a user sees their own', async () => {
    fake.gpuCount = 2;
    fake.gpuUtilization = 80;
    await g.gpus.refresh();
    const env = await make({ name: 'acct', lifecycle_policy: 'on_demand', gpu_mode: 'exclusive', gpu_count: 2 });
    const from = new Date(clock.now() - 3_600_000).toISOString();
    await g.envs.autopilot.tick(); // the first sample starts the meter
    clock.advance(10 * MIN);
    await g.envs.autopilot.tick(); // 2 GPUs × 10 min held and busy
    fake.gpuUtilization = 0;
    await g.gpus.refresh();
    for (let i = 0; i < 3; i++) {
      clock.advance(10 * MIN);
      await g.envs.autopilot.tick(); // 2 × 10 min held, idle; at 30 min it is stopped (GPUs keep it up only when asked), then reclaimed
    }
    assert.equal((await g.repo.get(env.id))!.status_message, 'stopped by the lifecycle: idle 30 min');
    clock.advance(10 * MIN);
    await g.envs.autopilot.tick(); // reclaimed: 2 GPUs × 2 ticks after the stop
    const to = new Date(clock.now() + 3_600_000).toISOString();
    const r = await g.gpus.usage(alice, { from, to, by: 'user' });
    assert.deepEqual(r.rows, [{ key: alice.id, gpu_hours_held: 1, gpu_hours_busy: 0.333, gpu_hours_reclaimed: 0.667 }]);
    const bob = await addUser(g.db, 'bob');
    assert.deepEqual((await g.gpus.usage(bob, { from, to, by: 'user' })).rows, []);
  });

  it('start on connect: a tunnel to a stopped on_demand env starts it (once for two at a time); a GPU taken meanwhile is refused with its holder', async () => {
    const env = await make({ name: 'soc', lifecycle_policy: 'on_demand' });
    await g.envs.stop(alice, env.id);
    const starts = fake.calls.filter((c) => c === 'start').length;
    const [a, b] = await Promise.all([g.envs.openTunnel(alice, env.id, 22), g.envs.openTunnel(alice, env.id, 22)]);
    assert.equal((await g.repo.get(env.id))!.status, 'running');
    assert.equal(fake.calls.filter((c) => c === 'start').length, starts + 1);
    assert.equal(g.envs.activity.connections(env.id), 2);
    a.destroy();
    b.destroy();
    await tick();
    assert.equal(g.envs.activity.connections(env.id), 0);
    const start = (await audit()).find((x) => x.action === 'environment.start')!;
    assert.deepEqual([start.user_id, start.detail], [alice.id, { reason: 'start on connect' }]);
    // A persistent env is not started by a connection.
    const p = await make({ name: 'pers' });
    await g.envs.stop(alice, p.id);
    await assert.rejects(g.envs.openTunnel(alice, p.id, 22), /is stopped; start it first/);
    // The GPU it held went to another env while it was stopped.
    fake.gpuCount = 1;
    await g.gpus.refresh();
    const gpu = await make({ name: 'soc-gpu', lifecycle_policy: 'on_demand', gpu_mode: 'exclusive', gpu_count: 1 });
    await g.envs.stop(alice, gpu.id);
    await make({ name: 'thief', gpu_mode: 'exclusive', gpu_count: 1 });
    await assert.rejects(g.envs.openTunnel(alice, gpu.id, 22), /is now held by environment 'thief'/);
    assert.equal((await g.repo.get(gpu.id))!.status, 'stopped');
  });

  it('extend pushes the stop out from its deadline; max lifetime stays', async () => {
    const env = await make({ name: 'ext', lifecycle_policy: 'on_demand', lifecycle_config: { max_lifetime_hours: 3 } });
    const before = Date.parse((await next(env.id)).at!);
    const after = await g.envs.extend(alice, env.id, 120);
    assert.equal(Date.parse(after.next_action!.at!), before + 120 * MIN);
    await g.envs.extend(alice, env.id, 120);
    assert.deepEqual((await next(env.id)).reason, 'max lifetime');
  });

  it('input past a limit is refused naming the field; scheduled needs a schedule', async () => {
    await assert.rejects(
      g.envs.create(alice, input({ name: 'x', lifecycle_policy: 'ephemeral', lifecycle_config: { ttl_hours: 49 } })),
      (e: any) => e.details?.field === 'lifecycle_config.ttl_hours',
    );
    await assert.rejects(
      g.envs.create(
        alice,
        input({
          name: 'z',
          lifecycle_policy: 'ephemeral',
          storage_config: { mounts: [{ type: 'volume', source: 'mine', target: '/data' }] },
        }),
      ),
      (e: any) => e.details?.field === 'storage_config.mounts.0.source',
    );
    await assert.rejects(
      g.envs.create(alice, input({ name: 'y', lifecycle_policy: 'scheduled' })),
      (e: any) => e.details?.field === 'lifecycle_config.schedule',
    );
  });

  it('an env busy with another operation is not touched', async () => {
    const env = await make({ name: 'busy', lifecycle_policy: 'on_demand' });
    let open!: () => void;
    const held = g.envs.exclusive(env.id, () => new Promise<void>((r) => (open = r)));
    clock.advance(40 * MIN);
    assert.deepEqual((await g.envs.autopilot.tick()).done, []);
    open();
    await held;
    assert.ok(!fake.calls.includes('stop'));
  });

  it('a stop decided at a crash happens once: the pending decision is dropped when it is done', async () => {
    const env = await make({ name: 'crash', lifecycle_policy: 'on_demand' });
    clock.advance(31 * MIN);
    fake.haltAt('stop');
    void g.envs.autopilot.tick();
    await tick();
    assert.equal((await g.repo.lifecycleTimes()).get(env.id)!.pending!.action, 'stop');
    // "Crash": a new process over the same dir; the backend did stop it, reconcile syncs that.
    fake.objects.get(env.backend_ref!)!.state = 'stopped';
    g = await openGateway(dir, fake, { clock, lifecycle: rules });
    await g.reconciler.run();
    await g.envs.idle();
    assert.deepEqual((await g.envs.autopilot.tick()).done, [{ env: 'crash', action: 'stop', reason: 'idle 30 min' }]);
    assert.equal((await g.repo.get(env.id))!.status, 'stopped');
    assert.equal((await g.repo.lifecycleTimes()).get(env.id)!.pending, null);
    await g.envs.autopilot.tick();
    const stops = (await audit()).filter((a) => a.action === 'environment.stop' && a.target === env.id);
    assert.equal(stops.length, 1, 'one automatic stop in the audit log');
  });
});
