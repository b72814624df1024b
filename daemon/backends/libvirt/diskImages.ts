// Whole VM disks for backups: an env's root overlay (hangar-<env>.qcow2, everything the guest wrote over its
// template, /home included) and its data disks (hangar-vol-<id>.qcow2), as the exact bytes of their qcow2 files.
// A disk no VM runs with is read as it is (vol-download). A running VM's disk is first copied at one point in time
// with `virsh blockcopy --shallow --transient-job --wait --finish` (QEMU mirrors the top layer into a new file in
// the pool until it has caught up, then ends the job without pivoting: the copy is what the disk held at that moment,
// crash-consistent, like pulling the power; the template underneath is shared and never copied); the copy is read and
// removed. A restore puts a file's bytes back exactly: the old file deleted, an empty volume made, vol-upload, and
// the pool's bytes read back and hashed. Works over qemu+ssh:// too (virsh streams; only pool paths name files).
import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import type { DiskImagesCapability, EnvDataCapability, TarExport } from '../../contract';
import { NotFoundError } from '../../errors';
import type { LibvirtHost } from './host';

const COPY = { timeoutMs: 3_600_000 };
const file = (disk: string) => `${disk}.qcow2`;

/** The env's own disk: its root overlay, named after the domain. */
export function vmEnvData(): EnvDataCapability {
  return { home: async (ref) => ({ name: ref, path: '/' }) };
}

/** Removes a volume of the pool; one that is gone already is fine. */
async function drop(host: LibvirtHost, vol: string): Promise<void> {
  await host.virsh.run(['vol-delete', '--pool', host.o.pool, vol]).catch((err) => {
    if (!(err instanceof NotFoundError)) throw err;
  });
}

/** A point-in-time copy of the running domain's disk (its top layer), in the pool; the caller removes it. */
async function copyOf(host: LibvirtHost, disk: string, domain: string): Promise<string> {
  const dir = await host.poolPath();
  const copy = `hangar-bkcopy-${crypto.randomUUID()}.qcow2`;
  const src = path.join(dir, file(disk));
  // The disk by its target (vda…) as the running domain lists it; its pool path otherwise.
  const rows = (await host.virsh.run(['domblklist', domain])).split('\n').map((l) => l.trim().split(/\s+/));
  const target = rows.find((r) => r[1] === src || r[1]?.endsWith(`/${file(disk)}`))?.[0] ?? src;
  const args = ['blockcopy', domain, target, '--dest', path.join(dir, copy), '--format', 'qcow2'];
  await host.virsh.act([...args, '--shallow', '--transient-job', '--wait', '--finish'], COPY).catch(async (err) => {
    await host.virsh.refreshPool(host.o.pool);
    await drop(host, copy).catch(() => undefined);
    throw err;
  });
  await host.virsh.refreshPool(host.o.pool);
  return copy;
}

export function diskImages(host: LibvirtHost): DiskImagesCapability {
  const pool = host.o.pool;
  const virsh = () => host.virsh;
  return {
    async export(disk, runningIn): Promise<TarExport> {
      await virsh().refreshPool(pool);
      if (!runningIn) return await virsh().downloadStream(pool, file(disk));
      const copy = await copyOf(host, disk, runningIn);
      const d = await virsh().downloadStream(pool, copy);
      return { stream: d.stream, done: d.done.finally(() => drop(host, copy).catch(() => undefined)) };
    },

    async import(disk, from) {
      const size = (await fsp.stat(from)).size;
      await virsh().refreshPool(pool);
      await drop(host, file(disk));
      await virsh().act(['vol-create-as', pool, file(disk), `${size}b`, '--allocation', '0', '--format', 'raw']);
      await virsh().upload(pool, file(disk), from);
      await virsh().refreshPool(pool);
      const hash = crypto.createHash('sha256');
      const back = await virsh().downloadStream(pool, file(disk));
      back.stream.on('data', (b: Buffer) => hash.update(b));
      await Promise.all([finished(back.stream), back.done]);
      return hash.digest('hex');
    },
  };
}
