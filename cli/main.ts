// hangar: the gateway API for people and scripts, and the SSH ProxyCommand.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, Option } from 'commander';
import { ApiError, HangarClient } from '../common/client';
import type { Environment, GpuInfo } from '../common/model';
import { ALIAS_PREFIX, envFromAlias, sshAlias } from '../common/names';
import type { CreateEnvironmentRequest } from '../common/schemas';
import type { TunnelTransport } from '../common/tunnel';
import { caFileFor, configDir, readCaFile, readConfig, resolveGateway, writeConfig } from './credentials';
import { ensureCliKey } from './cliKey';
import { probeCertificate } from '../common/tls/trust';
import { decideLoginTrust } from '../common/tls/tofu';
import { DEFAULT_USER, renderBlock, writeManagedBlock } from '../common/sshConfig';
import { vmCommands } from './vms';
import { VERSION } from '../common/version';
import { storageCommands } from './storage';
import { identityFile, knownHostsFile, pinHostKey, selfCommand, sshOptions } from './ssh';

/** Exit codes scripts can rely on. */
export const EXIT = { ok: 0, error: 1, usage: 2, auth: 3, notFound: 4, conflict: 5, unavailable: 6 } as const;

function exitCodeFor(err: unknown): number {
  if (!(err instanceof ApiError)) return EXIT.error;
  if (err.status === 400) return EXIT.usage;
  if (err.status === 401 || err.status === 403) return EXIT.auth;
  if (err.status === 404) return EXIT.notFound;
  if (err.status === 409) return EXIT.conflict;
  if (err.status === 503 || err.status === 0) return EXIT.unavailable;
  return EXIT.error;
}

class UsageError extends Error {}

function aliasSlug(target: string): string | undefined {
  if (!target.startsWith(ALIAS_PREFIX)) return undefined;
  const rest = target.slice(ALIAS_PREFIX.length);
  const i = rest.indexOf('--');
  return i < 0 ? undefined : rest.slice(0, i);
}

function client(opts: { url?: string; caFile?: string }, target?: string): HangarClient {
  const gw = resolveGateway({ url: opts.url, caFile: opts.caFile, aliasSlug: target ? aliasSlug(target) : undefined });
  return new HangarClient({ url: gw.url, token: gw.token, tls: gw.tls });
}

const progress = (msg: string) => { if (process.stderr.isTTY || process.env.HANGAR_PROGRESS) process.stderr.write(msg + '\n'); };

/** Rows of text as aligned columns (the first row is the header). */
export function columns(rows: string[][]): string {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(w[i])).join('  ').trimEnd()).join('\n') + '\n';
}

function table(envs: Environment[]): string {
  return columns([['NAME', 'STATUS', 'TYPE', 'MODE', 'BACKEND', 'IMAGE', 'GPUS'], ...envs.map((e) => [
    e.name, e.status, e.environment_type, e.deployment_mode, e.backend_id, e.image, e.gpu_mode === 'none' ? '-' : `${e.gpu_count} ${e.gpu_mode}`,
  ])]);
}

const print = (json: boolean, value: unknown, human: () => string) => process.stdout.write(json ? JSON.stringify(value, null, 2) + '\n' : human());

function parseKv(list: string[] | undefined, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list ?? []) {
    const i = item.indexOf('=');
    if (i < 1) throw new UsageError(`${flag} expects KEY=VALUE, got '${item}'`);
    out[item.slice(0, i)] = item.slice(i + 1);
  }
  return out;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function buildProgram(): Command {
  const program = new Command('hangar').description('Hangar: GPU development environments on your own machines')
    .version(VERSION, '-V, --version', 'print the version')
    .option('--url <url>', 'gateway URL (default: HANGAR_URL or the last login)')
    .option('--json', 'machine-readable output')
    .option('--config-dir <dir>', 'where logins, the SSH key and pinned host keys live (default: HANGAR_CONFIG_DIR or ~/.config/hangar)')
    .option('--ca-file <file>', 'https gateways: also trust the CAs in this PEM file (default: HANGAR_CA_FILE, or the one given at login)')
    .showHelpAfterError();
  program.hook('preAction', () => {
    const dir = program.opts<{ configDir?: string }>().configDir;
    if (dir) process.env.HANGAR_CONFIG_DIR = dir;
  });
  const g = () => program.opts<{ url?: string; json?: boolean; caFile?: string }>();

  program.command('login <url>').description('store a token for a gateway (token from --token, HANGAR_TOKEN or stdin); https: pins the certificate unless a trusted CA signed it')
    .option('--token <token>', 'API token (prefer stdin or HANGAR_TOKEN: flags end up in shell history)')
    .option('--fingerprint <sha256>', 'https: the certificate\'s SHA-256 fingerprint you expect (as hangard prints it); any other is refused')
    .option('--no-key', 'do not create/upload the CLI\'s SSH key')
    .action(async (rawUrl: string, o: { token?: string; key: boolean; fingerprint?: string }) => {
      let token = o.token || process.env.HANGAR_TOKEN;
      if (!token && !process.stdin.isTTY) token = fs.readFileSync(0, 'utf8').trim();
      if (!token) throw new UsageError('no token: pass --token, set HANGAR_TOKEN or pipe it on stdin');
      const url = rawUrl.replace(/\/+$/, '');
      if (!/^https?:\/\//.test(url)) throw new UsageError(`not an http:// or https:// URL: ${rawUrl}`);
      const cfg = readConfig();
      const ca = caFileFor(g(), cfg.gateways[url]);
      const caPem = ca ? readCaFile(ca.file, ca.from) : undefined;
      let fingerprint256: string | undefined;
      if (url.startsWith('https:')) {
        // The handshake alone (no token sent) shows the certificate; the login itself is then checked against it.
        const peer = await probeCertificate(url, caPem).catch((err: Error) => { throw new ApiError(0, 'unreachable', `gateway ${url} is unreachable: ${err.message}`); });
        const trust = decideLoginTrust(url, peer, { expected: o.fingerprint || process.env.HANGAR_TLS_FINGERPRINT, pinned: cfg.gateways[url]?.tls_fingerprint });
        if (trust.kind === 'refuse') throw trust.error;
        if (trust.kind === 'pin') {
          fingerprint256 = trust.fingerprint256;
          if (trust.firstUse) {
            process.stderr.write(`hangar: ${url} has a certificate no trusted CA signed (${peer.authorizationError ?? 'untrusted'}).\n`
              + `hangar: its SHA-256 fingerprint is ${fingerprint256}\n`
              + `hangar: pinned (trust on first use): compare it with the fingerprint hangard printed at start; any other certificate will be refused.\n`);
          }
        }
      }
      const c = new HangarClient({ url, token, tls: { ...(caPem ? { ca: caPem } : {}), ...(fingerprint256 ? { fingerprint256 } : {}) } });
      const me = await c.me();
      cfg.gateways[c.url] = { token, ...(fingerprint256 ? { tls_fingerprint: fingerprint256 } : {}), ...(ca ? { ca_file: path.resolve(ca.file) } : {}) };
      cfg.current = c.url;
      writeConfig(cfg);
      if (o.key) await ensureCliKey(c, configDir(), { force: true });
      print(Boolean(g().json), { url: c.url, user: me.name, ...(fingerprint256 ? { tls_fingerprint: fingerprint256 } : {}) },
        () => `logged in to ${c.url} as ${me.name}${fingerprint256 ? ` (certificate SHA-256 ${fingerprint256} pinned)` : ''}\n`);
    });

  program.command('logout').description('forget the token of the current (or --url) gateway').action(() => {
    const cfg = readConfig();
    const url = (g().url ?? cfg.current)?.replace(/\/+$/, '');
    if (url) delete cfg.gateways[url];
    if (cfg.current === url) cfg.current = Object.keys(cfg.gateways)[0];
    writeConfig(cfg);
  });

  program.command('ls').alias('list').description('list environments')
    .option('--status <s>', 'filter by status (comma-separated)')
    .option('--backend <id>', 'filter by backend')
    .action(async (o: { status?: string; backend?: string }) => {
      const q: Record<string, string> = {};
      if (o.status) q.status = o.status;
      if (o.backend) q.backend_id = o.backend;
      const envs = await client(g()).listEnvironments(q);
      print(Boolean(g().json), envs, () => (envs.length ? table(envs) : 'no environments\n'));
    });

  program.command('create <name>').description('create an environment and wait until it runs')
    .requiredOption('--image <ref>', 'container/VM image')
    .option('--backend <id>', 'backend id (default: the gateway\'s default)')
    .option('--deployment-mode <m>', 'docker_local | k8s_pod | k8s_stateful | k8s_job | k8s_cronjob | vm | bare_metal')
    .option('--schedule <cron>', 'k8s_cronjob: when it runs, e.g. "0 3 * * *"')
    .option('--command <shell>', 'k8s_job / k8s_cronjob: what the pod runs (with /bin/sh -c)')
    .option('--secret-env <NAME=secret/key>', 'Kubernetes: an env var from a key of a Secret in your namespace; repeatable', collect)
    .addOption(new Option('--expose <how>', 'Kubernetes: reach SSH and the --port ports from outside the cluster').choices(['node_port', 'load_balancer']))
    .option('--type <t>', 'environment_type: ide | terminal | desktop | training | inference | data_process')
    .option('--gpu-mode <m>', 'exclusive | vgpu | mig | shared | none')
    .option('--gpus <n>', 'number of GPUs', (v) => Number(v))
    .option('--gpu-device <id>', 'exact GPU (GPU-<uuid>/MIG-<uuid>/index); repeatable', collect)
    .option('--gpu-model <model>', 'GPU model, e.g. A100 or "H100 80GB"')
    .option('--mig-profile <profile>', 'MIG profile for --gpu-mode mig (1g.10gb), or the mdev type for vgpu (nvidia-472)')
    .option('--gpu-wait', 'when no GPU fits now, queue until one does (instead of failing)')
    .option('--cpu <n>', 'CPU limit (cores)', (v) => Number(v))
    .option('--memory <mib>', 'memory limit in MiB', (v) => Number(v))
    .option('-e, --env <KEY=VALUE>', 'environment variable; repeatable', collect)
    .option('-p, --port <[ip:]host:container>', 'publish a port (default address 127.0.0.1); repeatable', collect)
    .option('-v, --volume <name:dst[:ro]>', 'your named volume (team:NAME your team\'s, id:ID by id), made on first use; repeatable', collect)
    .option('--host-path <name:dst[:rw]>', 'a host directory the gateway\'s host_paths lists, by name (read-only unless it allows rw); repeatable', collect)
    .option('--storage-type <t>', 'local | nfs | ceph | s3 | pvc')
    .option('--lifecycle <p>', 'persistent | ephemeral | scheduled | on_demand')
    .option('--jumpserver', 'route access through JumpServer')
    .option('--vnc-port <n>', 'VNC port', (v) => Number(v))
    .addOption(new Option('--pull <policy>', 'image pull policy').choices(['always', 'if-not-present', 'never']))
    .option('--user <name>', 'login user inside the environment')
    .option('--no-wait', 'return as soon as the gateway accepted the request')
    .action(async (name: string, o: Record<string, any>) => {
      const req: CreateEnvironmentRequest = {
        name, image: o.image, backend_id: o.backend, deployment_mode: o.deploymentMode, environment_type: o.type,
        gpu_mode: o.gpuMode ?? (o.migProfile ? 'mig' : o.gpus || o.gpuDevice || o.gpuModel ? 'exclusive' : undefined), gpu_count: o.gpus, gpu_device_ids: o.gpuDevice, gpu_model: o.gpuModel, gpu_mig_profile: o.migProfile, gpu_wait: o.gpuWait,
        cpu: o.cpu, memory_mb: o.memory, env_vars: o.env ? parseKv(o.env, '--env') : undefined,
        storage_type: o.storageType, lifecycle_policy: o.lifecycle, use_jumpserver: o.jumpserver, vnc_port: o.vncPort,
        image_pull_policy: o.pull, ssh_user: o.user,
        network_config: o.port || o.expose ? { ...(o.port ? { ports: (o.port as string[]).map(parsePort) } : {}), ...(o.expose ? { expose: o.expose } : {}) } : undefined,
        schedule: o.schedule, command: o.command ? ['/bin/sh', '-c', o.command] : undefined,
        env_vars_from_secrets: o.secretEnv ? Object.fromEntries(Object.entries(parseKv(o.secretEnv, '--secret-env')).map(([k, v]) => {
          const m = /^([^/]+)\/(.+)$/.exec(v);
          if (!m) throw new UsageError(`--secret-env expects NAME=secret/key, got '${k}=${v}'`);
          return [k, { secret: m[1], key: m[2] }];
        })) : undefined,
        storage_config: o.volume || o.hostPath ? { mounts: [...((o.volume ?? []) as string[]).map(parseVolume), ...((o.hostPath ?? []) as string[]).map(parseHostPath)] } : undefined,
      } as CreateEnvironmentRequest;
      for (const k of Object.keys(req) as (keyof CreateEnvironmentRequest)[]) if (req[k] === undefined) delete req[k];
      const { createEnvironmentSchema, describeZodError } = await import('../common/schemas');
      const check = createEnvironmentSchema.safeParse(req);
      if (!check.success) throw new UsageError(describeZodError(check.error).message);
      const c = client(g());
      const ac = new AbortController();
      process.once('SIGINT', () => ac.abort());
      let env = await c.createEnvironment(req, ac.signal);
      // A Job may have finished by then; a pod the scheduler can't place yet waits as 'pending'.
      if (o.wait) env = await c.waitFor(env.id, ['running', 'pending', ...(req.command ? ['stopped' as const] : [])], { signal: ac.signal, onStatus: (e) => progress(`${e.name}: ${e.status}${e.status_message ? ' — ' + e.status_message : ''}`) });
      print(Boolean(g().json), env, () => `${env.name} ${env.status} (${env.id})\n`);
    });

  for (const action of ['start', 'stop', 'restart'] as const) {
    program.command(`${action} <env...>`).description(`${action} environments`).action(async (targets: string[]) => {
      const c = client(g());
      const out: Environment[] = [];
      for (const t of targets) {
        progress(`${t}: ${action}ing…`);
        out.push(await c.action(envFromAlias(t), action));
      }
      print(Boolean(g().json), out, () => out.map((e) => `${e.name} ${e.status}\n`).join(''));
    });
  }

  program.command('rm <env...>').alias('delete').description('delete environments (and their containers)').action(async (targets: string[]) => {
    const c = client(g());
    for (const t of targets) {
      await c.deleteEnvironment(envFromAlias(t));
      if (!g().json) process.stdout.write(`${t} deleted\n`);
    }
    if (g().json) process.stdout.write(JSON.stringify({ deleted: targets }) + '\n');
  });

  program.command('info <env>').description('environment details and connection info').action(async (t: string) => {
    const c = client(g(), t);
    const [env, conn] = await Promise.all([c.getEnvironment(envFromAlias(t)), c.connection(envFromAlias(t))]);
    print(Boolean(g().json), { ...env, connection: conn }, () => `${table([env])}ssh: ${conn.ssh.user}@${conn.ssh.host_alias}\n${conn.jupyter ? `jupyter: ${conn.jupyter.url}\n` : ''}`);
  });

  program.command('logs <env>').description('print logs').option('-f, --follow', 'keep streaming').option('--tail <n>', 'lines from the end', (v) => Number(v), 100)
    .action(async (t: string, o: { follow?: boolean; tail: number }) => {
      const ac = new AbortController();
      process.once('SIGINT', () => ac.abort());
      const body = await client(g(), t).logs(envFromAlias(t), { tail: o.tail, follow: o.follow, signal: ac.signal });
      try {
        for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) process.stdout.write(chunk);
      } catch (err) {
        if (!ac.signal.aborted) throw err;
      }
    });

  program.command('ssh-config [env]').description('print (or --write into an ssh config file) the managed Host block for this gateway; pins host keys')
    .option('--write [file]', 'merge the block into an ssh config file (default ~/.ssh/config), keeping every other line')
    .action(async (t: string | undefined, o: { write?: string | boolean }) => {
      const c = client(g(), t);
      const dir = configDir();
      await ensureCliKey(c, dir);
      const envs = t ? [await c.getEnvironment(envFromAlias(t))] : await c.listEnvironments();
      for (const e of envs) {
        if (e.host_key) pinHostKey(dir, sshAlias(c.url, e.name), e.host_key);
      }
      const block = renderBlock({
        gatewayUrl: c.url, proxyCommand: selfCommand(), knownHostsFile: knownHostsFile(dir),
        identityFile: fs.existsSync(identityFile(dir)) ? identityFile(dir) : undefined,
        envs: envs.filter((e) => e.ssh_user !== DEFAULT_USER).map((e) => ({ alias: sshAlias(c.url, e.name), user: e.ssh_user })),
      });
      if (!o.write) { process.stdout.write(block); return; }
      const file = typeof o.write === 'string' ? o.write : path.join(os.homedir(), '.ssh', 'config');
      const r = await writeManagedBlock(file, c.url, block);
      for (const w of r.warnings) process.stderr.write(`hangar: warning: ${w}\n`);
      process.stdout.write(`${r.changed ? 'wrote' : 'unchanged:'} the Hangar block for ${c.url} in ${file}\n`);
    });

  program.command('ssh <env> [cmd...]').description('ssh into an environment through the gateway (args after -- run remotely)')
    .action(async (t: string, cmd: string[]) => {
      const c = client(g(), t);
      const dir = configDir();
      const [conn] = await Promise.all([c.connection(envFromAlias(t)), ensureCliKey(c, dir)]);
      if (conn.ssh.host_key) pinHostKey(dir, conn.ssh.host_alias, conn.ssh.host_key);
      const opts = sshOptions({ dir, gatewayUrl: c.url, cli: selfCommand() }, conn.ssh.user);
      const args = [...opts.flatMap(([k, v]) => ['-o', `${k}=${v}`]), conn.ssh.host_alias, ...cmd];
      // The proxy ssh runs finds this login (token, pin) by URL; a --ca-file given here travels as HANGAR_CA_FILE.
      const caFile = g().caFile ? { HANGAR_CA_FILE: path.resolve(g().caFile!) } : {};
      const child = spawn(process.env.HANGAR_SSH ?? 'ssh', args, { stdio: 'inherit', env: { ...process.env, HANGAR_URL: c.url, ...caFile } });
      const code = await new Promise<number>((resolve) => child.on('exit', (c2) => resolve(c2 ?? 255)));
      process.exitCode = code;
    });

  program.command('proxy <env>').description('bridge stdin/stdout to the env\'s SSH port (for ssh ProxyCommand)')
    .option('--port <n>', 'port inside the env', (v) => Number(v), 22)
    .addOption(new Option('--transport <t>', 'raw HTTP upgrade, or WebSocket for proxies that pass only WebSockets').choices(['raw', 'websocket']).default(process.env.HANGAR_TUNNEL ?? 'raw'))
    .action(async (t: string, o: { port: number; transport: TunnelTransport }) => {
      const c = client(g(), t);
      const name = envFromAlias(t);
      const { openTunnel } = await import('../common/tunnel');
      // The tunnel and the env lookup run side by side; the host key is pinned (over the authenticated API)
      // before any byte reaches ssh, so ssh checks the key this gateway vouches for.
      const [env, stream] = await Promise.all([
        c.getEnvironment(name),
        openTunnel(`${c.url}/api/v1/environments/${encodeURIComponent(name)}/tunnel?port=${o.port}`, c.token, o.transport, c.agent),
      ]);
      if (env.host_key && t.startsWith(ALIAS_PREFIX)) pinHostKey(configDir(), t, env.host_key);
      process.stdin.pipe(stream);
      stream.pipe(process.stdout);
      await new Promise<void>((resolve) => {
        stream.on('close', resolve);
        stream.on('error', resolve);
        process.stdin.on('end', () => stream.end());
      });
      process.exit(0);
    });

  const user = program.command('user').description('manage users (admin)');
  user.command('create <name>').option('--admin', 'make an admin').option('--team <team>', 'team (Kubernetes namespace_policy per-team)')
    .description('create a user; prints its token once')
    .action(async (name: string, o: { admin?: boolean; team?: string }) => {
      const r = await client(g()).createUser(name, o.admin ? 'admin' : 'user', o.team);
      print(Boolean(g().json), r, () => `user ${r.user.name} created; token (shown once): ${r.token}\n`);
    });

  const keys = program.command('keys').description('SSH public keys used for your environments');
  keys.command('ls').action(async () => {
    const ks = await client(g()).listKeys();
    print(Boolean(g().json), ks, () => ks.map((k) => `${k.id}  ${k.name}  ${k.fingerprint}\n`).join(''));
  });
  keys.command('add <file>').option('--name <n>', 'key name', 'default').action(async (file: string, o: { name: string }) => {
    const k = await client(g()).addKey(o.name, fs.readFileSync(file, 'utf8').trim());
    print(Boolean(g().json), k, () => `added ${k.fingerprint}\n`);
  });

  program.command('gpus').description('GPU inventory: models, memory, free units and who holds each')
    .option('--backend <id>').option('--model <m>').option('--free', 'only GPUs with a free unit').option('--refresh', 're-read the hosts first')
    .action(async (o: { backend?: string; model?: string; free?: boolean; refresh?: boolean }) => {
      const c = client(g());
      if (o.refresh) await c.request('POST', '/api/v1/gpus/refresh');
      const q = new URLSearchParams();
      if (o.backend) q.set('backend', o.backend);
      if (o.model) q.set('model', o.model);
      if (o.free) q.set('free', 'true');
      const gs = await c.request<GpuInfo[]>('GET', `/api/v1/gpus?${q}`);
      print(Boolean(g().json), gs, () => columns([['BACKEND', 'NODE', 'ID', 'MODEL', 'MEMORY', 'FREE', 'HELD BY'], ...gs.map((x) => [
        x.backend_id, x.node, x.id, x.model, x.memory_mb ? `${Math.round(x.memory_mb / 1024)} GiB` : '-',
        x.present ? (x.health === 'ok' ? `${x.free}/${x.capacity}` : `unhealthy`) : 'gone', x.holders.map((h) => `${h.env_name} (${h.mode})`).join(', ') || '-',
      ])]));
    });

  program.command('backends').description('backends and their reachability').action(async () => {
    const bs = await client(g()).backends();
    print(Boolean(g().json), bs, () => bs.map((b) => `${b.id}  ${b.kind}  ${b.available ? 'up ' + (b.version ?? '') : 'DOWN ' + (b.error ?? '')}${b.default ? '  (default)' : ''}\n`).join(''));
  });

  vmCommands(program, { client: () => client(g()), json: () => Boolean(g().json), print, columns });
  storageCommands(program, { client: () => client(g()), json: () => Boolean(g().json), print, columns });
  return program;
}

function parsePort(spec: string) {
  const parts = spec.split(':');
  const [ip, host, container] = parts.length === 3 ? parts : parts.length === 2 ? [undefined, ...parts] : [undefined, undefined, parts[0]];
  const [cport, proto] = container!.split('/');
  return { container_port: Number(cport), host_port: host ? Number(host) : undefined, host_ip: ip, protocol: (proto as 'tcp' | 'udp') || undefined };
}

/** NAME:/dst[:ro]; NAME may itself hold a colon (team:NAME, id:ID), so the target is the first part that is a path. */
function parseVolume(spec: string) {
  const parts = spec.split(':');
  const at = parts.findIndex((p) => p.startsWith('/'));
  if (at === 0) throw new UsageError(`--volume '${spec}': host paths can't be given; ask the operator for a host_paths entry and use --host-path NAME:DST`);
  if (at < 0 || (parts[at + 1] !== undefined && parts[at + 1] !== 'ro' && parts[at + 1] !== 'rw')) throw new UsageError(`--volume expects NAME:DST[:ro], got '${spec}'`);
  return { type: 'volume' as const, source: parts.slice(0, at).join(':'), target: parts[at], read_only: parts[at + 1] === 'ro' };
}

function parseHostPath(spec: string) {
  const [source, target, mode, ...rest] = spec.split(':');
  if (!source || !target || rest.length || (mode !== undefined && mode !== 'ro' && mode !== 'rw')) throw new UsageError(`--host-path expects NAME:DST[:ro|rw], got '${spec}'`);
  return { type: 'host_path' as const, source, target, ...(mode ? { read_only: mode === 'ro' } : {}) };
}

export async function main(argv = process.argv): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`hangar: ${msg}\n`);
    process.exit(err instanceof UsageError ? EXIT.usage : exitCodeFor(err));
  }
}

if (require.main === module) void main();
