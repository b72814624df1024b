// libvirt backend (deployment_mode vm): one domain per environment, named hangar-<env id>, its disk a qcow2
// overlay on a template, its first-boot configuration a cloud-init NoCloud seed, driven through virsh so that
// local (qemu:///system) and remote (qemu+ssh://…) hosts behave the same.
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Duplex, Readable } from 'node:stream';
import type { BackendInfo, PullPolicy, Snapshot, VmTemplate } from '../../../common/model';
import { ConflictError, NotFoundError, UnprocessableError } from '../../errors';
import type { GpuDevice } from '../../gpu/types';
import type { Logger } from '../../log';
import { answerWithin } from '../answerWithin';
import { parseRecord, type BackendStatus, type BootFile, type Driver, type EnvSpec, type ExecResult, type LogOptions, type ManagedObject } from '../driver';
import { connectLocal, SshHop, type SshTarget } from '../sshHop';
import { buildSeedIso } from './cloudInit';
import { ConsoleLog, consoleVolume } from './consoleLog';
import { HANGAR_NS, parseMeta, renderDomainXml, type DomainMeta, type Forward } from './domainXml';
import { GuestAgent } from './guestAgent';
import { mdevSlot, mdevXml, parseNodeDevices, pciAddressOf } from './nodedev';
import { Snapshots } from './snapshots';
import { TemplateStore, templateVolume, type TemplateImport } from './templates';
import { Virsh } from './virsh';

export interface LibvirtDriverOptions {
  id: string;
  uri: string;
  pool: string;
  ssh_key_file?: string;
  ssh_host_key?: string;
  /** kvm, qemu (TCG: software emulation), or auto: kvm when `virsh domcapabilities` offers it. */
  virt_type: 'auto' | 'kvm' | 'qemu';
  /** 'user' (user-mode networking, ports forwarded on forward_address) or a libvirt network's name. */
  network: string;
  /** User-mode networking: keep guests from opening connections out of the VM (forwarded ports still reach them). */
  restrict_network: boolean;
  forward_address: string;
  forward_port_range: { from: number; to: number };
  boot_timeout_s: number;
  /** Under KVM a booting guest prints on its serial console within seconds: silence this long means it hangs (a
   *  host that offers KVM but can't run it, e.g. nested without vmx/svm). Not applied to TCG, which is just slow. */
  silent_console_timeout_s: number;
  shutdown_timeout_s: number;
  default_vcpus: number;
  default_memory_mb: number;
  data_disk_gb: number;
  virsh?: string;
  gatewayId: string;
  log: Logger;
}

/** Guest ports reached through the tunnel when the image offers them. */
const SSH_PORT = 22;
const RDP_PORT = 3389;
/** The env's sshd listens here in a VM, so the image's own sshd (port 22, with keys of its own) is never what the
 *  tunnel reaches: only forwarded ports reach a user-mode-networked VM. The tunnel's port 22 maps to it. */
const GUEST_SSH_PORT = 2222;
const JUPYTER_PORT = 8888;
const VNC_PORT = 5901;

const domainName = (envId: string) => `hangar-${envId}`;

export class LibvirtDriver implements Driver {
  readonly kind = 'libvirt' as const;
  readonly id: string;
  readonly readyTimeoutMs: number;
  readonly virsh: Virsh;
  readonly templates: TemplateStore;
  private readonly agent: GuestAgent;
  private readonly console: ConsoleLog;
  private readonly snaps: Snapshots;
  private readonly ssh?: SshHop;
  private readonly metas = new Map<string, DomainMeta>();
  private readonly startedAt = new Map<string, number>();
  private poolPathP?: Promise<string>;
  private virtTypeP?: Promise<{ type: 'kvm' | 'qemu'; why: string }>;
  private portLock: Promise<unknown> = Promise.resolve();
  /** Forward ports handed out but not yet in a defined domain's metadata. */
  private readonly reservedPorts = new Set<number>();
  private versionP?: Promise<string>;

  constructor(private readonly o: LibvirtDriverOptions) {
    this.id = o.id;
    this.readyTimeoutMs = o.boot_timeout_s * 1000;
    this.virsh = new Virsh({ uri: o.uri, backendId: o.id, bin: o.virsh });
    this.templates = new TemplateStore(this.virsh, o.pool, o.id);
    this.agent = new GuestAgent(this.virsh);
    this.snaps = new Snapshots(this.virsh);
    const target = sshTargetOf(o.uri, o.ssh_key_file);
    if (target) {
      this.ssh = new SshHop(o.id, { ...target, hostKey: o.ssh_host_key });
      if (!o.ssh_host_key) o.log.warn({ backend: o.id }, `the SSH host key of ${target.host} is not verified for tunnels: set ssh_host_key`);
    }
    this.console = new ConsoleLog(this.virsh, o.pool, () => this.poolPath(), Boolean(target));
  }

  private poolPath(): Promise<string> {
    this.poolPathP ??= this.virsh.run(['pool-dumpxml', this.o.pool]).then((xml) => {
      const m = /<target>\s*<path>([^<]+)<\/path>/.exec(xml);
      if (!m) throw new UnprocessableError(`storage pool '${this.o.pool}' on backend '${this.id}' has no target path (use a directory pool)`);
      return m[1];
    }).catch((err) => { this.poolPathP = undefined; throw err; });
    return this.poolPathP;
  }

  /** kvm when configured, or when libvirt offers it and the host CPU has vmx/svm; the reason is reported by info().
   *  (A nested host can have /dev/kvm, and libvirt then offers kvm, while guests can't run: no vmx/svm there.) */
  private virtType(): Promise<{ type: 'kvm' | 'qemu'; why: string }> {
    if (this.o.virt_type !== 'auto') return Promise.resolve({ type: this.o.virt_type, why: 'configured' });
    this.virtTypeP ??= (async () => {
      const dom = await this.virsh.run(['domcapabilities', '--virttype', 'kvm', '--arch', 'x86_64']).catch((err: Error) => err);
      if (dom instanceof Error) return { type: 'qemu' as const, why: `kvm not available: ${dom.message}` };
      if (!/<domain>kvm<\/domain>/.test(dom)) return { type: 'qemu' as const, why: 'kvm not offered by libvirt' };
      const host = /<host>[\s\S]*?<\/cpu>/.exec(await this.virsh.run(['capabilities']))?.[0] ?? '';
      if (!/<feature name='(vmx|svm)'\/>/.test(host)) return { type: 'qemu' as const, why: 'kvm offered, but the host CPU has no vmx/svm (nested?)' };
      return { type: 'kvm' as const, why: 'offered by libvirt, vmx/svm present' };
    })().catch((err) => { this.virtTypeP = undefined; throw err; });
    return this.virtTypeP;
  }

  async info(): Promise<BackendInfo> {
    const base = { id: this.id, kind: this.kind, url: this.o.uri };
    await answerWithin(this.id, 5000, this.virsh.run(['uri'])); // reachability: a cheap call
    // `virsh version` asks the hypervisor (seconds): once per process.
    this.versionP ??= this.virsh.run(['version']).catch((err) => { this.versionP = undefined; throw err; });
    const v = await this.versionP;
    const lib = /Using API: QEMU ([\d.]+)/.exec(v)?.[1] ?? /library: libvirt ([\d.]+)/.exec(v)?.[1];
    const hv = /Running hypervisor: (.+)/.exec(v)?.[1]?.trim();
    const vt = await this.virtType();
    return { ...base, available: true, version: `libvirt ${lib ?? '?'}, ${hv ?? 'hypervisor ?'}, guests: ${vt.type === 'qemu' ? 'qemu (TCG)' : 'kvm'} (${vt.why})` };
  }

  /** An env's image names a template on this host. */
  async ensureImage(image: string, policy: PullPolicy): Promise<void> {
    void policy; // templates are imported explicitly; there is nothing to pull
    if (!(await this.templates.get(image))) {
      const names = (await this.templates.list()).map((t) => t.name).join(', ') || 'none';
      throw new UnprocessableError(`template '${image}' is not on backend '${this.id}' (templates there: ${names}); import it with \`hangar templates import\``, 'image_unavailable');
    }
  }

  // ---- create ----------------------------------------------------------------------------------------------

  async create(spec: EnvSpec, signal?: AbortSignal): Promise<string> {
    const ref = domainName(spec.envId);
    if (await this.domainExists(ref)) return ref;
    const tmpl = await this.templates.get(spec.image);
    if (!tmpl) throw new UnprocessableError(`template '${spec.image}' is not on backend '${this.id}'`, 'image_unavailable');
    // A crash between making volumes and defining the domain leaves volumes: start from nothing.
    await this.removeVolumes(ref);
    let forwards: Forward[] = [];
    try {
      const poolPath = await this.poolPath();
      const disk = `${ref}.qcow2`;
      await this.virsh.act(['vol-create-as', this.o.pool, disk, `${tmpl.disk_bytes}b`, '--format', 'qcow2',
        '--backing-vol', templateVolume(tmpl.name, 'qcow2'), '--backing-vol-format', 'qcow2']);
      const vncFile = spec.files.find((f) => f.path === '/.hangar/vnc_password');
      const seedFiles = spec.files.filter((f) => f !== vncFile) // the VM's own display serves VNC, not a guest Xvnc
        .map((f) => (f.path === '/.hangar/sshd_config' ? { ...f, content: f.content.toString().replace(/^Port 22$/m, `Port ${GUEST_SSH_PORT}`) } : f));
      const dataDisks = await this.dataDisks(spec);
      const seedVol = `${ref}-seed.qcow2`;
      const seed = await buildSeedIso({
        instanceId: spec.envId, hostname: spec.name, files: seedFiles, command: spec.command,
        disks: dataDisks.map((d) => ({ serial: d.serial, target: d.target, readOnly: d.readOnly })),
      });
      try {
        const size = (await fsp.stat(seed.file)).size;
        await this.virsh.act(['vol-create-as', this.o.pool, seedVol, `${size}b`, '--format', 'raw']);
        await this.virsh.upload(this.o.pool, seedVol, seed.file, signal);
      } finally {
        await seed.cleanup();
      }
      const vnc = spec.ports.find((p) => p.container_port === VNC_PORT && p.host_port);
      forwards = await this.allocateForwards(tmpl.access.includes('rdp') && !spec.ports.some((p) => p.container_port === RDP_PORT)
        ? { ...spec, ports: [...spec.ports, { container_port: RDP_PORT }] } : spec, vnc?.host_port ?? null);
      const mdevs = await this.makeMdevs(spec);
      const meta: DomainMeta = {
        envId: spec.envId, envName: spec.name, owner: spec.owner, gateway: this.o.gatewayId, backend: this.id, template: tmpl.name,
        forwards, vncPort: vnc?.host_port ?? null, mdevs, ...(spec.record ? { record: JSON.stringify(spec.record) } : {}),
      };
      const xml = renderDomainXml({
        name: ref, title: spec.name, virtType: (await this.virtType()).type,
        vcpus: Math.max(1, Math.ceil(spec.cpu ?? this.o.default_vcpus)), memoryMb: spec.memoryMb ?? this.o.default_memory_mb,
        pool: this.o.pool, disk, seed: seedVol, dataDisks,
        boot: tmpl.firmware === 'direct-kernel'
          ? { kind: 'direct-kernel', kernel: path.join(poolPath, templateVolume(tmpl.name, 'vmlinuz')), initrd: path.join(poolPath, templateVolume(tmpl.name, 'initrd')), cmdline: tmpl.cmdline }
          : { kind: tmpl.firmware },
        network: this.o.network, restrictNetwork: this.o.restrict_network, forwardAddress: this.o.forward_address,
        consoleLog: path.join(poolPath, consoleVolume(ref)),
        graphics: vnc && vncFile ? { port: vnc.host_port!, password: vncFile.content.toString().trim(), listen: this.o.forward_address } : null,
        pciHostdevs: spec.gpus.mode === 'exclusive' ? spec.gpus.deviceIds.map((id) => {
          const a = pciAddressOf(id);
          if (!a) throw new UnprocessableError(`GPU ${id} is not a PCI device of libvirt host '${this.id}'`);
          return a;
        }) : [],
        mdevHostdevs: mdevs,
        meta,
      });
      await this.defineXml(xml);
      this.metas.set(ref, meta);
      return ref;
    } catch (err) {
      await this.delete(ref).catch(() => undefined);
      throw err;
    } finally {
      for (const f of forwards) this.reservedPorts.delete(f.host);
    }
  }

  /** Named volumes become data disks (qcow2 in the pool, made on first use, kept when the env is deleted, like a
   *  Docker named volume); host paths can't be given to a VM. */
  private async dataDisks(spec: EnvSpec): Promise<{ volume: string; serial: string; target: string; readOnly: boolean }[]> {
    const binds = spec.mounts.filter((m) => m.type !== 'volume');
    if (binds.length) throw new UnprocessableError(`storage_config.mounts: a VM can't mount a host path (${binds[0].target}); use a named volume, which becomes a disk`);
    if (!spec.mounts.length) return [];
    await this.virsh.refreshPool(this.o.pool);
    const vols = (await this.virsh.run(['vol-list', '--pool', this.o.pool])).split('\n').map((l) => l.trim().split(/\s+/)[0]);
    const out = [];
    for (const m of spec.mounts) {
      // m.source is the gateway's name for the volume (hangar-vol-<id>), never a user's.
      const volume = `${m.source}.qcow2`;
      if (!vols.includes(volume)) await this.virsh.act(['vol-create-as', this.o.pool, volume, `${m.size_gb ?? this.o.data_disk_gb}G`, '--format', 'qcow2']);
      // virtio-blk serials hold at most 20 characters: a digest of the name, stable across envs.
      const serial = `hv-${crypto.createHash('sha256').update(m.source).digest('hex').slice(0, 16)}`;
      out.push({ volume, serial, target: m.target, readOnly: Boolean(m.read_only) });
    }
    return out;
  }

  private async defineXml(xml: string): Promise<void> {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'hangar-dom-'));
    try {
      await fsp.writeFile(path.join(dir, 'domain.xml'), xml, { mode: 0o600 }); // holds the VNC password
      await this.virsh.act(['define', path.join(dir, 'domain.xml')]);
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  }

  /** Host ports for the guest's SSH (always), Jupyter and the env's published ports; unique among this host's VMs. */
  private allocateForwards(spec: EnvSpec, vncHostPort: number | null): Promise<Forward[]> {
    if (this.o.network !== 'user') return Promise.resolve([]);
    const run = async (): Promise<Forward[]> => {
      const used = new Set<number>();
      // Every gateway's VMs on this host count: their forwards bind the same host addresses.
      for (const { meta } of await this.hangarDomains()) {
        for (const f of meta.forwards) used.add(f.host);
      }
      for (const port of this.reservedPorts) used.add(port);
      if (vncHostPort) used.add(vncHostPort);
      const wanted: Forward[] = spec.ports.filter((p) => p.container_port !== VNC_PORT && p.host_port).map((p) => ({ guest: p.container_port, host: p.host_port! }));
      for (const w of wanted) used.add(w.host);
      const guestPorts = [GUEST_SSH_PORT, ...(spec.files.some((f) => f.path === '/.hangar/jupyter_token') ? [JUPYTER_PORT] : []),
        ...spec.ports.filter((p) => p.container_port !== VNC_PORT && !p.host_port).map((p) => p.container_port)];
      let next = this.o.forward_port_range.from;
      for (const guest of guestPorts) {
        if (wanted.some((w) => w.guest === guest)) continue;
        // Skip ports something else on this host already listens on (only checkable beside the gateway).
        while ((used.has(next) || (!this.ssh && !(await portIsFree(this.o.forward_address, next)))) && next <= this.o.forward_port_range.to) next++;
        if (next > this.o.forward_port_range.to) throw new ConflictError(`no free forward port on backend '${this.id}' (range ${this.o.forward_port_range.from}-${this.o.forward_port_range.to} is full)`);
        wanted.push({ guest, host: next });
        used.add(next);
      }
      for (const w of wanted) this.reservedPorts.add(w.host);
      return wanted;
    };
    // One allocation at a time in this process; ports stay reserved until the domain's metadata records them.
    const p = this.portLock.then(run, run);
    this.portLock = p.catch(() => undefined);
    return p;
  }

  /** vGPU: one persistent mdev instance per granted slot, named by a UUID derived from the env (so retries reuse it). */
  private async makeMdevs(spec: EnvSpec): Promise<string[]> {
    if (spec.gpus.mode !== 'vgpu') return [];
    const out: string[] = [];
    for (const [i, id] of spec.gpus.deviceIds.entries()) {
      const slot = mdevSlot(id);
      if (!slot) throw new UnprocessableError(`vGPU ${id} is not an mdev type of libvirt host '${this.id}'`);
      const uuid = uuidFrom(`${spec.envId}/${i}`);
      const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'hangar-mdev-'));
      try {
        await fsp.writeFile(path.join(dir, 'mdev.xml'), mdevXml({ ...slot, uuid }));
        const out1 = await this.virsh.act(['nodedev-define', path.join(dir, 'mdev.xml')]);
        const name = /Node device '([^']+)'/.exec(out1)?.[1];
        if (name) await this.virsh.act(['nodedev-start', name]);
      } finally {
        await fsp.rm(dir, { recursive: true, force: true });
      }
      out.push(uuid);
    }
    return out;
  }

  // ---- lifecycle -------------------------------------------------------------------------------------------

  private async domainExists(ref: string): Promise<boolean> {
    return this.virsh.run(['domstate', ref]).then(() => true, (err) => {
      if (err instanceof NotFoundError) return false;
      throw err;
    });
  }

  async start(ref: string): Promise<void> {
    await this.virsh.act(['start', ref]).catch((err) => {
      if (!/already active/.test((err as Error).message)) throw err;
    });
    this.startedAt.set(ref, Date.now());
  }

  /** ACPI shutdown, then destroy when the guest hasn't powered off in time. */
  async stop(ref: string, timeoutS: number): Promise<void> {
    const wait = Math.max(timeoutS, this.o.shutdown_timeout_s) * 1000;
    this.startedAt.delete(ref);
    if ((await this.domState(ref)).state !== 'running') return;
    await this.virsh.run(['shutdown', ref, '--mode', 'acpi']).catch((err) => {
      if (!/not running/.test((err as Error).message)) throw err;
    });
    const deadline = Date.now() + wait;
    while (Date.now() < deadline) {
      if ((await this.domState(ref)).state !== 'running') return;
      await sleep(500);
    }
    this.o.log.warn({ ref, backend: this.id }, `guest did not power off within ${wait / 1000} s: destroying it`);
    await this.virsh.run(['destroy', ref]).catch((err) => {
      if (!/not running/.test((err as Error).message)) throw err;
    });
  }

  async restart(ref: string, timeoutS: number): Promise<void> {
    await this.stop(ref, timeoutS);
    await this.start(ref);
  }

  /** Domain, overlay, seed, console log, snapshots and mdev instances: nothing of the env stays on the host. */
  async delete(ref: string): Promise<void> {
    const meta = await this.meta(ref).catch(() => undefined);
    if (await this.domainExists(ref)) {
      await this.virsh.run(['destroy', ref]).catch(() => undefined);
      // Internal snapshots live inside the overlay (removed below); their metadata goes with the domain.
      await this.virsh.run(['undefine', ref, '--snapshots-metadata', '--managed-save', '--nvram']).catch((err) => {
        if (!(err instanceof NotFoundError)) throw err;
      });
    }
    for (const uuid of meta?.mdevs ?? []) {
      const name = (await this.virsh.run(['nodedev-list', '--cap', 'mdev', '--all']).catch(() => '')).split('\n').map((l) => l.trim()).find((n) => n.includes(uuid.replace(/-/g, '_')));
      if (name) {
        await this.virsh.run(['nodedev-destroy', name]).catch(() => undefined);
        await this.virsh.run(['nodedev-undefine', name]).catch(() => undefined);
      }
    }
    await this.removeVolumes(ref);
    this.metas.delete(ref);
    this.startedAt.delete(ref);
  }

  private async removeVolumes(ref: string): Promise<void> {
    await this.virsh.refreshPool(this.o.pool);
    const vols = (await this.virsh.run(['vol-list', '--pool', this.o.pool])).split('\n').map((l) => l.trim().split(/\s+/)[0]).filter(Boolean);
    for (const v of vols.filter((x) => x === `${ref}.qcow2` || x.startsWith(`${ref}-`))) {
      await this.virsh.run(['vol-delete', '--pool', this.o.pool, v]).catch((err) => {
        if (!(err instanceof NotFoundError)) throw err;
      });
    }
  }

  private async domState(ref: string): Promise<BackendStatus> {
    const out = (await this.virsh.run(['domstate', ref, '--reason'])).trim();
    const [, state, reason] = /^(.+?)(?: \((.+)\))?$/.exec(out) ?? [];
    switch (state) {
      case 'running': case 'paused': case 'in shutdown': case 'pmsuspended': case 'blocked':
        return { state: 'running', message: reason };
      case 'crashed':
        return { state: 'failed', message: `guest crashed${reason ? ` (${reason})` : ''}` };
      case 'shut off':
        if (reason === 'failed') return { state: 'failed', message: 'the domain failed to start' };
        if (reason === 'crashed') return { state: 'failed', message: 'guest crashed' };
        // "unknown": defined, never started since libvirtd knew it.
        return { state: reason === 'unknown' && !this.startedAt.has(ref) ? 'created' : 'stopped', message: reason };
      default:
        return { state: 'stopped', message: out };
    }
  }

  async inspect(ref: string): Promise<BackendStatus> {
    try {
      const st = await this.domState(ref);
      if (st.state === 'running') {
        // Under a hypervisor that can't run the guest (KVM offered but unusable) the VM "runs" and prints nothing.
        const since = this.startedAt.get(ref);
        const limit = this.o.silent_console_timeout_s;
        if (since && Date.now() - since > limit * 1000 && (await this.virtType()).type === 'kvm' && (await this.console.size(ref)) === 0) {
          return { state: 'failed', message: `the VM printed nothing on its serial console in ${limit} s under KVM: it hangs (on a host without usable KVM, e.g. nested virtualisation, set virt_type: qemu)` };
        }
      }
      return st;
    } catch (err) {
      if (err instanceof NotFoundError) {
        // Volumes without a domain: a create cut short (recreated by the next provision).
        return (await this.hasVolumes(ref)) ? { state: 'created', message: 'volumes without a domain' } : { state: 'missing' };
      }
      throw err;
    }
  }

  private async hasVolumes(ref: string): Promise<boolean> {
    await this.virsh.refreshPool(this.o.pool);
    const vols = await this.virsh.run(['vol-list', '--pool', this.o.pool]);
    return vols.split('\n').some((l) => l.trim().startsWith(ref));
  }

  private async meta(ref: string): Promise<DomainMeta> {
    const cached = this.metas.get(ref);
    if (cached) return cached;
    const m = parseMeta(await this.virsh.run(['metadata', ref, '--uri', HANGAR_NS]).catch((err) => {
      if (/metadata not found|does not exist/i.test((err as Error).message)) return '';
      throw err;
    }));
    if (!m) throw new NotFoundError('environment domain', ref);
    this.metas.set(ref, m);
    return m;
  }

  /** Our domains on this host (this gateway's and backend's), with their metadata. */
  private async ourDomains(): Promise<{ ref: string; meta: DomainMeta; state: string }[]> {
    return (await this.hangarDomains()).filter((d) => d.meta.gateway === this.o.gatewayId && d.meta.backend === this.id);
  }

  /** Every Hangar domain on this host, whichever gateway made it (they share its ports and templates). */
  private async hangarDomains(): Promise<{ ref: string; meta: DomainMeta; state: string }[]> {
    const rows = (await this.virsh.run(['list', '--all'])).split('\n').map((l) => l.trim()).filter(Boolean);
    const out = [];
    for (const row of rows) {
      const m = /^(\S+)\s+(\S+)\s+(.+)$/.exec(row); // Id Name State
      if (!m || !m[2].startsWith('hangar-')) continue;
      const [, , name, state] = m;
      const meta = await this.meta(name).catch(() => undefined);
      if (meta) out.push({ ref: name, meta, state: state.trim() });
    }
    return out;
  }

  async list(): Promise<ManagedObject[]> {
    const out: ManagedObject[] = [];
    for (const d of await this.ourDomains()) {
      out.push({ ref: d.ref, envId: d.meta.envId, state: d.state === 'running' || d.state === 'paused' ? 'running' : 'stopped', record: parseRecord(d.meta.record) });
    }
    return out;
  }

  async findByEnvId(envId: string): Promise<string | undefined> {
    const ref = domainName(envId);
    if (await this.domainExists(ref)) return ref;
    return (await this.hasVolumes(ref)) ? ref : undefined;
  }

  /** Ready when the guest answers the way its template says it will: the env's sshd (cloud-init templates), an RDP
   *  listener (Windows templates), or just running (a VNC-only image). */
  async readiness(ref: string): Promise<'ssh' | 'rdp' | 'running'> {
    const tmpl = await this.templates.get((await this.meta(ref)).template);
    return !tmpl || tmpl.cloud_init ? 'ssh' : tmpl.access.includes('rdp') ? 'rdp' : 'running';
  }

  // ---- console, ports, guest agent -------------------------------------------------------------------------

  logs(ref: string, opts: LogOptions): Promise<Readable> {
    return this.console.stream(ref, opts);
  }

  async openPort(ref: string, port: number): Promise<Duplex> {
    const meta = await this.meta(ref);
    let host = this.o.forward_address;
    let hostPort: number | undefined;
    if (port === VNC_PORT && meta.vncPort) hostPort = meta.vncPort;
    else if (this.o.network === 'user') hostPort = meta.forwards.find((f) => f.guest === (port === SSH_PORT ? GUEST_SSH_PORT : port))?.host;
    else {
      host = await this.guestAddress(ref);
      hostPort = port === SSH_PORT ? GUEST_SSH_PORT : port;
    }
    if (!hostPort) throw new UnprocessableError(`port ${port} of this VM is not reachable: forwarded ports are ${meta.forwards.map((f) => (f.guest === GUEST_SSH_PORT ? SSH_PORT : f.guest)).join(', ')}`);
    return this.ssh ? this.ssh.forward(host, hostPort) : connectLocal(host, hostPort);
  }

  /** On a libvirt network: the guest's address from DHCP leases, or from the guest agent. */
  private async guestAddress(ref: string): Promise<string> {
    for (const source of ['lease', 'agent']) {
      const out = await this.virsh.run(['domifaddr', ref, '--source', source]).catch(() => '');
      const ip = /ipv4\s+([\d.]+)\//.exec(out)?.[1];
      if (ip) return ip;
    }
    throw new UnprocessableError('the VM has no IPv4 address yet');
  }

  exec(ref: string, cmd: string[], opts: { user?: string; stdin?: string } = {}): Promise<ExecResult> {
    return this.agent.exec(ref, opts.user ? ['runuser', '-u', opts.user, '--', ...cmd] : cmd, opts.stdin);
  }

  writeFiles(ref: string, files: BootFile[]): Promise<void> {
    return this.agent.writeFiles(ref, files);
  }

  // ---- snapshots -------------------------------------------------------------------------------------------

  snapshot(ref: string, name: string, description?: string): Promise<Snapshot> {
    return this.snaps.create(ref, name, description);
  }

  snapshots(ref: string): Promise<Snapshot[]> {
    return this.snaps.list(ref);
  }

  async revertSnapshot(ref: string, name: string): Promise<void> {
    await this.snaps.revert(ref, name);
    this.startedAt.delete(ref); // resumed from memory or left off: not booting either way
    // A guest resumed from memory has the snapshot's clock: set it from the host through the guest agent.
    if ((await this.domState(ref)).state === 'running') {
      await this.virsh.run(['domtime', ref, '--sync']).catch((err) => this.o.log.warn({ ref, err: String(err) }, 'guest clock not synced after revert'));
    }
  }

  deleteSnapshot(ref: string, name: string): Promise<void> {
    return this.snaps.delete(ref, name);
  }

  // ---- templates and GPUs ----------------------------------------------------------------------------------

  async listTemplates(): Promise<VmTemplate[]> {
    const used = new Map<string, string[]>();
    for (const d of await this.ourDomains()) used.set(d.meta.template, [...(used.get(d.meta.template) ?? []), d.meta.envName]);
    return (await this.templates.list()).map((t) => ({ ...t, used_by: used.get(t.name) ?? [] }));
  }

  importTemplate(req: TemplateImport, signal?: AbortSignal): Promise<VmTemplate> {
    return this.templates.import(req, signal);
  }

  async deleteTemplate(name: string): Promise<void> {
    // Every domain on the host counts, other gateways' too: their overlays need the base image as much as ours.
    await this.templates.delete(name, (await this.hangarDomains()).filter((d) => d.meta.template === name).map((d) => d.meta.envName));
  }

  /** NVIDIA PCI functions (passthrough) and their mdev types (vGPU), from libvirt's node devices. */
  async inventory(): Promise<GpuDevice[]> {
    const pci = (await this.virsh.run(['nodedev-list', '--cap', 'pci'])).split('\n').map((l) => l.trim()).filter(Boolean);
    const mdev = (await this.virsh.run(['nodedev-list', '--cap', 'mdev']).catch(() => '')).split('\n').map((l) => l.trim()).filter(Boolean);
    let xml = '';
    for (const n of [...pci, ...mdev]) xml += await this.virsh.run(['nodedev-dumpxml', n]);
    return parseNodeDevices(xml, this.id, this.ssh?.target.host ?? this.id);
  }

  async close(): Promise<void> {
    await this.ssh?.close();
  }
}

/** qemu+ssh://user@host:port/system → the same host for the tunnel's SSH hop; undefined for local URIs. */
export function sshTargetOf(uri: string, keyFile?: string): SshTarget | undefined {
  const u = new URL(uri);
  if (!u.protocol.includes('+ssh')) return undefined;
  const key = keyFile ?? u.searchParams.get('keyfile') ?? undefined;
  return {
    host: u.hostname, port: Number(u.port || 22), username: decodeURIComponent(u.username || os.userInfo().username),
    privateKey: key ? fs.readFileSync(key) : undefined,
  };
}

/** Whether nothing listens on address:port yet (a bind that succeeds, then closes). */
function portIsFree(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, address, () => srv.close(() => resolve(true)));
  });
}

function uuidFrom(seed: string): string {
  const h = crypto.createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
