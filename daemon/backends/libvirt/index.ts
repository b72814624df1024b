// libvirt backend (deployment_mode vm): one domain per environment, named hangar-<env id>, its disk a qcow2
// overlay on a template, its first-boot configuration a cloud-init NoCloud seed, driven through virsh so that
// local (qemu:///system) and remote (qemu+ssh://…) hosts behave the same. This file wires the parts: the host
// (host.ts), create.ts, forwards.ts, lifecycle.ts, templates.ts, snapshots.ts, the console and the guest agent.
import type { Duplex, Readable } from 'node:stream';
import type { BackendInfo, PullPolicy, VmTemplate } from '../../../common/model';
import { UnprocessableError } from '../../errors';
import {
  parseRecord,
  SSH_PORT,
  VNC_PORT,
  type BackendStatus,
  type BootFile,
  type Capabilities,
  type Driver,
  type EnvSpec,
  type ExecResult,
  type GpuDevice,
  type LogOptions,
  type ManagedObject,
} from '../../contract';
import { answerWithin } from '../shared/answerWithin';
import { connectLocal } from '../shared/sshHop';
import { ConsoleLog } from './consoleLog';
import { VmCreate } from './create';
import { ForwardPorts } from './forwards';
import { GuestAgent } from './guestAgent';
import { domainName, GUEST_SSH_PORT, LibvirtHost, type LibvirtDriverOptions } from './host';
import { VmLifecycle } from './lifecycle';
import { parseNodeDevices } from './nodedev';
import { Snapshots } from './snapshots';
import { diskSnapshots } from './diskSnapshots';
import { diskImages, vmEnvData } from './diskImages';
import { TemplateStore } from './templates';
import { libvirtVolumes } from './volumes';

export { sshTargetOf, type LibvirtDriverOptions } from './host';

export class LibvirtDriver implements Driver {
  readonly kind = 'libvirt' as const;
  readonly modes = ['vm'] as const;
  readonly id: string;
  readonly readyTimeoutMs: number;
  readonly localPublishAddress?: string;
  readonly sshPort = GUEST_SSH_PORT;
  /** Templates are whole systems with their own sshd: the agent only when an env asks for it. */
  readonly agentByDefault = false;
  private readonly templates: TemplateStore;
  private readonly host: LibvirtHost;
  private readonly agent: GuestAgent;
  private readonly console: ConsoleLog;
  private readonly snaps: Snapshots;
  private readonly creator: VmCreate;
  private readonly life: VmLifecycle;
  private versionP?: Promise<string>;
  readonly capabilities: Capabilities = {
    snapshots: {
      create: (ref, name, description) => this.snaps.create(ref, name, description),
      list: (ref) => this.snaps.list(ref),
      revert: (ref, name) => this.revertSnapshot(ref, name),
      delete: (ref, name) => this.snaps.delete(ref, name),
    },
    templates: {
      list: () => this.listTemplates(),
      import: (req, signal) => this.templates.import(req, signal),
      delete: (name) => this.deleteTemplate(name),
    },
    gpus: { inventory: () => this.inventory(), allocation: 'gateway', modes: ['exclusive', 'vgpu'] },
    readinessHint: { probe: (ref) => this.readiness(ref) },
  };

  constructor(o: LibvirtDriverOptions) {
    this.id = o.id;
    this.readyTimeoutMs = o.boot_timeout_s * 1000;
    this.host = new LibvirtHost(o);
    // A VM's display listens on the forward address of its host: checkable when that host is this machine.
    if (!this.host.ssh) this.localPublishAddress = this.host.o.forward_address;
    this.capabilities.volumes = libvirtVolumes(this.host);
    this.templates = new TemplateStore(this.host.virsh, o.pool, o.id);
    this.agent = new GuestAgent(this.host.virsh);
    this.snaps = new Snapshots(this.host.virsh);
    this.capabilities.volumeSnapshots = diskSnapshots(() => this.host.virsh, o.pool);
    this.capabilities.diskImages = diskImages(this.host);
    this.capabilities.envData = vmEnvData();
    this.console = new ConsoleLog(this.host.virsh, o.pool, () => this.host.poolPath(), Boolean(this.host.ssh));
    this.life = new VmLifecycle(this.host, this.console);
    this.creator = new VmCreate(this.host, this.templates, new ForwardPorts(this.host), (ref) => this.delete(ref));
  }

  private get virsh() {
    return this.host.virsh;
  }

  async info(): Promise<BackendInfo> {
    const base = { id: this.id, kind: this.kind, url: this.host.o.uri };
    await answerWithin(this.id, 5000, this.virsh.run(['uri'])); // reachability: a cheap call
    // `virsh version` asks the hypervisor (seconds): once per process.
    this.versionP ??= this.virsh.run(['version']).catch((err) => {
      this.versionP = undefined;
      throw err;
    });
    const v = await this.versionP;
    const lib = /Using API: QEMU ([\d.]+)/.exec(v)?.[1] ?? /library: libvirt ([\d.]+)/.exec(v)?.[1];
    const hv = /Running hypervisor: (.+)/.exec(v)?.[1]?.trim();
    const vt = await this.host.virtType();
    return {
      ...base,
      available: true,
      version: `libvirt ${lib ?? '?'}, ${hv ?? 'hypervisor ?'}, guests: ${vt.type === 'qemu' ? 'qemu (TCG)' : 'kvm'} (${vt.why})`,
    };
  }

  /** An env's image names a template on this host. */
  async ensureImage(image: string, policy: PullPolicy): Promise<void> {
    void policy; // templates are imported explicitly; there is nothing to pull
    if (!(await this.templates.get(image))) {
      const names = (await this.templates.list()).map((t) => t.name).join(', ') || 'none';
      throw new UnprocessableError(
        `template '${image}' is not on backend '${this.id}' (templates there: ${names}); import it with \`hangar templates import\``,
        'image_unavailable',
      );
    }
  }

  create(spec: EnvSpec, signal?: AbortSignal): Promise<string> {
    return this.creator.create(spec, signal);
  }
  start(ref: string): Promise<void> {
    return this.life.start(ref);
  }
  stop(ref: string, timeoutS: number): Promise<void> {
    return this.life.stop(ref, timeoutS);
  }
  async restart(ref: string, timeoutS: number): Promise<void> {
    await this.stop(ref, timeoutS);
    await this.start(ref);
  }
  delete(ref: string): Promise<void> {
    return this.life.delete(ref);
  }
  inspect(ref: string): Promise<BackendStatus> {
    return this.life.inspect(ref);
  }

  async list(): Promise<ManagedObject[]> {
    return (await this.host.ourDomains()).map((d) => ({
      ref: d.ref,
      envId: d.meta.envId,
      state: d.state === 'running' || d.state === 'paused' ? 'running' : 'stopped',
      record: parseRecord(d.meta.record),
    }));
  }

  async findByEnvId(envId: string): Promise<string | undefined> {
    const ref = domainName(envId);
    if (await this.host.domainExists(ref)) return ref;
    return (await this.host.hasVolumes(ref)) ? ref : undefined;
  }

  /** Ready when the guest answers the way its template says it will: the env's sshd (cloud-init templates), an RDP
   *  listener (Windows templates), or just running (a VNC-only image). */
  private async readiness(ref: string): Promise<'ssh' | 'rdp' | 'running'> {
    const tmpl = await this.templates.get((await this.host.meta(ref)).template);
    return !tmpl || tmpl.cloud_init ? 'ssh' : tmpl.access.includes('rdp') ? 'rdp' : 'running';
  }

  logs(ref: string, opts: LogOptions): Promise<Readable> {
    return this.console.stream(ref, opts);
  }

  async openPort(ref: string, port: number): Promise<Duplex> {
    const meta = await this.host.meta(ref);
    const guestPort = port === SSH_PORT ? GUEST_SSH_PORT : port;
    let address = this.host.o.forward_address;
    let hostPort: number | undefined;
    if (port === VNC_PORT && meta.vncPort) hostPort = meta.vncPort;
    else if (this.host.o.network === 'user') hostPort = meta.forwards.find((f) => f.guest === guestPort)?.host;
    else {
      address = await this.guestAddress(ref);
      hostPort = guestPort;
    }
    if (!hostPort)
      throw new UnprocessableError(
        `port ${port} of this VM is not reachable: forwarded ports are ${meta.forwards.map((f) => (f.guest === GUEST_SSH_PORT ? SSH_PORT : f.guest)).join(', ')}`,
      );
    return this.host.ssh ? this.host.ssh.forward(address, hostPort) : connectLocal(address, hostPort);
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

  private async revertSnapshot(ref: string, name: string): Promise<void> {
    await this.snaps.revert(ref, name);
    this.host.startedAt.delete(ref); // resumed from memory or left off: not booting either way
    // A guest resumed from memory has the snapshot's clock: set it from the host through the guest agent.
    if ((await this.host.domState(ref)).state === 'running') {
      await this.virsh
        .run(['domtime', ref, '--sync'])
        .catch((err) => this.host.o.log.warn({ ref, err: String(err) }, 'guest clock not synced after revert'));
    }
  }

  private async listTemplates(): Promise<VmTemplate[]> {
    const used = new Map<string, string[]>();
    for (const d of await this.host.ourDomains())
      used.set(d.meta.template, [...(used.get(d.meta.template) ?? []), d.meta.envName]);
    return (await this.templates.list()).map((t) => ({ ...t, used_by: used.get(t.name) ?? [] }));
  }

  private async deleteTemplate(name: string): Promise<void> {
    // Every domain on the host counts, other gateways' too: their overlays need the base image as much as ours.
    await this.templates.delete(
      name,
      (await this.host.hangarDomains()).filter((d) => d.meta.template === name).map((d) => d.meta.envName),
    );
  }

  /** NVIDIA PCI functions (passthrough) and their mdev types (vGPU), from libvirt's node devices. */
  private async inventory(): Promise<GpuDevice[]> {
    const pci = (await this.virsh.run(['nodedev-list', '--cap', 'pci']))
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    const mdev = (await this.virsh.run(['nodedev-list', '--cap', 'mdev']).catch(() => ''))
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    let xml = '';
    for (const n of [...pci, ...mdev]) xml += await this.virsh.run(['nodedev-dumpxml', n]);
    return parseNodeDevices(xml, this.id, this.host.ssh?.target.host ?? this.id);
  }

  async close(): Promise<void> {
    await this.host.ssh?.close();
  }
}
