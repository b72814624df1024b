// GPU inventory (refreshed from every backend that can report one) and transactional grants.
import crypto from 'node:crypto';
import type { Kysely } from 'kysely';
import type { GpuUsageReport } from '../../common/lifecycle';
import type { Environment, GpuInfo, User } from '../../common/model';
import { GpuUsageRepo } from '../store/gpuUsage';
import { capability, type Backends, type GpuGrant, type GpuRequest } from '../contract';
import { BackendUnavailableError, ConflictError, InputError } from '../errors';
import type { Logger } from '../log';
import type { Database } from '../store/schema';
import { GpuRepo } from '../store/gpus';
import { GroupCommit } from '../store/groupCommit';
import { choose } from './allocate';
import { GrantLedger } from './ledger';

export function requestOf(
  e: Pick<Environment, 'gpu_mode' | 'gpu_count' | 'gpu_model' | 'gpu_mig_profile' | 'gpu_device_ids'>,
): GpuRequest | null {
  if (e.gpu_mode === 'none') return null;
  return {
    mode: e.gpu_mode,
    count: e.gpu_count || e.gpu_device_ids.length || 1,
    model: e.gpu_model,
    profile: e.gpu_mig_profile,
    deviceIds: e.gpu_device_ids,
  };
}

const CONTAINER_GPU_MODES: readonly GpuRequest['mode'][] = ['exclusive', 'mig', 'shared'];

export class GpuService {
  private readonly repo: GpuRepo;
  private timer?: NodeJS.Timeout;

  private readonly db: Kysely<Database>;
  private readonly drivers: Backends;
  private readonly log: Logger;

  constructor(o: { db: Kysely<Database>; backends: Backends; log: Logger }) {
    this.db = o.db;
    this.drivers = o.backends;
    this.log = o.log;
    this.repo = new GpuRepo(o.db);
    this.batches = new GroupCommit(o.db, { savepoint: (trx) => this.undoPoint(trx) });
  }

  /** GPU-hours held, busy and reclaimed by automatic stops, per user or team, over hours in [from, to) (default:
   *  the last 7 days); a user sees their own only. */
  async usage(actor: User, q: { from?: string; to?: string; by: 'user' | 'team' }): Promise<GpuUsageReport> {
    const to = new Date(q.to ?? Date.now()).toISOString();
    const from = new Date(q.from ?? Date.parse(to) - 7 * 24 * 3_600_000).toISOString();
    if (from > to) throw new InputError('from', 'from: must not be after to');
    const totals = await new GpuUsageRepo(this.db).totals({
      from,
      to,
      by: q.by,
      ownerId: actor.role === 'admin' ? undefined : actor.id,
    });
    const h = (s: number) => Math.round((s / 3600) * 1000) / 1000;
    const rows = totals.map((t) => ({
      key: t.key,
      gpu_hours_held: h(t.held_s),
      gpu_hours_busy: h(t.busy_s),
      gpu_hours_reclaimed: h(t.reclaimed_s),
    }));
    return { from, to, by: q.by, rows };
  }

  /** Whether the daemon allocates on this backend (Docker/libvirt), or leaves it to a scheduler (Kubernetes). */
  allocates(backendId: string): boolean {
    return capability(this.drivers.get(backendId), 'gpus')?.allocation === 'gateway';
  }

  async refresh(backendId?: string): Promise<{ backend: string; devices: number; error?: string }[]> {
    const out = [];
    for (const d of this.drivers.all()) {
      if (backendId && d.id !== backendId) continue;
      const gpus = capability(d, 'gpus');
      if (!gpus) continue;
      try {
        const devices = await gpus.inventory();
        await this.repo.sync(d.id, devices, null);
        this.refreshed.add(d.id);
        out.push({ backend: d.id, devices: devices.length });
      } catch (err) {
        // An unreachable backend says nothing about its GPUs: keep them as they were.
        if (err instanceof BackendUnavailableError) {
          out.push({ backend: d.id, devices: 0, error: err.message });
          continue;
        }
        // The host answered but its GPUs can't be read (driver gone, nvidia-smi failing): mark them, keep them.
        const message = (err as Error).message;
        await this.repo.sync(d.id, [], message);
        this.refreshed.add(d.id);
        this.log.warn({ backend: d.id, err: message }, 'GPU inventory failed');
        out.push({ backend: d.id, devices: 0, error: message });
      }
    }
    return out;
  }

  private readonly refreshed = new Set<string>();

  /** Before the first grant on a backend: make sure its inventory was read at least once. */
  async ensureInventory(backendId: string): Promise<void> {
    if (this.refreshed.has(backendId)) return;
    await this.refresh(backendId);
  }

  startLoop(intervalS: number): void {
    this.timer = setInterval(() => void this.refresh().catch(() => undefined), intervalS * 1000);
    this.timer.unref();
  }
  stopLoop(): void {
    clearInterval(this.timer);
  }

  async list(f: { backend?: string; model?: string; free?: boolean; ownerId?: string } = {}): Promise<GpuInfo[]> {
    const [devices, holders] = await Promise.all([this.repo.devices(f.backend), this.repo.grantsWithHolders()]);
    const byDevice = new Map<string, typeof holders>();
    for (const h of holders) byDevice.set(h.device_id, [...(byDevice.get(h.device_id) ?? []), h]);
    return devices
      .map((d) => {
        const hs = byDevice.get(d.id) ?? [];
        const exclusive = hs.some((h) => h.mode !== 'shared');
        // `used`: units the backend says are taken without a grant of ours (Kubernetes: what scheduled pods request).
        const free =
          !d.present || d.health !== 'ok' || d.mig_mode === 'enabled'
            ? 0
            : exclusive
              ? 0
              : Math.max(0, d.capacity - Math.max(hs.length, d.used ?? 0));
        // Other users see that a GPU is taken, not by which environment.
        const visible = hs.map((h) =>
          f.ownerId && h.owner_id !== f.ownerId
            ? { env_id: '', env_name: '(another user)', owner_id: '', mode: h.mode }
            : { env_id: h.env_id, env_name: h.env_name, owner_id: h.owner_id, mode: h.mode },
        );
        return { ...d, free, holders: visible };
      })
      .filter((g) => (!f.model || g.model.toLowerCase().includes(f.model.toLowerCase())) && (!f.free || g.free > 0));
  }

  /** Chooses and records devices for a new env, inside the caller's transaction (with the env row). In a batch of
   *  transaction() the inventory and grants are read once for all its callers (ledger.ts). */
  async grantIn(trx: Kysely<Database>, envId: string, backendId: string, req: GpuRequest): Promise<string[]> {
    const repo = new GpuRepo(trx);
    const ledger = await this.ledger(trx, repo, backendId);
    const choice = ledger.choose(req, `backend '${backendId}'`);
    if (!choice.ok) throw new ConflictError(`no GPU fits: ${choice.reason}`);
    const now = new Date().toISOString();
    const grants: GpuGrant[] = choice.deviceIds.map((device_id) => ({
      id: crypto.randomUUID(),
      env_id: envId,
      device_id,
      mode: req.mode,
      created_at: now,
    }));
    try {
      await repo.insertGrants(grants);
    } catch (err) {
      // Only another gateway (PostgreSQL) can have granted it since this transaction read: read again next time.
      this.ledgers.get(trx)?.delete(backendId);
      if (/UNIQUE|unique constraint/i.test(String(err)))
        throw new ConflictError(`no GPU fits: a requested GPU was just granted to another environment`);
      throw err;
    }
    ledger.add(grants);
    return choice.deviceIds;
  }

  /** Runs `fn` in a transaction shared with the other callers of this tick (store/groupCommit.ts): one BEGIN, one
   *  read of each backend's GPUs and one COMMIT for the whole batch. For creates and the GPU queue. */
  transaction<T>(fn: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
    return this.batches.run(fn);
  }

  /** Per transaction and backend: what it read of the GPUs and what it granted since. Nothing outlives the
   *  transaction, so the database stays the one truth: each batch reads it afresh (single SQLite writer: exact;
   *  several gateways on PostgreSQL: a grant another gateway commits after this read is refused by the unique
   *  index gpu_grants_exclusive, that caller gets a 409 and the batch reads again). */
  private readonly ledgers = new WeakMap<Kysely<Database>, Map<string, GrantLedger>>();
  private readonly batches: GroupCommit<Database>;

  private async ledger(trx: Kysely<Database>, repo: GpuRepo, backendId: string): Promise<GrantLedger> {
    const read = async () => new GrantLedger(await repo.devices(backendId), await repo.grants(backendId));
    if (!trx.isTransaction) return read(); // autocommit: nothing to keep it beside
    let byBackend = this.ledgers.get(trx);
    if (!byBackend) this.ledgers.set(trx, (byBackend = new Map()));
    let l = byBackend.get(backendId);
    if (!l) byBackend.set(backendId, (l = await read()));
    return l;
  }

  /** A caller's savepoint in a batch: if it is rolled back, its grants leave the ledgers too. */
  private undoPoint(trx: Kysely<Database>): () => void {
    const marks = [...(this.ledgers.get(trx) ?? new Map<string, GrantLedger>())].map(
      ([b, l]) => [b, l.mark()] as const,
    );
    return () => {
      const byBackend = this.ledgers.get(trx);
      if (!byBackend) return;
      const before = new Map(marks);
      for (const [b, l] of byBackend) {
        const m = before.get(b);
        // Read inside the rolled-back work: still right unless that work granted through it (then read again).
        if (m === undefined) {
          if (l.changed) byBackend.delete(b);
        } else l.undo(m);
      }
    };
  }

  /** At start: take back the same devices the env's container was made with (they were released at stop). */
  async reacquire(env: Environment): Promise<void> {
    const req = requestOf(env);
    if (!req || !this.allocates(env.backend_id)) return;
    await this.db.transaction().execute(async (trx) => {
      const repo = new GpuRepo(trx);
      if ((await repo.envGrants(env.id)).length) return;
      const holders = await repo.grantsWithHolders();
      for (const id of env.gpu_device_ids) {
        const h = holders.find((x) => x.device_id === id && (req.mode !== 'shared' || x.mode !== 'shared'));
        if (h)
          throw new ConflictError(
            `GPU ${id} is now held by environment '${h.env_name}'; stop it first or recreate '${env.name}'`,
          );
      }
      const choice = choose(
        { ...req, deviceIds: env.gpu_device_ids },
        await repo.devices(env.backend_id),
        await repo.grants(env.backend_id),
        `backend '${env.backend_id}'`,
      );
      if (!choice.ok) throw new ConflictError(`cannot start '${env.name}': ${choice.reason}`);
      const now = new Date().toISOString();
      await repo.insertGrants(
        choice.deviceIds.map((device_id) => ({
          id: crypto.randomUUID(),
          env_id: env.id,
          device_id,
          mode: req.mode,
          created_at: now,
        })),
      );
    });
  }

  /** Releases an env's grants; listeners (the queue of envs waiting for GPUs) hear when something was freed. */
  async release(envId: string): Promise<number> {
    const n = await this.repo.release(envId);
    if (n) for (const fn of this.releaseListeners) fn();
    return n;
  }
  private readonly releaseListeners: (() => void)[] = [];
  onRelease(fn: () => void): void {
    this.releaseListeners.push(fn);
  }

  /** Restart consistency: grants of envs that don't run are released; running envs get theirs back. */
  async reconcile(envs: Environment[]): Promise<{ released: number; restored: number }> {
    let released = 0;
    let restored = 0;
    for (const e of envs) {
      const holds =
        e.status === 'running' || e.status === 'starting' || e.status === 'creating' || e.status === 'pending';
      if (!holds) released += await this.release(e.id);
      else if (
        e.gpu_mode !== 'none' &&
        e.gpu_device_ids.length &&
        this.allocates(e.backend_id) &&
        (await this.repo.envGrants(e.id)).length === 0
      ) {
        await this.reacquire(e).then(
          () => restored++,
          (err) => this.log.error({ env: e.id, err: String(err) }, 'GPU grant not restored'),
        );
      }
    }
    return { released, restored };
  }

  /** The gpu_mode must be one the backend declares (its gpus capability; without one, what containers have). */
  validate(backendId: string, req: GpuRequest | null): void {
    if (!req) return;
    const d = this.drivers.get(backendId);
    const modes = capability(d, 'gpus')?.modes ?? CONTAINER_GPU_MODES;
    if (modes.includes(req.mode)) return;
    // vGPUs (mdev) are a VM feature; a VM gets whole GPUs (PCI passthrough) or vGPUs, not MIG or time-slicing.
    if (req.mode === 'vgpu')
      throw new InputError('gpu_mode', `gpu_mode: vgpu needs a libvirt (vm) backend; '${backendId}' is ${d.kind}`);
    const named = modes.map((m) => (m === 'exclusive' ? 'exclusive (passthrough)' : m));
    throw new InputError(
      'gpu_mode',
      `gpu_mode: ${req.mode} is not available for VMs; use ${named.join(' or ')} on '${backendId}'`,
    );
  }
}
