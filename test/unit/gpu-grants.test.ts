// GPU grants through the real store (SQLite): concurrent requests batched into shared transactions (GpuService
// .transaction) never double-grant, decide exactly as the pure allocator (allocate.ts) deciding one after another
// would, and a caller whose work fails leaves no grant behind.
import assert from 'node:assert/strict';
import { sql, type Kysely } from 'kysely';
import { DriverRegistry } from '../../daemon/backends/registry';
import type { GpuDevice, GpuGrant, GpuRequest } from '../../daemon/contract';
import { ConflictError } from '../../daemon/errors';
import { choose } from '../../daemon/gpu/allocate';
import { GpuService } from '../../daemon/gpu/service';
import { createLogger } from '../../daemon/log';
import { openDatabase } from '../../daemon/store/db';
import { GpuRepo } from '../../daemon/store/gpus';
import type { Database } from '../../daemon/store/schema';
import { insertEnvRows } from '../helpers/envRows';
import { gpuDevice } from '../helpers/gpuDevices';
import { tmpDir } from '../helpers/tmp';

const now = new Date().toISOString();
const gpu = gpuDevice;
const exclusive = (model: string | null = null, count = 1): GpuRequest => ({
  mode: 'exclusive',
  count,
  model,
  profile: null,
  deviceIds: [],
});

describe('gpu: grants through the store, batched', function () {
  this.timeout(60_000);
  let db: Kysely<Database>;
  let gpus: GpuService;
  let envs: string[];

  async function setUp(devices: GpuDevice[], n: number): Promise<void> {
    db = await openDatabase(tmpDir('hangar-gpu-grants-'));
    await db.insertInto('users').values({ id: 'u', name: 'u', role: 'admin', created_at: now }).execute();
    await new GpuRepo(db).sync('b', devices, null);
    envs = await insertEnvRows(db, 'u', n, { row: () => ({ backend_id: 'b', status: 'creating' }) });
    gpus = new GpuService({ db, backends: new DriverRegistry([], 'b'), log: createLogger('silent') });
  }
  afterEach(async () => {
    await db?.destroy();
  });

  it('1,000 concurrent requests on 512 GPUs: 512 granted, 488 refused (409), no device granted twice', async () => {
    const devices = Array.from({ length: 512 }, (_, i) => gpu(i));
    await setUp(devices, 1000);
    const results = await Promise.allSettled(
      envs.map((id, i) => gpus.transaction((trx) => gpus.grantIn(trx, id, 'b', exclusive(i % 3 ? null : 'H100')))),
    );
    const granted = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r) => r.status === 'rejected' && r.reason instanceof ConflictError);
    assert.equal(granted.length, 512);
    assert.equal(refused.length, 488);
    const rows = await db.selectFrom('gpu_grants').select(['device_id', 'env_id']).execute();
    assert.equal(rows.length, 512);
    assert.equal(new Set(rows.map((r) => r.device_id)).size, 512, 'no device twice');
    assert.equal(new Set(rows.map((r) => r.env_id)).size, 512, 'one grant per env');
    assert.deepEqual(new Set(rows.map((r) => r.device_id)), new Set(devices.map((d) => d.id)));
    // What each caller was told is what was committed.
    const told = new Map(envs.map((id, i) => [id, results[i]]));
    for (const r of rows) {
      const t = told.get(r.env_id)!;
      assert.deepEqual(t.status === 'fulfilled' && t.value, [r.device_id]);
    }
    assert.match(String((refused[0] as PromiseRejectedResult).reason), /no GPU fits: need 1×/);
  });

  it('a batch decides as the pure allocator would, one request after another (all modes)', async () => {
    const whole = Array.from({ length: 8 }, (_, i) => gpu(i, { capacity: 2 }));
    const mig = gpu(8, { mig_mode: 'enabled', model: 'NVIDIA A100-SXM4-80GB' });
    const instances = [0, 1, 2].map((k) =>
      gpu(9 + k, { kind: 'mig', parent_id: mig.id, profile: k ? '1g.10gb' : '3g.40gb', model: mig.model }),
    );
    const vgpus = [0, 1].map((k) => gpu(12 + k, { kind: 'mdev', parent_id: whole[6 + k].id, profile: 'nvidia-700' }));
    const devices = [...whole, mig, ...instances, ...vgpus];
    await setUp(devices, 60);
    const inventory = await new GpuRepo(db).devices('b');
    const reqs: GpuRequest[] = envs.map((_, i) => {
      const m = i % 5;
      if (m === 1) return { ...exclusive(), mode: 'shared', count: 1 + (i % 2) };
      if (m === 2) return { ...exclusive(), mode: 'mig', profile: i % 4 ? '1g.10gb' : null };
      if (m === 3) return { ...exclusive(), mode: 'vgpu', profile: 'nvidia-700' };
      if (m === 4 && i < 20) return { ...exclusive(), deviceIds: [whole[(i * 3) % 8].id] };
      return exclusive(i % 2 ? 'H100' : null, 1 + (i % 3 === 0 ? 1 : 0));
    });
    const results = await Promise.allSettled(
      envs.map((id, i) => gpus.transaction((trx) => gpus.grantIn(trx, id, 'b', reqs[i]))),
    );
    const held: GpuGrant[] = [];
    for (const [i, req] of reqs.entries()) {
      const want = choose(req, inventory, held, `backend 'b'`);
      const got = results[i];
      if (want.ok) {
        assert.deepEqual(got.status === 'fulfilled' && got.value, want.deviceIds, `request ${i} (${req.mode})`);
        for (const device_id of want.deviceIds)
          held.push({ id: `${i}${device_id}`, env_id: envs[i], device_id, mode: req.mode, created_at: now });
      } else {
        assert.equal(got.status, 'rejected', `request ${i} (${req.mode}) refused`);
        assert.equal((got as PromiseRejectedResult).reason.message, `no GPU fits: ${want.reason}`);
      }
    }
    assert.ok(held.length > 10 && results.some((r) => r.status === 'rejected'), 'some granted, some refused');
    const rows = await db.selectFrom('gpu_grants').select(['device_id', 'mode']).execute();
    assert.equal(rows.length, held.length);
  });

  it('a caller that fails after its grant leaves none; the next in the batch gets that GPU, others commit', async () => {
    const devices = Array.from({ length: 4 }, (_, i) => gpu(i * 8));
    await setUp(devices, 3);
    const [a, b, c] = await Promise.allSettled([
      gpus.transaction((trx) => gpus.grantIn(trx, envs[0], 'b', exclusive())),
      gpus.transaction(async (trx) => {
        await gpus.grantIn(trx, envs[1], 'b', exclusive());
        await trx.updateTable('environments').set({ status: 'running' }).where('id', '=', envs[1]).execute();
        throw new Error('the create failed after its grant');
      }),
      gpus.transaction((trx) => gpus.grantIn(trx, envs[2], 'b', exclusive())),
    ]);
    assert.deepEqual(a.status === 'fulfilled' && a.value, [devices[0].id]);
    assert.equal(b.status, 'rejected');
    assert.deepEqual(c.status === 'fulfilled' && c.value, [devices[1].id], 'the rolled-back GPU goes to the next');
    const rows = await db.selectFrom('gpu_grants').select(['env_id', 'device_id']).orderBy('device_id').execute();
    assert.deepEqual(rows.map((r) => r.env_id).sort(), [envs[0], envs[2]].sort());
    const failed = await db.selectFrom('environments').select('status').where('id', '=', envs[1]).executeTakeFirst();
    assert.equal(failed?.status, 'creating', "the failed caller's other writes are rolled back too");
    // Released grants are free again for the next batch (each batch reads the store afresh).
    await gpus.release(envs[0]);
    const again = await gpus.transaction((trx) => gpus.grantIn(trx, envs[1], 'b', exclusive()));
    assert.deepEqual(again, [devices[0].id]);
  });

  it('a batch whose COMMIT fails keeps nothing and tells every caller; the next batch reads afresh', async () => {
    const devices = Array.from({ length: 4 }, (_, i) => gpu(i * 8));
    await setUp(devices, 3);
    const results = await Promise.allSettled([
      gpus.transaction((trx) => gpus.grantIn(trx, envs[0], 'b', exclusive())),
      gpus.transaction(async (trx) => {
        // A foreign key checked only at COMMIT: the whole transaction fails there, after every caller's work.
        await sql`pragma defer_foreign_keys = on`.execute(trx);
        await trx
          .insertInto('gpu_grants')
          .values({ id: 'orphan', env_id: 'no-such-env', device_id: devices[3].id, mode: 'shared', created_at: now })
          .execute();
        return [];
      }),
      gpus.transaction((trx) => gpus.grantIn(trx, envs[1], 'b', exclusive())),
    ]);
    assert.ok(results.every((r) => r.status === 'rejected' && /FOREIGN KEY/.test(String(r.reason))));
    assert.equal((await db.selectFrom('gpu_grants').select('id').execute()).length, 0);
    assert.deepEqual(await gpus.transaction((trx) => gpus.grantIn(trx, envs[2], 'b', exclusive())), [devices[0].id]);
  });

  it('outside a batch (a plain transaction) the same rules hold', async () => {
    const devices = Array.from({ length: 2 }, (_, i) => gpu(i * 8 + 1));
    await setUp(devices, 3);
    const one = (id: string) => db.transaction().execute((trx) => gpus.grantIn(trx, id, 'b', exclusive('H100')));
    assert.deepEqual(await one(envs[0]), [devices[0].id]);
    assert.deepEqual(await one(envs[1]), [devices[1].id]);
    await assert.rejects(one(envs[2]), /no GPU fits: need 1× H100 on backend 'b'; 0 of 2 NVIDIA H100 80GB HBM3 free/);
  });
});
