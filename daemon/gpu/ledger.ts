// One transaction's view of a backend's GPUs: the inventory and the grants, read once when the transaction first
// decides, then kept up to date with the grants it makes (a group-commit batch makes many decisions on one read).
// Decisions are allocate.ts's; the common request (N whole exclusive GPUs) is answered from kept indexes without
// going over the inventory and every grant again.
import type { GpuDevice, GpuGrant, GpuRequest } from '../contract';
import { choose, type Choice } from './allocate';

const byIndex = (a: GpuDevice, b: GpuDevice) => (a.index ?? 0) - (b.index ?? 0);

export class GrantLedger {
  /** Whole GPUs that could ever be granted exclusively, in allocate.ts's order (index, then inventory order). */
  private readonly whole: { d: GpuDevice; model: string }[];
  private readonly byId: Map<string, GpuDevice>;
  private used = new Set<string>();
  /** GPUs hosting a granted vGPU: not whole any more. */
  private vgpuParents = new Set<string>();
  /** Whole GPUs before this one in `whole` are all taken. */
  private first = 0;
  /** Whether grants were added (or undone) since the read. */
  changed = false;
  /** Refusals worded since the last change, by request. */
  private refusals = new Map<string, Choice>();

  constructor(
    private readonly devices: GpuDevice[],
    private readonly grants: GpuGrant[],
  ) {
    this.byId = new Map(devices.map((d) => [d.id, d]));
    this.whole = devices
      .filter((d) => d.kind === 'gpu' && d.mig_mode !== 'enabled' && d.present && d.health === 'ok')
      .sort(byIndex)
      .map((d) => ({ d, model: d.model.toLowerCase() }));
    this.index();
  }

  private changes(): void {
    this.changed = true;
    this.refusals.clear();
  }

  private index(): void {
    this.first = 0;
    this.used = new Set();
    this.vgpuParents = new Set();
    for (const g of this.grants) this.note(g);
  }

  private note(g: GpuGrant): void {
    this.used.add(g.device_id);
    const d = this.byId.get(g.device_id);
    if (g.mode !== 'shared' && d?.kind === 'mdev' && d.parent_id) this.vgpuParents.add(d.parent_id);
  }

  choose(req: GpuRequest, where: string): Choice {
    const fast = this.fastWhole(req);
    if (fast) return fast;
    // A refusal is worded from the whole inventory; the same request on unchanged state gets the same words.
    const key = JSON.stringify(req);
    const known = this.refusals.get(key);
    if (known) return known;
    const choice = choose(req, this.devices, this.grants, where);
    if (!choice.ok) this.refusals.set(key, choice);
    return choice;
  }

  /** N whole exclusive GPUs by count: allocate.ts chooseWhole's rule (usable, MIG off, hosting no granted vGPU,
   *  no grant at all, model substring, lowest index first) on the kept indexes. Not enough: undefined. */
  private fastWhole(req: GpuRequest): Choice | undefined {
    if (req.mode !== 'exclusive' || req.deviceIds.length || req.count < 1) return undefined;
    const model = req.model?.toLowerCase();
    const taken = (id: string) => this.used.has(id) || this.vgpuParents.has(id);
    // Grants only add up between reads (an undo re-indexes): the taken ones at the front are skipped once.
    while (this.first < this.whole.length && taken(this.whole[this.first].d.id)) this.first++;
    const ids: string[] = [];
    for (let i = this.first; i < this.whole.length; i++) {
      const w = this.whole[i];
      if (taken(w.d.id) || (model && !w.model.includes(model))) continue;
      ids.push(w.d.id);
      if (ids.length === req.count) return { ok: true, deviceIds: ids };
    }
    return undefined;
  }

  /** Grants the transaction has written. */
  add(grants: GpuGrant[]): void {
    for (const g of grants) {
      this.grants.push(g);
      this.note(g);
    }
    this.changes();
  }

  /** Where a savepoint starts; undo(mark) forgets the grants made after it (rolled back with the savepoint). */
  mark(): number {
    return this.grants.length;
  }
  undo(mark: number): void {
    if (mark >= this.grants.length) return;
    this.grants.length = mark;
    this.index();
    this.changes();
  }
}
