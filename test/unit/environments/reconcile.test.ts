import assert from 'node:assert/strict';
import type { EnvSpec } from '../../../daemon/contract';
import { tmpDir } from '../../helpers/tmp';
import { FakeDriver } from './fakeDriver';
import { addUser, input, openGateway, tick, waitStatus, type Gateway } from './harness';

describe('environments: reconcile against a fake backend', () => {
  let g: Gateway;
  let fake: FakeDriver;
  beforeEach(async () => {
    fake = new FakeDriver();
    g = await openGateway(tmpDir(), fake);
  });
  afterEach(async () => {
    await g.close();
  });

  const running = async (name: string) => {
    const env = await g.envs.create(await addUser(g.db, `u-${name}`), input({ name }));
    return waitStatus(g, env.id, ['running']);
  };

  it('an object with our labels and no row is listed as an orphan, never deleted', async () => {
    fake.objects.set('stray', { ref: 'stray', envId: 'e-stray', spec: {} as EnvSpec, state: 'running', files: [] });
    const [report] = await g.reconciler.run();
    assert.deepEqual(report.orphans, ['e-stray']);
    assert.ok(fake.objects.has('stray'));
    assert.ok(!fake.calls.includes('delete'));
  });

  it('an object removed behind our back marks its env missing (and only once)', async () => {
    const env = await running('gone');
    fake.objects.delete(env.backend_ref!);
    const [report] = await g.reconciler.run();
    assert.deepEqual(report.markedMissing, ['gone']);
    assert.equal((await g.repo.get(env.id))!.status, 'missing');
    assert.deepEqual((await g.reconciler.run())[0].markedMissing, []);
  });

  it('a stop outside Hangar is synced, with the reason', async () => {
    const env = await running('outside');
    fake.objects.get(env.backend_ref!)!.state = 'stopped';
    const [report] = await g.reconciler.run();
    assert.deepEqual(report.statusSynced, ['outside']);
    const row = (await g.repo.get(env.id))!;
    assert.equal(row.status, 'stopped');
    assert.equal(row.status_message, 'stopped outside Hangar');
  });

  it('an env with an operation in flight is left alone', async () => {
    const env = await running('busy');
    const alice = (await g.repo.get(env.id))!;
    const open = fake.gateAt('stop');
    const stopping = g.envs.stop({ id: alice.owner_id, name: 'u-busy', role: 'user', created_at: '' }, env.id);
    await tick();
    fake.objects.delete(env.backend_ref!); // would be "missing" if reconcile looked
    const [report] = await g.reconciler.run();
    assert.deepEqual([report.markedMissing, report.statusSynced, report.resumed], [[], [], []]);
    assert.equal((await g.repo.get(env.id))!.status, 'stopping');
    fake.objects.set(env.backend_ref!, {
      ref: env.backend_ref!,
      envId: env.id,
      spec: {} as EnvSpec,
      state: 'running',
      files: [],
    });
    open();
    await stopping;
    assert.equal((await g.repo.get(env.id))!.status, 'stopped');
  });

  it('an unreachable backend is reported unavailable and nothing is marked', async () => {
    const env = await running('dark');
    fake.down = true;
    const [report] = await g.reconciler.run();
    assert.equal(report.available, false);
    assert.equal((await g.repo.get(env.id))!.status, 'running');
  });
});
