import assert from 'node:assert/strict';
import type { User } from '../../../common/model';
import { tmpDir } from '../../helpers/tmp';
import { FakeDriver } from './fakeDriver';
import { addUser, input, openGateway, waitStatus, type Gateway } from './harness';

describe('environments: the GPU queue (gpu_wait)', () => {
  let g: Gateway;
  let fake: FakeDriver;
  let alice: User;
  beforeEach(async () => {
    fake = new FakeDriver();
    fake.gpuCount = 2;
    g = await openGateway(tmpDir(), fake);
    alice = await addUser(g.db);
  });
  afterEach(async () => {
    await g.close();
  });

  const gpuEnv = async (name: string, count: number, wait = true) =>
    g.envs.create(alice, input({ name, gpu_mode: 'exclusive', gpu_count: count, gpu_wait: wait }));
  const grants = async (id: string) =>
    (await g.db.selectFrom('gpu_grants').select('device_id').where('env_id', '=', id).execute()).length;
  /** The queue drains on a release, in the background: wait until it has looked. */
  const drained = async () => {
    await g.envs.drainQueue();
    await g.envs.idle();
  };

  it('waits pending with the reason, nothing made; without gpu_wait the same request is a 409', async () => {
    const a = await gpuEnv('a', 2, false);
    await waitStatus(g, a.id, ['running']);
    await assert.rejects(gpuEnv('refused', 1, false), /no GPU fits/);
    const b = await gpuEnv('b', 1);
    assert.equal(b.status, 'pending');
    assert.match(b.status_message!, /^waiting for GPUs: /);
    assert.equal(fake.objects.size, 1);
    await assert.rejects(g.envs.stop(alice, b.id), /queued for GPUs/);
  });

  it('drained on release, oldest first; a smaller request behind a big one backfills', async () => {
    const a = await gpuEnv('a', 1, false);
    const x = await gpuEnv('x', 1, false);
    await waitStatus(g, a.id, ['running']);
    await waitStatus(g, x.id, ['running']);
    const big = await gpuEnv('big', 2);
    const small = await gpuEnv('small', 1);
    assert.deepEqual([big.status, small.status], ['pending', 'pending']);

    await g.envs.stop(alice, a.id); // one GPU free: the big one can't use it, the small one behind it can
    await drained();
    assert.equal((await waitStatus(g, small.id, ['running'])).status, 'running');
    assert.equal((await g.repo.get(big.id))!.status, 'pending');

    await g.envs.stop(alice, x.id);
    await g.envs.stop(alice, small.id); // now both are free: the oldest waiting (big) gets them
    await drained();
    await waitStatus(g, big.id, ['running']);
    assert.equal(await grants(big.id), 2);
  });

  it('oldest first: the earlier request gets what it asked for before a later one that would also fit', async () => {
    const a = await gpuEnv('a', 2, false);
    await waitStatus(g, a.id, ['running']);
    const older = await gpuEnv('older', 2);
    await new Promise((r) => setTimeout(r, 5)); // created_at has millisecond resolution
    const newer = await gpuEnv('newer', 1);
    await g.envs.stop(alice, a.id);
    await drained();
    await waitStatus(g, older.id, ['running']);
    assert.equal(await grants(older.id), 2);
    assert.equal((await g.repo.get(newer.id))!.status, 'pending');
  });

  it('deleting a queued env takes it out of the queue', async () => {
    const a = await gpuEnv('a', 2, false);
    await waitStatus(g, a.id, ['running']);
    const b = await gpuEnv('b', 2);
    await g.envs.delete(alice, b.id);
    await g.envs.stop(alice, a.id);
    await drained();
    assert.equal(await g.repo.get(b.id), undefined);
    assert.equal(fake.objects.size, 1);
  });
});
