// Making an env's VM: a qcow2 overlay on its template, a cloud-init seed with the boot files, data disks for
// named volumes, vGPU instances, forwarded ports, and the domain itself.
import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { VmTemplate } from '../../../common/model';
import { UnprocessableError } from '../../errors';
import { bootFileOf, RDP_PORT, VNC_PORT, type EnvSpec } from '../../contract';
import { buildSeedIso } from './cloudInit';
import { consoleVolume } from './consoleLog';
import { renderDomainXml, type DomainMeta, type Forward } from './domainXml';
import type { ForwardPorts } from './forwards';
import { guestDatasets, type GuestDataset } from './guestDatasets';
import { guestShares, type GuestShare } from './guestShares';
import { domainName, type LibvirtHost } from './host';
import { mdevSlot, mdevXml, pciAddressOf } from './nodedev';
import { templateVolume, type TemplateStore } from './templates';

interface DataDisk {
  volume: string;
  serial: string;
  target: string;
  readOnly: boolean;
}

function uuidFrom(seed: string): string {
  const h = crypto.createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** A file in a fresh temp dir for virsh to read (it may hold a password), removed afterwards. */
async function withTempFile<T>(
  prefix: string,
  name: string,
  content: string,
  fn: (file: string) => Promise<T>,
): Promise<T> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), prefix));
  try {
    await fsp.writeFile(path.join(dir, name), content, { mode: 0o600 });
    return await fn(path.join(dir, name));
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

export class VmCreate {
  constructor(
    private readonly host: LibvirtHost,
    private readonly templates: TemplateStore,
    private readonly forwards: ForwardPorts,
    private readonly remove: (ref: string) => Promise<void>,
  ) {}

  async create(spec: EnvSpec, signal?: AbortSignal): Promise<string> {
    const ref = domainName(spec.envId);
    if (await this.host.domainExists(ref)) return ref;
    const tmpl = await this.templates.get(spec.image);
    if (!tmpl)
      throw new UnprocessableError(`template '${spec.image}' is not on backend '${this.host.id}'`, 'image_unavailable');
    // A crash between making volumes and defining the domain leaves volumes: start from nothing.
    await this.host.removeVolumes(ref);
    let forwards: Forward[] = [];
    try {
      await this.host.poolPath(); // a pool without a target path fails before anything is made
      const disk = await this.overlayDisk(ref, tmpl);
      const dataDisks = await this.dataDisks(spec);
      const seed = await this.seed(ref, spec, dataDisks, this.guestMounts(spec), signal);
      const vnc = spec.ports.find((p) => p.container_port === VNC_PORT && p.host_port);
      forwards = await this.forwards.allocate(
        tmpl.access.includes('rdp') && !spec.ports.some((p) => p.container_port === RDP_PORT)
          ? { ...spec, ports: [...spec.ports, { container_port: RDP_PORT }] }
          : spec,
        vnc?.host_port ?? null,
      );
      const mdevs = await this.makeMdevs(spec);
      const meta: DomainMeta = {
        envId: spec.envId,
        envName: spec.name,
        owner: spec.owner,
        gateway: this.host.o.gatewayId,
        backend: this.host.id,
        template: tmpl.name,
        forwards,
        vncPort: vnc?.host_port ?? null,
        mdevs,
        ...(spec.record ? { record: JSON.stringify(spec.record) } : {}),
      };
      const xml = await this.domainXml(ref, spec, tmpl, {
        disk,
        seed,
        dataDisks,
        vncHostPort: vnc?.host_port ?? null,
        meta,
      });
      await withTempFile('hangar-dom-', 'domain.xml', xml, (file) => this.host.virsh.act(['define', file])); // holds the VNC password
      this.host.metas.set(ref, meta);
      return ref;
    } catch (err) {
      await this.remove(ref).catch(() => undefined);
      throw err;
    } finally {
      this.forwards.release(forwards);
    }
  }

  /** What the guest mounts itself: NFS shares (its kernel's client) and datasets (s3fs). */
  private guestMounts(spec: EnvSpec): { shares: GuestShare[]; datasets: GuestDataset[] } {
    const net = { backendId: this.host.id, network: this.host.o.network, restrict: this.host.o.restrict_network };
    return { shares: guestShares(spec.mounts, net), datasets: guestDatasets(spec.mounts, net) };
  }

  /** The VM's root disk: a qcow2 overlay backed by the template's volume (the template itself is never written). */
  private async overlayDisk(ref: string, tmpl: VmTemplate): Promise<string> {
    const disk = `${ref}.qcow2`;
    await this.host.virsh.act([
      'vol-create-as',
      this.host.o.pool,
      disk,
      `${tmpl.disk_bytes}b`,
      '--format',
      'qcow2',
      '--backing-vol',
      templateVolume(tmpl.name, 'qcow2'),
      '--backing-vol-format',
      'qcow2',
    ]);
    return disk;
  }

  /** The cloud-init seed volume with the boot files (not the VNC password: the VM's own display serves VNC). */
  private async seed(
    ref: string,
    spec: EnvSpec,
    dataDisks: DataDisk[],
    guest: { shares: GuestShare[]; datasets: GuestDataset[] },
    signal?: AbortSignal,
  ): Promise<string> {
    const vncFile = bootFileOf(spec.files, 'vnc_password');
    const seedVol = `${ref}-seed.qcow2`;
    const seed = await buildSeedIso({
      instanceId: spec.envId,
      hostname: spec.name,
      files: spec.files.filter((f) => f !== vncFile),
      agent: spec.agent ? { binary: await spec.agent.binary('amd64'), version: spec.agent.version } : undefined,
      command: spec.command,
      disks: dataDisks.map((d) => ({ serial: d.serial, target: d.target, readOnly: d.readOnly })),
      ...guest,
    });
    try {
      const size = (await fsp.stat(seed.file)).size;
      await this.host.virsh.act(['vol-create-as', this.host.o.pool, seedVol, `${size}b`, '--format', 'raw']);
      await this.host.virsh.upload(this.host.o.pool, seedVol, seed.file, signal);
    } finally {
      await seed.cleanup();
    }
    return seedVol;
  }

  private async domainXml(
    ref: string,
    spec: EnvSpec,
    tmpl: VmTemplate,
    d: {
      disk: string;
      seed: string;
      dataDisks: DataDisk[];
      vncHostPort: number | null;
      meta: DomainMeta;
    },
  ): Promise<string> {
    const o = this.host.o;
    const poolPath = await this.host.poolPath();
    const vncFile = bootFileOf(spec.files, 'vnc_password');
    return renderDomainXml({
      name: ref,
      title: spec.name,
      virtType: (await this.host.virtType()).type,
      vcpus: Math.max(1, Math.ceil(spec.cpu ?? o.default_vcpus)),
      memoryMb: spec.memoryMb ?? o.default_memory_mb,
      pool: o.pool,
      disk: d.disk,
      seed: d.seed,
      dataDisks: d.dataDisks,
      boot:
        tmpl.firmware === 'direct-kernel'
          ? {
              kind: 'direct-kernel',
              kernel: path.join(poolPath, templateVolume(tmpl.name, 'vmlinuz')),
              initrd: path.join(poolPath, templateVolume(tmpl.name, 'initrd')),
              cmdline: tmpl.cmdline,
            }
          : { kind: tmpl.firmware },
      network: o.network,
      restrictNetwork: o.restrict_network,
      forwardAddress: o.forward_address,
      consoleLog: path.join(poolPath, consoleVolume(ref)),
      graphics:
        d.vncHostPort && vncFile
          ? { port: d.vncHostPort, password: vncFile.content.toString().trim(), listen: o.forward_address }
          : null,
      pciHostdevs:
        spec.gpus.mode === 'exclusive'
          ? spec.gpus.deviceIds.map((id) => {
              const a = pciAddressOf(id);
              if (!a) throw new UnprocessableError(`GPU ${id} is not a PCI device of libvirt host '${this.host.id}'`);
              return a;
            })
          : [],
      mdevHostdevs: d.meta.mdevs,
      meta: d.meta,
    });
  }

  /** Named volumes become data disks (qcow2 in the pool, made on first use, kept when the env is deleted, like a
   *  Docker named volume); shares are mounted by the guest (guestShares.ts); host paths can't be given to a VM. */
  private async dataDisks(spec: EnvSpec): Promise<DataDisk[]> {
    const binds = spec.mounts.filter((m) => m.type === 'bind');
    if (binds.length)
      throw new UnprocessableError(
        `storage_config.mounts: a VM can't mount a host path (${binds[0].target}); use a named volume, which becomes a disk`,
      );
    const volumes = spec.mounts.filter((m) => m.type === 'volume');
    if (!volumes.length) return [];
    const vols = await this.host.volumes();
    const out = [];
    for (const m of volumes) {
      // m.source is the gateway's name for the volume (hangar-vol-<id>), never a user's.
      const volume = `${m.source}.qcow2`;
      if (!vols.includes(volume))
        await this.host.virsh.act([
          'vol-create-as',
          this.host.o.pool,
          volume,
          `${m.size_gb ?? this.host.o.data_disk_gb}G`,
          '--format',
          'qcow2',
        ]);
      // virtio-blk serials hold at most 20 characters: a digest of the name, stable across envs.
      const serial = `hv-${crypto.createHash('sha256').update(m.source).digest('hex').slice(0, 16)}`;
      out.push({ volume, serial, target: m.target, readOnly: Boolean(m.read_only) });
    }
    return out;
  }

  /** vGPU: one persistent mdev instance per granted slot, named by a UUID derived from the env (so retries reuse it). */
  private async makeMdevs(spec: EnvSpec): Promise<string[]> {
    if (spec.gpus.mode !== 'vgpu') return [];
    const out: string[] = [];
    for (const [i, id] of spec.gpus.deviceIds.entries()) {
      const slot = mdevSlot(id);
      if (!slot) throw new UnprocessableError(`vGPU ${id} is not an mdev type of libvirt host '${this.host.id}'`);
      const uuid = uuidFrom(`${spec.envId}/${i}`);
      const defined = await withTempFile('hangar-mdev-', 'mdev.xml', mdevXml({ ...slot, uuid }), (file) =>
        this.host.virsh.act(['nodedev-define', file]),
      );
      const name = /Node device '([^']+)'/.exec(defined)?.[1];
      if (name) await this.host.virsh.act(['nodedev-start', name]);
      out.push(uuid);
    }
    return out;
  }
}
