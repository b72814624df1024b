// VM templates live in the host's storage pool, beside the overlays made from them: hangar-tmpl-<name>.qcow2 (the
// base image), .json (its metadata) and, for direct-kernel templates, .vmlinuz and .initrd. The host is the source of
// truth, so every gateway that drives it sees the same templates and nothing can drift from a database.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { VmTemplate } from '../../../common/model';
import { ConflictError, InputError, NotFoundError, UnprocessableError } from '../../errors';
import type { TemplateImport, TemplateSource } from '../../contract';
import type { Virsh } from './virsh';

export const TEMPLATE_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const PREFIX = 'hangar-tmpl-';
export const templateVolume = (name: string, part: 'qcow2' | 'json' | 'vmlinuz' | 'initrd') =>
  `${PREFIX}${name}.${part}`;

type Source = TemplateSource;

/** The source as a local file (a URL is downloaded to a temp file first: vol-upload needs a seekable file). */
async function localFile(
  src: Source,
  field: string,
  signal?: AbortSignal,
): Promise<{ file: string; size: number; cleanup: () => Promise<void> }> {
  if ('file' in src) {
    const st = await fsp.stat(src.file).catch(() => {
      throw new InputError(field, `${field}: no file '${src.file}' on the gateway`);
    });
    return { file: src.file, size: st.size, cleanup: async () => undefined };
  }
  const res = await fetch(src.url, { signal }).catch((e) => {
    throw new UnprocessableError(`${field}: cannot fetch ${src.url}: ${(e as Error).message}`);
  });
  if (!res.ok || !res.body) throw new UnprocessableError(`${field}: ${src.url} answered ${res.status}`);
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'hangar-tmpl-'));
  const file = path.join(dir, 'download');
  await pipeline(Readable.fromWeb(res.body as never), fs.createWriteStream(file));
  return { file, size: (await fsp.stat(file)).size, cleanup: () => fsp.rm(dir, { recursive: true, force: true }) };
}

export class TemplateStore {
  /** Metadata by template name; the pool's volume list (one cheap call) says which names exist, so a template another
   *  gateway imported or deleted shows at once, and only new names are downloaded. */
  private readonly metas = new Map<string, VmTemplate>();
  constructor(
    private readonly virsh: Virsh,
    private readonly pool: string,
    private readonly backendId: string,
  ) {}

  /** Volumes made through libvirt (by any gateway) are known without a pool refresh. */
  private async volumes(): Promise<string[]> {
    return (await this.virsh.run(['vol-list', '--pool', this.pool]))
      .split('\n')
      .map((l) => l.trim().split(/\s+/)[0])
      .filter(Boolean);
  }

  async list(): Promise<VmTemplate[]> {
    const vols = await this.volumes();
    // A template exists once its metadata does (written last); a .json without its disk is an import cut short.
    const names = vols
      .filter((v) => v.startsWith(PREFIX) && v.endsWith('.json'))
      .map((v) => v.slice(PREFIX.length, -'.json'.length))
      .filter((n) => vols.includes(templateVolume(n, 'qcow2')));
    for (const n of [...this.metas.keys()]) if (!names.includes(n)) this.metas.delete(n);
    const missing = names.filter((n) => !this.metas.has(n));
    if (missing.length) {
      const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'hangar-meta-'));
      try {
        for (const name of missing) {
          const file = path.join(dir, 'm.json');
          await this.virsh.download(this.pool, templateVolume(name, 'json'), file);
          this.metas.set(name, {
            ...(JSON.parse(await fsp.readFile(file, 'utf8')) as VmTemplate),
            name,
            backend_id: this.backendId,
          });
        }
      } finally {
        await fsp.rm(dir, { recursive: true, force: true });
      }
    }
    return names.map((n) => this.metas.get(n)!);
  }

  async get(name: string): Promise<VmTemplate | undefined> {
    return (await this.list()).find((t) => t.name === name);
  }

  /** Uploads the parts, the metadata last: a template exists only once its .json does. */
  async import(req: TemplateImport, signal?: AbortSignal): Promise<VmTemplate> {
    if (!TEMPLATE_NAME.test(req.name))
      throw new InputError('name', 'name: lower-case letters, digits, ".", "_" and "-", up to 63');
    if (req.firmware === 'direct-kernel' && !req.kernel)
      throw new InputError('kernel', 'kernel: a direct-kernel template needs a kernel');
    if (await this.get(req.name))
      throw new ConflictError(`template '${req.name}' already exists on backend '${this.backendId}'`);
    const parts: [Source | undefined, 'qcow2' | 'vmlinuz' | 'initrd', string][] = [
      [req.disk, 'qcow2', 'disk'],
      [req.kernel, 'vmlinuz', 'kernel'],
      [req.initrd, 'initrd', 'initrd'],
    ];
    try {
      for (const [src, part, field] of parts) {
        if (!src) continue;
        const s = await localFile(src, field, signal);
        try {
          const vol = templateVolume(req.name, part);
          await this.virsh.act(['vol-create-as', this.pool, vol, `${s.size}b`, '--format', 'raw']);
          await this.virsh.upload(this.pool, vol, s.file, signal);
        } finally {
          await s.cleanup();
        }
      }
      const diskBytes = await this.virtualSize(templateVolume(req.name, 'qcow2'));
      const meta: VmTemplate = {
        name: req.name,
        backend_id: this.backendId,
        os: req.os,
        default_user: req.default_user,
        cloud_init: req.cloud_init,
        firmware: req.firmware,
        cmdline: req.cmdline,
        access: req.access,
        disk_bytes: diskBytes,
        created_at: new Date().toISOString(),
      };
      const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'hangar-meta-'));
      try {
        const file = path.join(dir, 'template.json');
        await fsp.writeFile(file, JSON.stringify(meta, null, 2));
        await this.virsh.act([
          'vol-create-as',
          this.pool,
          templateVolume(req.name, 'json'),
          `${(await fsp.stat(file)).size}b`,
          '--format',
          'raw',
        ]);
        await this.virsh.upload(this.pool, templateVolume(req.name, 'json'), file, signal);
      } finally {
        await fsp.rm(dir, { recursive: true, force: true });
      }
      return meta;
    } catch (err) {
      await this.removeVolumes(req.name);
      throw err;
    }
  }

  /** The disk's virtual size (qemu-img info through libvirt: vol-info reports capacity from the qcow2 header). */
  async virtualSize(vol: string): Promise<number> {
    await this.virsh.refreshPool(this.pool);
    const info = await this.virsh.run(['vol-info', '--pool', this.pool, vol, '--bytes']);
    const m = /Capacity:\s+(\d+)/.exec(info);
    if (!m) throw new UnprocessableError(`cannot read the size of ${vol}`);
    return Number(m[1]);
  }

  async delete(name: string, usedBy: string[]): Promise<void> {
    if (!(await this.get(name))) throw new NotFoundError('template', name);
    if (usedBy.length)
      throw new ConflictError(`template '${name}' is used by ${usedBy.length} environment(s): ${usedBy.join(', ')}`);
    await this.removeVolumes(name);
  }

  private async removeVolumes(name: string): Promise<void> {
    this.metas.delete(name);
    const vols = await this.volumes();
    // Metadata first: a half-deleted template is no longer offered.
    for (const part of ['json', 'qcow2', 'vmlinuz', 'initrd'] as const) {
      const v = templateVolume(name, part);
      if (vols.includes(v)) await this.virsh.run(['vol-delete', '--pool', this.pool, v]);
    }
  }
}
