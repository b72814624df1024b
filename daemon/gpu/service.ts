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
import { choose, type Choice } from './allocate';

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

/** allocate.ts chooseWhole's refusal, from counts (GpuRepo.freeSummary). */
function wholeRefusal(
  req: GpuRequest,
  where: string,
  s: { byModel: { model: string; total: number; mig: number; free: number }[]; anyMatch: boolean },
): string {
  const free =
    s.byModel
      .map((c) => `${c.free} of ${c.total} ${c.model} free${c.mig ? ` (${c.mig} in MIG mode)` : ''}`)
      .join(', ') || 'no GPUs in the inventory';
  const model = req.model ? ` ${req.model}` : '';
  const missing = req.model && !s.anyMatch ? ` (no${model} on ${where} at all)` : '';
  return `need ${req.count}×${model || ' GPU'} on ${where}; ${free}${missing}`;
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

  /** Chooses and records devices for a new env, inside the caller's transaction (with the env row). */
  async grantIn(trx: Kysely<Database>, envId: string, backendId: string, req: GpuRequest): Promise<string[]> {
    const repo = new GpuRepo(trx);
    const choice =
      (await this.fastWhole(repo, backendId, req)) ??
      choose(req, await repo.devices(backendId), await repo.grants(backendId), `backend '${backendId}'`);
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
      if (/UNIQUE/.test(String(err)))
        throw new ConflictError(`no GPU fits: a requested GPU was just granted to another environment`);
      throw err;
    }
    return choice.deviceIds;
  }

  /** Exclusive whole GPUs by count (the common request): decided in SQL. Not enough free: undefined, and the full
   *  allocator (allocate.ts) decides, with its reason for the refusal. */
  private async fastWhole(repo: GpuRepo, backendId: string, req: GpuRequest): Promise<Choice | undefined> {
    if (req.mode !== 'exclusive' || req.deviceIds.length || req.count < 1) return undefined;
    const ids = await repo.freeWholeIds(backendId, req.model, req.count);
    if (ids.length === req.count) return { ok: true, deviceIds: ids };
    return {
      ok: false,
      reason: wholeRefusal(req, `backend '${backendId}'`, await repo.freeSummary(backendId, req.model)),
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
