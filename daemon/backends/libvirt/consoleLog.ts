// A VM's serial console, logged by libvirt (virtlogd) into the storage pool: read in place beside the gateway, through
// libvirt (vol-download) for a remote host; followed by polling from the last offset.
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { NotFoundError } from '../../errors';
import type { LogOptions } from '../../contract';
import type { Virsh } from './virsh';

export const consoleVolume = (ref: string) => `${ref}-console.log`;

export class ConsoleLog {
  constructor(
    private readonly virsh: Virsh,
    private readonly pool: string,
    private readonly poolPath: () => Promise<string>,
    private readonly remote: boolean,
  ) {}

  async file(ref: string): Promise<string> {
    return path.join(await this.poolPath(), consoleVolume(ref));
  }

  async size(ref: string): Promise<number> {
    if (this.remote) return (await this.read(ref, 0)).length;
    return fsp.stat(await this.file(ref)).then(
      (s) => s.size,
      () => 0,
    );
  }

  /** The log from byte `offset` on (empty when there is none yet). */
  async read(ref: string, offset: number): Promise<Buffer> {
    if (!this.remote) {
      const fh = await fsp.open(await this.file(ref)).catch(() => undefined);
      if (!fh) return Buffer.alloc(0);
      try {
        const { size } = await fh.stat();
        if (size <= offset) return Buffer.alloc(0);
        const buf = Buffer.alloc(size - offset);
        await fh.read(buf, 0, buf.length, offset);
        return buf;
      } finally {
        await fh.close();
      }
    }
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'hangar-console-'));
    try {
      await this.virsh.refreshPool(this.pool);
      await this.virsh.download(this.pool, consoleVolume(ref), path.join(dir, 'log'), { offset }).catch((err) => {
        if (!(err instanceof NotFoundError)) throw err;
      });
      return await fsp.readFile(path.join(dir, 'log')).catch(() => Buffer.alloc(0));
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  }

  async stream(ref: string, opts: LogOptions): Promise<Readable> {
    const out = new PassThrough();
    const first = await this.read(ref, 0);
    let offset = first.length;
    const text = first.toString();
    out.write(
      opts.tail
        ? text
            .split('\n')
            .slice(-(opts.tail + 1))
            .join('\n')
        : text,
    );
    if (!opts.follow) {
      out.end();
      return out;
    }
    const timer = setInterval(() => {
      this.read(ref, offset)
        .then((b) => {
          if (b.length) {
            offset += b.length;
            out.write(b);
          }
        })
        .catch((err) => out.destroy(err));
    }, 500);
    opts.signal?.addEventListener(
      'abort',
      () => {
        clearInterval(timer);
        out.end();
      },
      { once: true },
    );
    out.on('close', () => clearInterval(timer));
    return out;
  }
}
