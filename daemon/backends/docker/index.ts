// Docker backend (Engine API ≥1.41 through dockerode): one container per environment, labelled as ours.
import { PassThrough, type Duplex, type Readable } from 'node:stream';
import Dockerode from 'dockerode';
import type { BackendInfo, PullPolicy } from '../../../common/model';
import { BackendUnavailableError, NoNetworkAddressError, UnprocessableError } from '../../errors';
import type { Logger } from '../../log';
import {
  LABELS,
  parseRecord,
  type BackendStatus,
  type BootFile,
  type Capabilities,
  type Driver,
  type EnvSpec,
  type ExecResult,
  type GpuDevice,
  type LogOptions,
  type ManagedObject,
  type ProgressFn,
} from '../../contract';
import { parseList, parseQuery, QUERY_ARGS } from './nvidiaSmi';
import { answerWithin } from '../shared/answerWithin';
import { byCode, guard, SOCKET_CODES } from '../shared/call';
import { streamToBuffer } from '../shared/streams';
import { dockerOptions } from './connection';
import { connectLocal, SshHop } from '../shared/sshHop';
import { createOptions } from './hostconfig';
import { makeShareDirs } from './shareDirs';
import { createMountedVolumes, dockerVolumes, removeShareVolumes } from './volumes';
import { AgentFiles } from './agent';
import { DockerImages } from './images';
import { dockerVolumeArchive } from './volumeArchive';
import {
  bootFilesArchive,
  demuxBuffer,
  dockerMessage,
  redactMountSecrets,
  listedState,
  localExec,
  stateOf,
  statusCode,
} from './engineFormats';
export { demuxBuffer } from './engineFormats';
export interface DockerDriverOptions {
  id: string;
  url: string;
  ssh_key_file?: string;
  ssh_host_key?: string;
  publish_address: string;
  nvidia_smi: string;
  gpu_shared_replicas: number;
  allow_image_pulls?: boolean;
  gatewayId: string;
  log: Logger;
}

/** Socket errors, and ssh2's connection errors for ssh:// engines. */
export const dockerUnreachable = byCode(SOCKET_CODES, (err) => {
  const level = (err as { level?: string })?.level;
  return level === 'client-socket' || level === 'client-timeout' ? level : undefined;
});

export class DockerDriver implements Driver {
  readonly kind = 'docker' as const;
  readonly modes = ['docker_local'] as const;
  readonly readyPoll = { intervalMs: 15, factor: 1.1, maxMs: 250 };
  readonly id: string;
  /** An engine on a unix socket is on this machine: its published ports bind here. */
  readonly localPublishAddress?: string;
  readonly capabilities: Capabilities = {
    imageLabels: { imageLabels: (image) => this.images.labels(image) },
    gpus: { inventory: () => this.inventory(), allocation: 'gateway', modes: ['exclusive', 'mig', 'shared'] },
    volumes: dockerVolumes(
      () => this.docker,
      (fn) => this.call(fn),
    ),
  };
  private readonly docker: Dockerode;
  private readonly images: DockerImages;
  private readonly agentFiles = new AgentFiles();
  private readonly ssh?: SshHop;

  constructor(private readonly o: DockerDriverOptions) {
    this.id = o.id;
    if (o.url.startsWith('unix:')) this.localPublishAddress = o.publish_address;
    const { opts, ssh } = dockerOptions(o.url, o.ssh_key_file, o.ssh_host_key);
    if (ssh && !o.ssh_host_key)
      o.log.warn({ backend: o.id }, `the SSH host key of ${ssh.host} is not verified: set ssh_host_key`);
    this.docker = new Dockerode(opts);
    this.images = new DockerImages({
      id: o.id,
      docker: this.docker,
      call: (fn) => this.call(fn),
      allowPulls: o.allow_image_pulls !== false,
    });
    this.ssh = ssh && new SshHop(o.id, ssh);
    this.capabilities.volumeArchive = dockerVolumeArchive(
      () => this.docker,
      (fn) => this.call(fn),
      o.gatewayId,
    );
  }

  /** Runs a Docker call; a connection failure becomes BackendUnavailableError naming this backend. */
  private call<T>(fn: () => Promise<T>): Promise<T> {
    // dockerd quotes a failed volume mount's options (a CephFS share's key among them) in any call that mounts.
    return guard(this.id, dockerUnreachable, fn).catch((err: unknown) => {
      const e = err as { message?: unknown; json?: { message?: unknown } };
      if (typeof e?.message === 'string') e.message = redactMountSecrets(e.message);
      if (typeof e?.json?.message === 'string') e.json.message = redactMountSecrets(e.json.message);
      throw err;
    });
  }

  /** Objects this gateway made on this backend (two backends may share one engine). */
  private ownLabels(): string[] {
    return [`${LABELS.gateway}=${this.o.gatewayId}`, `${LABELS.backend}=${this.id}`];
  }

  async info(): Promise<BackendInfo> {
    const base = { id: this.id, kind: this.kind, url: this.o.url };
    const v = await answerWithin(
      this.id,
      5000,
      this.call(() => this.docker.version()),
    );
    return { ...base, available: true, version: `${v.Version} (API ${v.ApiVersion})` };
  }

  ensureImage(image: string, policy: PullPolicy, onProgress?: ProgressFn, signal?: AbortSignal): Promise<void> {
    return this.images.ensure(image, policy, onProgress, signal);
  }

  async findByEnvId(envId: string): Promise<string | undefined> {
    const found = await this.call(() =>
      this.docker.listContainers({
        all: true,
        filters: { label: [...this.ownLabels(), `${LABELS.envId}=${envId}`] },
      }),
    );
    return found[0]?.Id;
  }

  async create(spec: EnvSpec): Promise<string> {
    const existing = await this.findByEnvId(spec.envId);
    if (existing) return existing;
    await this.call(() => createMountedVolumes(this.docker, spec, this.o.gatewayId));
    // Directories Hangar makes on shares for the login user, before anything mounts them.
    await this.call(() => makeShareDirs(this.docker, spec, this.o.gatewayId)).catch(async (err) => {
      await this.removeShareVolumes(spec.envId).catch(() => undefined);
      throw err;
    });
    let container: Dockerode.Container;
    try {
      container = await this.call(() =>
        this.docker.createContainer(createOptions(spec, this.o.gatewayId, this.o.publish_address, this.id)),
      );
    } catch (err) {
      if (statusCode(err) === 400 || statusCode(err) === 404 || statusCode(err) === 409) {
        throw new UnprocessableError(`backend '${this.id}' refused the container: ${dockerMessage(err)}`);
      }
      throw err;
    }
    try {
      // The boot files and the agent in one archive: each copy into a container costs the engine a mount.
      const agent = spec.agent;
      const agentFiles = agent
        ? await this.call(async () =>
            this.agentFiles.filesFor(container, (await this.images.inspect(spec.image))?.Id, agent, () =>
              this.engineArch(),
            ),
          )
        : [];
      await this.writeFiles(container.id, [...spec.files, ...agentFiles]);
      if (agent)
        this.o.log.debug(
          { backend: this.id, env: spec.envId, version: agent.version, copied: agentFiles.length > 0 },
          'hangar-agent placed',
        );
    } catch (err) {
      // Writing the files mounts the volumes first: a share the host can't mount fails here, with the kernel's message.
      await container.remove({ force: true, v: true }).catch(() => undefined);
      await this.removeShareVolumes(spec.envId).catch(() => undefined);
      throw err;
    }
    return container.id;
  }

  private arch?: string;
  private async engineArch(): Promise<string | undefined> {
    this.arch ??= (await this.call(() => this.docker.info())).Architecture as string | undefined;
    return this.arch;
  }

  async writeFiles(ref: string, files: BootFile[]): Promise<void> {
    if (files.length === 0) return;
    const archive = await bootFilesArchive(files);
    await this.call(() => this.docker.getContainer(ref).putArchive(archive, { path: '/' }));
  }

  async start(ref: string): Promise<void> {
    this.addresses.delete(ref);
    await this.call(() => this.docker.getContainer(ref).start()).catch((err) => {
      if (statusCode(err) === 304) return; // already running
      throw new UnprocessableError(`container did not start on backend '${this.id}': ${dockerMessage(err)}`);
    });
  }

  async stop(ref: string, timeoutS: number): Promise<void> {
    this.addresses.delete(ref);
    await this.call(() => this.docker.getContainer(ref).stop({ t: timeoutS })).catch((err) => {
      if (statusCode(err) === 304 || statusCode(err) === 404) return; // already stopped / gone
      throw err;
    });
  }

  async restart(ref: string, timeoutS: number): Promise<void> {
    this.addresses.delete(ref);
    await this.call(() => this.docker.getContainer(ref).restart({ t: timeoutS })).catch((err) => {
      if (err instanceof BackendUnavailableError || statusCode(err) === 404) throw err;
      throw new UnprocessableError(`container did not restart on backend '${this.id}': ${dockerMessage(err)}`);
    });
  }

  async delete(ref: string): Promise<void> {
    this.addresses.delete(ref);
    const envId = await this.call(() => this.docker.getContainer(ref).inspect()).then(
      (c) => c.Config.Labels?.[LABELS.envId],
      () => undefined,
    );
    await this.call(() => this.docker.getContainer(ref).remove({ force: true, v: true })).catch((err) => {
      if (statusCode(err) === 404) return;
      if (statusCode(err) === 409 && /already in progress/.test(dockerMessage(err))) return;
      throw err;
    });
    if (envId) await this.removeShareVolumes(envId);
  }

  /** The local-driver volumes an env's share mounts became (they hold no data: the data is on the export). */
  private removeShareVolumes(envId: string): Promise<void> {
    return this.call(() => removeShareVolumes(this.docker, this.o.gatewayId, envId));
  }

  async inspect(ref: string): Promise<BackendStatus> {
    try {
      const c = await this.call(() => this.docker.getContainer(ref).inspect());
      // A crash loop under the restart policy is not "running", whatever the engine's Running flag says.
      if (c.State.Restarting)
        return {
          state: 'failed',
          message: `restarting after exit code ${c.State.ExitCode}`,
          startedAt: c.State.StartedAt,
        };
      const state = stateOf(c.State);
      const message =
        state === 'failed' ? redactMountSecrets(c.State.Error || `exited with code ${c.State.ExitCode}`) : undefined;
      return { state, message, startedAt: c.State.StartedAt };
    } catch (err) {
      if (statusCode(err) === 404) return { state: 'missing' };
      throw err;
    }
  }

  async list(): Promise<ManagedObject[]> {
    const cs = await this.call(() => this.docker.listContainers({ all: true, filters: { label: this.ownLabels() } }));
    return cs.map((c) => ({
      ref: c.Id,
      envId: c.Labels[LABELS.envId],
      state: listedState(c.State),
      record: parseRecord(c.Labels[LABELS.record]),
    }));
  }

  async logs(ref: string, opts: LogOptions): Promise<Readable> {
    const c = this.docker.getContainer(ref);
    const out = new PassThrough();
    if (opts.follow) {
      const raw = await this.call(() =>
        c.logs({ follow: true, stdout: true, stderr: true, tail: opts.tail ?? 100, timestamps: opts.timestamps }),
      );
      this.docker.modem.demuxStream(raw, out, out);
      raw.on('end', () => out.end());
      raw.on('error', (e) => out.destroy(e));
      const stop = () => (raw as unknown as { destroy(): void }).destroy();
      opts.signal?.addEventListener('abort', stop, { once: true });
      out.on('close', stop);
    } else {
      const buf = await this.call(() =>
        c.logs({ follow: false, stdout: true, stderr: true, tail: opts.tail ?? 100, timestamps: opts.timestamps }),
      );
      out.end(demuxBuffer(buf as unknown as Buffer));
    }
    return out;
  }

  /** Container addresses for a few seconds: a proxied Jupyter page makes dozens of requests, each opening a port. */
  private readonly addresses = new Map<string, { ip: string; until: number }>();

  private async containerAddress(ref: string): Promise<string> {
    const hit = this.addresses.get(ref);
    if (hit && hit.until > Date.now()) return hit.ip;
    const ip = await this.inspectAddress(ref);
    this.addresses.set(ref, { ip, until: Date.now() + 5000 });
    return ip;
  }

  private async inspectAddress(ref: string): Promise<string> {
    const c = await this.call(() => this.docker.getContainer(ref).inspect());
    if (!c.State.Running) throw new UnprocessableError('environment is not running');
    const nets = Object.values(c.NetworkSettings.Networks ?? {});
    const ip = nets.find((n) => n.IPAddress)?.IPAddress || c.NetworkSettings.IPAddress;
    if (!ip) throw new NoNetworkAddressError('environment has no network address');
    return ip;
  }

  async openPort(ref: string, port: number): Promise<Duplex> {
    const ip = await this.containerAddress(ref);
    // Beside the engine the container's bridge address is reachable directly; a remote engine's through its SSH host.
    if (this.ssh) return this.ssh.forward(ip, port);
    return connectLocal(ip, port).catch((err) => {
      this.addresses.delete(ref);
      throw err;
    });
  }

  async exec(ref: string, cmd: string[], opts: { user?: string; stdin?: string } = {}): Promise<ExecResult> {
    const c = this.docker.getContainer(ref);
    const ex = await this.call(() =>
      c.exec({
        Cmd: cmd,
        AttachStdout: true,
        AttachStderr: true,
        AttachStdin: opts.stdin !== undefined,
        User: opts.user,
      }),
    );
    const stream = await ex.start({ hijack: true, stdin: opts.stdin !== undefined });
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const outP = streamToBuffer(stdout);
    const errP = streamToBuffer(stderr);
    this.docker.modem.demuxStream(stream, stdout, stderr);
    if (opts.stdin !== undefined) stream.end(opts.stdin);
    await new Promise<void>((resolve, reject) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', reject);
    });
    stdout.end();
    stderr.end();
    const info = await ex.inspect();
    return { exitCode: info.ExitCode ?? -1, stdout: (await outP).toString(), stderr: (await errP).toString() };
  }

  /** nvidia-smi on the engine's host: locally beside a unix:// engine, over SSH for ssh:// ones. */
  private async inventory(): Promise<GpuDevice[]> {
    const node = this.ssh?.target.host ?? this.id;
    const run = (args: string[]) =>
      this.ssh ? this.ssh.exec([this.o.nvidia_smi, ...args]) : localExec(this.o.nvidia_smi, args);
    const q = await run(QUERY_ARGS);
    if (q === undefined) return []; // no nvidia-smi on the host: no NVIDIA GPUs
    const whole = parseQuery(q, this.id, node);
    const list = whole.items.some((g) => g.mig_mode === 'enabled')
      ? parseList((await run(['-L'])) ?? '', this.id, node, whole.items)
      : { items: [], problems: [] };
    for (const p of [...whole.problems, ...list.problems])
      this.o.log.warn({ backend: this.id, problem: p }, 'nvidia-smi output not understood');
    return [...whole.items.map((g) => ({ ...g, capacity: this.o.gpu_shared_replicas })), ...list.items];
  }

  async close(): Promise<void> {
    await this.ssh?.close();
  }
}
