// One gateway "process" over a data dir and a fake backend: the real store (SQLite), services and reconciler.
// A test that halts a step abandons its process and opens another on the same dir, like a restart after a crash.
import crypto from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Environment, User } from '../../../common/model';
import { createEnvironmentSchema } from '../../../common/schemas';
import { DriverRegistry } from '../../../daemon/backends/registry';
import { EnvironmentService } from '../../../daemon/environments/service';
import { MountPolicy } from '../../../daemon/environments/mounts';
import { Reconciler } from '../../../daemon/environments/reconcile';
import { GpuService } from '../../../daemon/gpu/service';
import { createLogger } from '../../../daemon/log';
import { EventBus } from '../../../daemon/services/events';
import { SshKeyService } from '../../../daemon/services/keys';
import { openDatabase } from '../../../daemon/store/db';
import { EnvironmentRepo } from '../../../daemon/store/environments';
import type { Database } from '../../../daemon/store/schema';
import { AuditRepo, UserRepo } from '../../../daemon/store/users';
import { FakeDriver } from './fakeDriver';
import type { Clock } from '../../../daemon/environments/clock';
import type { LifecycleRules } from '../../../daemon/environments/policy';

export interface Gateway {
  db: Kysely<Database>;
  envs: EnvironmentService;
  reconciler: Reconciler;
  gpus: GpuService;
  repo: EnvironmentRepo;
  events: { type: string; status?: string; environment_id: string; action?: string; reason?: string }[];
  close(): Promise<void>;
}

export async function openGateway(
  dataDir: string,
  fake: FakeDriver,
  opts: { clock?: Clock; lifecycle?: LifecycleRules } = {},
): Promise<Gateway> {
  const db = await openDatabase(dataDir);
  const log = createLogger('silent');
  const clock = opts.clock;
  const repo = new EnvironmentRepo(db, undefined, clock && (() => clock.now()));
  const users = new UserRepo(db);
  const backends = new DriverRegistry([fake], fake.id);
  const events = new EventBus();
  const seen: Gateway['events'] = [];
  events.subscribe((e) => seen.push(e));
  const gpus = new GpuService({ db, backends, log });
  const envs = new EnvironmentService({
    db,
    gpus,
    repo,
    audit: new AuditRepo(db),
    backends,
    keys: new SshKeyService({ users }),
    events,
    log,
    publicUrl: () => 'http://gateway.test',
    stopTimeoutS: 1,
    mounts: new MountPolicy({ hostPaths: [], db }),
    clock,
    lifecycle: opts.lifecycle,
  });
  const reconciler = new Reconciler({ repo, backends, envs, log, gpus });
  return { db, envs, reconciler, gpus, repo, events: seen, close: () => db.destroy() };
}

/** A user row (every gateway process over the same dir sees it). */
export async function addUser(db: Kysely<Database>, name = 'alice', role: User['role'] = 'user'): Promise<User> {
  const user: User = { id: crypto.randomUUID(), name, role, team: null, created_at: new Date().toISOString() };
  await new UserRepo(db).insert(user);
  return user;
}

/** A create request with the API's defaults (terminal: no Jupyter token). */
export const input = (o: Record<string, unknown>) =>
  createEnvironmentSchema.parse({ image: 'fake/image:1', environment_type: 'terminal', ...o });

/** Polls the row until its status is one of `want` (the lifecycle runs in the background). */
export async function waitStatus(
  g: Gateway,
  id: string,
  want: Environment['status'][],
  ms = 3000,
): Promise<Environment> {
  const deadline = Date.now() + ms;
  for (;;) {
    const env = await g.repo.get(id);
    if (env && want.includes(env.status)) return env;
    if (Date.now() > deadline) throw new Error(`env ${id} is ${env?.status ?? 'gone'}, not ${want.join('/')}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Lets pending background steps run up to where they halt or wait. */
export const tick = (ms = 30) => new Promise((r) => setTimeout(r, ms));
