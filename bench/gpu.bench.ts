// Allocator throughput and correctness: 1,000 concurrent single-GPU requests on 512 simulated GPUs, through the
// real store (SQLite transactions + the unique index), each inside a transaction as a create makes it (batched by
// GpuService.transaction, as creates are). Prints grants/s and `double grants: N` (must be 0).
import crypto from 'node:crypto';
import { DriverRegistry } from '../daemon/backends/registry';
import { GpuService } from '../daemon/gpu/service';
import type { GpuDevice } from '../daemon/contract';
import { createLogger } from '../daemon/log';
import { openDatabase } from '../daemon/store/db';
import { GpuRepo } from '../daemon/store/gpus';
import { gpuDevice } from '../test/helpers/gpuDevices';
import { tmpDir } from '../test/helpers/tmp';
import { ConflictError } from '../daemon/errors';
import { figure } from './figures';
import { rawGrantsPerSecond } from './gpuFloor';

async function main(): Promise<void> {
  const db = await openDatabase(tmpDir('hangar-gpu-bench-'));
  const now = new Date().toISOString();
  await db.insertInto('users').values({ id: 'u', name: 'bench', role: 'admin', created_at: now }).execute();
  const devices: GpuDevice[] = Array.from({ length: 512 }, (_, i) => gpuDevice(i));
  await new GpuRepo(db).sync('b', devices, null);
  const ids = Array.from({ length: 1000 }, () => crypto.randomUUID());
  for (const id of ids) {
    await db
      .insertInto('environments')
      .values({
        id,
        name: id.slice(0, 20),
        owner_id: 'u',
        deployment_mode: 'docker_local',
        environment_type: 'training',
        gpu_mode: 'exclusive',
        storage_type: 'local',
        storage_config: null,
        lifecycle_policy: 'persistent',
        network_config: null,
        use_jumpserver: 0,
        vnc_port: null,
        vnc_password: null,
        backend_id: 'b',
        backend_ref: null,
        image: 'x',
        image_pull_policy: 'never',
        cpu: null,
        memory_mb: null,
        gpu_count: 1,
        gpu_device_ids: '[]',
        gpu_model: null,
        gpu_mig_profile: null,
        env_vars: '{}',
        ssh_user: 'hangar',
        host_key: null,
        jupyter_token: null,
        status: 'creating',
        status_message: null,
        created_at: now,
        updated_at: now,
      })
      .execute();
  }
  const gpus = new GpuService({ db, backends: new DriverRegistry([], 'b'), log: createLogger('silent') });
  const t0 = process.hrtime.bigint();
  const results = await Promise.allSettled(
    ids.map((id, i) =>
      // As a create does: the grant inside the create's transaction, batched with the others of the tick.
      gpus.transaction((trx) =>
        gpus.grantIn(trx, id, 'b', {
          mode: 'exclusive',
          count: 1,
          model: i % 3 === 0 ? 'H100' : null,
          profile: null,
          deviceIds: [],
        }),
      ),
    ),
  );
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const granted = results.filter((r) => r.status === 'fulfilled').length;
  const refused = results.filter(
    (r) => r.status === 'rejected' && (r as PromiseRejectedResult).reason instanceof ConflictError,
  ).length;
  const doubles = await db
    .selectFrom('gpu_grants')
    .select(['device_id'])
    .groupBy('device_id')
    .having((eb) => eb.fn.countAll(), '>', 1)
    .execute();
  console.log(
    `1000 concurrent requests on 512 GPUs: ${granted} granted, ${refused} refused (409), ${1000 - granted - refused} other errors in ${secs.toFixed(2)} s`,
  );
  console.log(`  ${(1000 / secs).toFixed(0)} decisions/s, ${(granted / secs).toFixed(0)} grants/s`);
  console.log(`double grants: ${doubles.length}`);
  const floor = rawGrantsPerSecond(
    devices.map((d) => d.id),
    1000,
  );
  figure({
    figure: 'GPU allocator: 1,000 concurrent requests on 512 GPUs (SQLite), grants/s',
    hangar: granted / secs,
    floor,
    unit: 'grants/s',
    goal: 2000,
    goal_on: 'hangar',
    cmp: '>=',
  });
  figure({
    figure: 'GPU allocator: double grants',
    hangar: doubles.length,
    floor: 0,
    unit: 'grants',
    goal: 0,
    goal_on: 'hangar',
    cmp: '<=',
  });
  await db.destroy();
  if (doubles.length || granted !== 512) process.exit(1);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
