// One libvirt host as the driver's parts see it: virsh, the pool, the virtualisation type, and our domains
// (their metadata, state and volumes).
import fs from 'node:fs';
import os from 'node:os';
import { NotFoundError, UnprocessableError } from '../../errors';
import type { Logger } from '../../log';
import type { BackendStatus } from '../../contract';
import { SshHop, type SshTarget } from '../shared/sshHop';
import { HANGAR_NS, parseMeta, type DomainMeta } from './domainXml';
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

/** The env's sshd listens here in a VM, so the image's own sshd (port 22, with keys of its own) is never what the
 *  tunnel reaches: only forwarded ports reach a user-mode-networked VM. The tunnel's port 22 maps to it. */
export const GUEST_SSH_PORT = 2222;

export const domainName = (envId: string) => `hangar-${envId}`;

export interface HangarDomain {
  ref: string;
  meta: DomainMeta;
  state: string;
}

export class LibvirtHost {
  readonly id: string;
  readonly virsh: Virsh;
  readonly ssh?: SshHop;
  readonly metas = new Map<string, DomainMeta>();
  /** When each domain was last started by this process (a silent console is judged from it). */
  readonly startedAt = new Map<string, number>();
  private poolPathP?: Promise<string>;
  private virtTypeP?: Promise<{ type: 'kvm' | 'qemu'; why: string }>;

  constructor(readonly o: LibvirtDriverOptions) {
    this.id = o.id;
    this.virsh = new Virsh({ uri: o.uri, backendId: o.id, bin: o.virsh });
    const target = sshTargetOf(o.uri, o.ssh_key_file);
    if (target) {
      this.ssh = new SshHop(o.id, { ...target, hostKey: o.ssh_host_key });
      if (!o.ssh_host_key)
        o.log.warn(
          { backend: o.id },
          `the SSH host key of ${target.host} is not verified for tunnels: set ssh_host_key`,
        );
    }
  }

  poolPath(): Promise<string> {
    this.poolPathP ??= this.virsh
      .run(['pool-dumpxml', this.o.pool])
      .then((xml) => {
        const m = /<target>\s*<path>([^<]+)<\/path>/.exec(xml);
        if (!m)
          throw new UnprocessableError(
            `storage pool '${this.o.pool}' on backend '${this.id}' has no target path (use a directory pool)`,
          );
        return m[1];
      })
      .catch((err) => {
        this.poolPathP = undefined;
        throw err;
      });
    return this.poolPathP;
  }

  /** kvm when configured, or when libvirt offers it and the host CPU has vmx/svm; the reason is reported by info().
   *  (A nested host can have /dev/kvm, and libvirt then offers kvm, while guests can't run: no vmx/svm there.) */
  virtType(): Promise<{ type: 'kvm' | 'qemu'; why: string }> {
    if (this.o.virt_type !== 'auto') return Promise.resolve({ type: this.o.virt_type, why: 'configured' });
    this.virtTypeP ??= (async () => {
      const dom = await this.virsh
        .run(['domcapabilities', '--virttype', 'kvm', '--arch', 'x86_64'])
        .catch((err: Error) => err);
      if (dom instanceof Error) return { type: 'qemu' as const, why: `kvm not available: ${dom.message}` };
      if (!/<domain>kvm<\/domain>/.test(dom)) return { type: 'qemu' as const, why: 'kvm not offered by libvirt' };
      const host = /<host>[\s\S]*?<\/cpu>/.exec(await this.virsh.run(['capabilities']))?.[0] ?? '';
      if (!/<feature name='(vmx|svm)'\/>/.test(host))
        return { type: 'qemu' as const, why: 'kvm offered, but the host CPU has no vmx/svm (nested?)' };
      return { type: 'kvm' as const, why: 'offered by libvirt, vmx/svm present' };
    })().catch((err) => {
      this.virtTypeP = undefined;
      throw err;
    });
    return this.virtTypeP;
  }

  async domainExists(ref: string): Promise<boolean> {
    return this.virsh.run(['domstate', ref]).then(
      () => true,
      (err) => {
        if (err instanceof NotFoundError) return false;
        throw err;
      },
    );
  }

  async domState(ref: string): Promise<BackendStatus> {
    const out = (await this.virsh.run(['domstate', ref, '--reason'])).trim();
    const [, state, reason] = /^(.+?)(?: \((.+)\))?$/.exec(out) ?? [];
    switch (state) {
      case 'running':
      case 'paused':
      case 'in shutdown':
      case 'pmsuspended':
      case 'blocked':
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

  /** The pool's volume names (after a refresh: files made outside libvirt count). */
  async volumes(): Promise<string[]> {
    await this.virsh.refreshPool(this.o.pool);
    return (await this.virsh.run(['vol-list', '--pool', this.o.pool]))
      .split('\n')
      .map((l) => l.trim().split(/\s+/)[0])
      .filter(Boolean);
  }

  async hasVolumes(ref: string): Promise<boolean> {
    return (await this.volumes()).some((v) => v.startsWith(ref));
  }

  async removeVolumes(ref: string): Promise<void> {
    for (const v of (await this.volumes()).filter((x) => x === `${ref}.qcow2` || x.startsWith(`${ref}-`))) {
      await this.virsh.run(['vol-delete', '--pool', this.o.pool, v]).catch((err) => {
        if (!(err instanceof NotFoundError)) throw err;
      });
    }
  }

  async meta(ref: string): Promise<DomainMeta> {
    const cached = this.metas.get(ref);
    if (cached) return cached;
    const m = parseMeta(
      await this.virsh.run(['metadata', ref, '--uri', HANGAR_NS]).catch((err) => {
        if (/metadata not found|does not exist/i.test((err as Error).message)) return '';
        throw err;
      }),
    );
    if (!m) throw new NotFoundError('environment domain', ref);
    this.metas.set(ref, m);
    return m;
  }

  /** Our domains on this host (this gateway's and backend's), with their metadata. */
  async ourDomains(): Promise<HangarDomain[]> {
    return (await this.hangarDomains()).filter(
      (d) => d.meta.gateway === this.o.gatewayId && d.meta.backend === this.id,
    );
  }

  /** Every Hangar domain on this host, whichever gateway made it (they share its ports and templates). */
  async hangarDomains(): Promise<HangarDomain[]> {
    const rows = (await this.virsh.run(['list', '--all']))
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
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
}

/** qemu+ssh://user@host:port/system → the same host for the tunnel's SSH hop; undefined for local URIs. */
export function sshTargetOf(uri: string, keyFile?: string): SshTarget | undefined {
  const u = new URL(uri);
  if (!u.protocol.includes('+ssh')) return undefined;
  const key = keyFile ?? u.searchParams.get('keyfile') ?? undefined;
  return {
    host: u.hostname,
    port: Number(u.port || 22),
    username: decodeURIComponent(u.username || os.userInfo().username),
    privateKey: key ? fs.readFileSync(key) : undefined,
  };
}
