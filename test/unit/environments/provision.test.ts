import assert from 'node:assert/strict';
import { BOOT_PATHS, bootFileOf } from '../../../daemon/contract';
import { tmpDir } from '../../helpers/tmp';
import { FakeDriver } from './fakeDriver';
import { addUser, input, openGateway, tick, waitStatus, type Gateway } from './harness';

describe('environments: create and provisioning (fake backend)', () => {
  const open: Gateway[] = [];
  afterEach(async () => {
    for (const g of open.splice(0)) await g.close();
  });
  const gateway = async (dir: string, fake: FakeDriver) => {
    const g = await openGateway(dir, fake);
    open.push(g);
    return g;
  };

  it('create: the row first, then the object with its boot files, then running when sshd answers', async () => {
    const fake = new FakeDriver();
    const g = await gateway(tmpDir(), fake);
    const alice = await addUser(g.db);
    const env = await g.envs.create(alice, input({ name: 'one', env_vars: { A: 'b' } }));
    assert.equal(env.status, 'creating');
    const done = await waitStatus(g, env.id, ['running']);
    assert.equal(fake.objects.size, 1);
    const obj = [...fake.objects.values()][0];
    assert.equal(done.backend_ref, obj.ref);
    assert.equal(obj.spec.startNow, true);
    assert.equal(bootFileOf(obj.files, 'host_key')?.path, BOOT_PATHS.host_key);
    assert.match(bootFileOf(obj.files, 'sshd_config')!.content.toString(), /^Port 22$/m);
    assert.deepEqual(
      g.events.filter((e) => e.environment_id === env.id).map((e) => e.status),
      ['creating', 'starting', 'running'],
    );
  });

  it('a backend that declares another sshd port gets it in the sshd config', async () => {
    const fake = Object.assign(new FakeDriver(), { sshPort: 2222 });
    const g = await gateway(tmpDir(), fake);
    const env = await g.envs.create(await addUser(g.db), input({ name: 'vmish' }));
    await waitStatus(g, env.id, ['running']);
    assert.match(bootFileOf([...fake.objects.values()][0].files, 'sshd_config')!.content.toString(), /^Port 2222$/m);
  });

  it('a deployment mode the backend does not declare is refused before anything is written', async () => {
    const fake = new FakeDriver();
    const g = await gateway(tmpDir(), fake);
    const alice = await addUser(g.db);
    await assert.rejects(
      g.envs.create(alice, input({ name: 'vm', deployment_mode: 'vm' })),
      /'vm' is not served by backend 'fake' \(docker: docker_local\)/,
    );
    assert.deepEqual(await g.repo.list(), []);
    assert.deepEqual(fake.calls, []);
  });

  it('a failed create leaves the row failed with the reason, and nothing on the backend', async () => {
    const fake = new FakeDriver();
    const g = await gateway(tmpDir(), fake);
    fake.failAt('start', new Error('no such image layer'));
    const env = await g.envs.create(await addUser(g.db), input({ name: 'bad' }));
    const failed = await waitStatus(g, env.id, ['failed']);
    assert.equal(failed.status_message, 'no such image layer');
    assert.equal(failed.backend_ref, null);
    assert.equal(fake.objects.size, 0);
  });

  it('backend unreachable while provisioning: the row waits (creating, with the reason) and the next reconcile finishes it', async () => {
    const fake = new FakeDriver();
    const g = await gateway(tmpDir(), fake);
    const alice = await addUser(g.db);
    const gate = fake.gateAt('ensureImage');
    const env = await g.envs.create(alice, input({ name: 'later' }));
    fake.down = true;
    gate();
    await g.envs.idle();
    const paused = (await g.repo.get(env.id))!;
    assert.equal(paused.status, 'creating');
    assert.match(paused.status_message!, /backend 'fake' is unavailable/);
    assert.equal((await g.reconciler.run())[0].available, false);
    fake.down = false;
    await g.reconciler.run();
    await waitStatus(g, env.id, ['running']);
    assert.equal(fake.objects.size, 1);
  });

  describe('resumed after a crash', () => {
    it('after the object was made, before its ref was recorded: adopted by label, remade (never started), running', async () => {
      const dir = tmpDir();
      const fake = new FakeDriver();
      const g1 = await gateway(dir, fake);
      fake.haltAt('afterCreate');
      const env = await g1.envs.create(await addUser(g1.db), input({ name: 'crash1' }));
      await tick();
      assert.equal((await g1.repo.get(env.id))!.backend_ref, null);
      const first = [...fake.objects.values()][0];
      const hostKey = (await g1.repo.get(env.id))!.host_key;

      const g2 = await gateway(dir, fake);
      const [report] = await g2.reconciler.run();
      assert.deepEqual(report.adopted, ['crash1']);
      assert.deepEqual(report.resumed, ['crash1']);
      const done = await waitStatus(g2, env.id, ['running']);
      assert.equal(fake.objects.size, 1, 'one object, not two');
      assert.ok(!fake.objects.has(first.ref), 'the never-started object was remade: its boot files may be missing');
      assert.notEqual(done.host_key, hostKey, 'the lost private key was replaced');
    });

    it('after start, before running was recorded: restarted into a known state, running', async () => {
      const dir = tmpDir();
      const fake = new FakeDriver();
      const g1 = await gateway(dir, fake);
      fake.haltAt('afterStart');
      const env = await g1.envs.create(await addUser(g1.db), input({ name: 'crash2' }));
      await tick();
      assert.equal((await g1.repo.get(env.id))!.status, 'starting');

      const g2 = await gateway(dir, fake);
      const [report] = await g2.reconciler.run();
      assert.deepEqual(report.resumed, ['crash2']);
      await waitStatus(g2, env.id, ['running']);
      assert.ok(fake.calls.includes('restart'), 'a half-started object is restarted, not trusted');
      assert.equal(fake.objects.size, 1);
    });

    it('during delete: the object and then the row are removed by the next pass', async () => {
      const dir = tmpDir();
      const fake = new FakeDriver();
      const g1 = await gateway(dir, fake);
      const alice = await addUser(g1.db);
      const env = await g1.envs.create(alice, input({ name: 'crash3' }));
      await waitStatus(g1, env.id, ['running']);
      fake.haltAt('delete');
      void g1.envs.delete(alice, env.id);
      await tick();
      assert.equal((await g1.repo.get(env.id))!.status, 'deleting');
      assert.equal(fake.objects.size, 1);

      const g2 = await gateway(dir, fake);
      await g2.reconciler.run();
      await g2.envs.idle();
      assert.equal(await g2.repo.get(env.id), undefined);
      assert.equal(fake.objects.size, 0);
      assert.ok(g2.events.some((e) => e.type === 'environment.deleted' && e.environment_id === env.id));
    });
  });
});
