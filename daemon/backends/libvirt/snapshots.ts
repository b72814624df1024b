// Internal snapshots (inside the qcow2 overlay): with memory when the VM runs, disk only when it is off. External
// (disk-only while running) snapshots aren't offered: libvirt < 9.7 can't revert them.
import type { Snapshot } from '../../../common/model';
import { ConflictError, NotFoundError, UnprocessableError } from '../../errors';
import type { Virsh } from './virsh';

const SLOW = { timeoutMs: 600_000 }; // saving or loading a VM's memory

export class Snapshots {
  constructor(private readonly virsh: Virsh) {}

  async create(ref: string, name: string, description?: string): Promise<Snapshot> {
    const args = ['snapshot-create-as', '--domain', ref, '--name', name, '--atomic'];
    if (description) args.push('--description', description);
    await this.virsh.act(args, SLOW).catch((err) => {
      if (/already exists/.test((err as Error).message)) throw new ConflictError(`snapshot '${name}' already exists`);
      throw err;
    });
    const s = (await this.list(ref)).find((x) => x.name === name);
    if (!s) throw new UnprocessableError(`snapshot '${name}' was not recorded`);
    return s;
  }

  async list(ref: string): Promise<Snapshot[]> {
    const names = (await this.virsh.run(['snapshot-list', ref, '--name', '--topological']))
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    const current = (await this.virsh.run(['snapshot-current', ref, '--name']).catch(() => '')).trim();
    const out: Snapshot[] = [];
    for (const n of names) {
      const xml = await this.virsh.run(['snapshot-dumpxml', ref, n]);
      out.push({
        name: n,
        created_at: new Date(Number(/<creationTime>(\d+)<\/creationTime>/.exec(xml)?.[1] ?? 0) * 1000).toISOString(),
        state: /<state>([^<]+)<\/state>/.exec(xml)?.[1] ?? 'unknown',
        description: /<description>([^<]*)<\/description>/.exec(xml)?.[1] ?? null,
        current: n === current,
      });
    }
    return out;
  }

  private async ensure(ref: string, name: string): Promise<void> {
    if (!(await this.list(ref)).some((s) => s.name === name)) throw new NotFoundError('snapshot', name);
  }

  /** A running snapshot resumes with its memory; a disk-only one leaves the VM off. */
  async revert(ref: string, name: string): Promise<void> {
    await this.ensure(ref, name);
    await this.virsh.act(['snapshot-revert', ref, name], SLOW);
  }

  async delete(ref: string, name: string): Promise<void> {
    await this.ensure(ref, name);
    await this.virsh.act(['snapshot-delete', ref, name], SLOW);
  }
}
