import assert from 'node:assert/strict';
import { ConflictError } from '../../../daemon/errors';
import { statusFor } from '../../../daemon/errors';
import { tmpDir } from '../../helpers/tmp';
import { FakeDriver } from './fakeDriver';
import { addUser, input, openGateway, tick, waitStatus, type Gateway } from './harness';

describe('environments: one operation per env (the lock) and watched status', () => {
  let g: Gateway;
  let fake: FakeDriver;
  beforeEach(async () => {
    fake = new FakeDriver();
    g = await openGateway(tmpDir(), fake);
  });
  afterEach(async () => {
    await g.close();
  });

  it('a second operation while one is in flight is a 409; after it, operations run again', async () => {
    const alice = await addUser(g.db);
    const env = await waitStatus(g, (await g.envs.create(alice, input({ name: 'one' }))).id, ['running']);
    const open = fake.gateAt('stop');
    const first = g.envs.stop(alice, env.id);
    await tick();
    const second = await g.envs.restart(alice, env.id).then(
      () => undefined,
      (e: Error) => e,
    );
    assert.ok(second instanceof ConflictError, String(second));
    assert.equal(statusFor(second), 409);
    assert.match(second.message, /another operation on this environment is in progress/);
    open();
    assert.equal((await first).status, 'stopped');
    assert.equal((await g.envs.start(alice, env.id)).status, 'running');
  });

  it('a watched status that comes during an operation waits for it, then applies (compare-and-set)', async () => {
    const alice = await addUser(g.db);
    const env = await waitStatus(g, (await g.envs.create(alice, input({ name: 'watched' }))).id, ['running']);
    const open = fake.gateAt('stop');
    const stopping = g.envs.stop(alice, env.id);
    await tick();
    await g.envs.observe(env.id, { state: 'failed', message: 'OOMKilled' });
    assert.equal((await g.repo.get(env.id))!.status, 'stopping', 'not while the stop runs');
    open();
    await stopping;
    await tick();
    // The stop settled as stopped; the deferred "failed" only moves running/pending envs, so it is dropped.
    assert.equal((await g.repo.get(env.id))!.status, 'stopped');
    await g.envs.start(alice, env.id);
    await g.envs.observe(env.id, { state: 'failed', message: 'OOMKilled' });
    const row = (await g.repo.get(env.id))!;
    assert.deepEqual([row.status, row.status_message], ['failed', 'OOMKilled']);
  });
});
