// A test double of the backend contract (daemon/contract): an in-memory backend whose steps can fail or halt.
import { Duplex, PassThrough, type Readable } from 'node:stream';
import type { BackendInfo, PullPolicy } from '../../../common/model';
import type {
  BackendState,
  BackendStatus,
  BootFile,
  Capabilities,
  Driver,
  EnvSpec,
  ExecResult,
  GpuDevice,
  ManagedObject,
} from '../../../daemon/contract';
import { BackendUnavailableError } from '../../../daemon/errors';

export interface FakeObject {
  ref: string;
  envId: string;
  spec: EnvSpec;
  state: BackendState;
  files: BootFile[];
  message?: string;
}

/** Steps a test can intercept: `fail` throws from the step, `halt` never returns (a process that died there). */
export type Step = 'create' | 'afterCreate' | 'start' | 'afterStart' | 'stop' | 'delete' | 'info' | 'ensureImage';
type Hook = { kind: 'fail'; err: Error } | { kind: 'halt' } | { kind: 'gate'; open: Promise<void> };

export class FakeDriver implements Driver {
  readonly kind = 'docker' as const;
  readonly modes = ['docker_local'] as const;
  readonly readyTimeoutMs = 2000;
  /** Its port 22 says a banner and nothing more: no agent to ask for its sessions (the image's sshd, as it were). */
  readonly agentByDefault = false;
  readonly objects = new Map<string, FakeObject>();
  readonly calls: string[] = [];
  gpuCount = 0;
  /** Utilisation (percent) every fake GPU reports. */
  gpuUtilization = 0;
  private readonly hooks = new Map<Step, Hook>();
  private seq = 0;
  readonly capabilities: Capabilities = {
    gpus: { inventory: async () => this.devices(), allocation: 'gateway', modes: ['exclusive', 'mig', 'shared'] },
  };

  constructor(readonly id = 'fake') {}

  /** The next call of `step` throws `err` (once). */
  failAt(step: Step, err: Error = new Error(`${step} failed`)): void {
    this.hooks.set(step, { kind: 'fail', err });
  }
  /** The next call of `step` never returns (once): the caller is as good as a crashed process. */
  haltAt(step: Step): void {
    this.hooks.set(step, { kind: 'halt' });
  }
  /** The next call of `step` waits until the returned function is called. */
  gateAt(step: Step): () => void {
    let open!: () => void;
    this.hooks.set(step, {
      kind: 'gate',
      open: new Promise<void>((r) => {
        open = r;
      }),
    });
    return open;
  }
  /** While true every call that reaches the backend answers BackendUnavailableError. */
  down = false;

  private async step(s: Step): Promise<void> {
    this.calls.push(s);
    if (this.down) throw new BackendUnavailableError(this.id, 'ECONNREFUSED: fake');
    const h = this.hooks.get(s);
    if (!h) return;
    this.hooks.delete(s);
    if (h.kind === 'fail') throw h.err;
    if (h.kind === 'halt') await new Promise<never>(() => undefined);
    if (h.kind === 'gate') await h.open;
  }

  private obj(ref: string): FakeObject {
    const o = this.objects.get(ref);
    if (!o) throw new Error(`no object ${ref}`);
    return o;
  }

  private devices(): GpuDevice[] {
    const now = new Date().toISOString();
    return Array.from({ length: this.gpuCount }, (_, i) => ({
      id: `GPU-fake-${i}`,
      backend_id: this.id,
      node: 'fake-host',
      kind: 'gpu' as const,
      index: i,
      model: 'Fake GPU',
      memory_mb: 1024,
      pci_bus_id: null,
      driver: '1',
      mig_mode: 'disabled' as const,
      parent_id: null,
      profile: null,
      utilization: this.gpuUtilization,
      health: 'ok' as const,
      health_message: null,
      capacity: 1,
      used: 0,
      present: true,
      last_seen: now,
    }));
  }

  async info(): Promise<BackendInfo> {
    await this.step('info');
    return { id: this.id, kind: this.kind, url: 'fake://', available: true, version: 'fake 1' };
  }

  async ensureImage(_image: string, _policy: PullPolicy): Promise<void> {
    await this.step('ensureImage');
  }

  async create(spec: EnvSpec): Promise<string> {
    await this.step('create');
    const existing = [...this.objects.values()].find((o) => o.envId === spec.envId);
    if (existing) return existing.ref;
    const ref = `obj-${++this.seq}`;
    this.objects.set(ref, { ref, envId: spec.envId, spec, state: 'created', files: spec.files });
    await this.step('afterCreate');
    return ref;
  }

  async start(ref: string): Promise<void> {
    await this.step('start');
    this.obj(ref).state = 'running';
    await this.step('afterStart');
  }

  async stop(ref: string): Promise<void> {
    await this.step('stop');
    this.obj(ref).state = 'stopped';
  }

  async restart(ref: string): Promise<void> {
    this.calls.push('restart');
    this.obj(ref).state = 'running';
  }

  async delete(ref: string): Promise<void> {
    await this.step('delete');
    this.objects.delete(ref);
  }

  async inspect(ref: string): Promise<BackendStatus> {
    const o = this.objects.get(ref);
    return o ? { state: o.state, message: o.message } : { state: 'missing' };
  }

  async list(): Promise<ManagedObject[]> {
    await this.step('info');
    return [...this.objects.values()].map((o) => ({ ref: o.ref, envId: o.envId, state: o.state, message: o.message }));
  }

  async findByEnvId(envId: string): Promise<string | undefined> {
    return [...this.objects.values()].find((o) => o.envId === envId)?.ref;
  }

  async logs(): Promise<Readable> {
    return new PassThrough().end('fake log\n');
  }

  /** Port 22 answers like sshd when the object runs. */
  async openPort(ref: string, port: number): Promise<Duplex> {
    if (this.obj(ref).state !== 'running' || port !== 22) throw new Error(`connection refused (${port})`);
    let said = false;
    return new Duplex({
      read() {
        if (!said) {
          said = true;
          this.push('SSH-2.0-fake\r\n');
        }
      },
      write(_c, _e, cb) {
        cb();
      },
    });
  }

  async exec(): Promise<ExecResult> {
    return { exitCode: 0, stdout: '', stderr: '' };
  }

  async writeFiles(ref: string, files: BootFile[]): Promise<void> {
    const o = this.obj(ref);
    o.files = [...o.files.filter((f) => !files.some((n) => n.path === f.path)), ...files];
  }

  async close(): Promise<void> {
    /* nothing held */
  }
}
