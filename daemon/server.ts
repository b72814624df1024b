// Composition root: every service is built here and handed in through constructors.
import { agentPayload, defaultAgentDir } from './environments/agentBinary';
import fs from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Config } from './config';
import { driversFromConfig, type DriverRegistry } from './backends/registry';
import { capability } from './contract';
import { createApp } from './http/app';
import { attachWebSockets } from './http/websocket';
import { createLogger, type Logger } from './log';
import { GpuService } from './gpu/service';
import { AuthService } from './services/auth';
import { JupyterSessions } from './services/jupyterSessions';
import { EnvironmentService } from './environments/service';
import { EventBus } from './services/events';
import { SshKeyService } from './services/keys';
import { VmService } from './services/vms';
import { Reconciler } from './environments/reconcile';
import { readiness } from './services/readiness';
import { AuditService, auditScope } from './services/audit';
import { BackendService } from './services/backends';
import { VolumeService } from './services/volumes';
import { openDatabase } from './store/db';
import { EnvironmentRepo } from './store/environments';
import { AuditRepo, UserRepo } from './store/users';
import { SecretBox } from './secretBox';
import { VERSION } from '../common/version';
import { PID_FILE } from './backup';
import { resolveGatewayId } from './services/gatewayId';
import { OrphanService } from './services/orphans';
import { VolumeRepo } from './store/volumes';
import { loadTls, missingNames } from './tls';
import { ProfileRepo } from './store/profiles';
import { ProfileService } from './profiles/service';
import { TeamQuotas } from './profiles/quota';
import type { Clock } from './environments/clock';
import type { Kysely } from 'kysely';
import type { Database } from './store/schema';
import { JumpServerRepo } from './store/jumpserver';
import { authFromConfig, JumpServerClient } from './jumpserver/client';
import { JumpServerService, type JumpServerDeps } from './services/jumpserver';
import { reconcileJumpServer } from './services/jumpserverReconcile';
import { JumpServerEndpoints } from './services/jumpserverEndpoints';
import { DatasetObjects } from './services/datasetObjects';
import { storageOf } from './storageWiring';
import { dataProtection } from './backups/wiring';

export interface RunningServer {
  url: string;
  gpus: GpuService;
  log: Logger;
  envs: EnvironmentService;
  reconciler: Reconciler;
  drivers: DriverRegistry;
  gatewayId: string;
  /** Volume snapshots, backups and their schedules (tests tick the schedules with a moved clock). */
  data: ReturnType<typeof dataProtection>;
  adminTokenFile?: string;
  /** SHA-256 fingerprint of the certificate served, when TLS is on. */
  tlsFingerprint?: string;
  close(): Promise<void>;
}

export async function startServer(cfg: Config, opts: { log?: Logger; clock?: Clock } = {}): Promise<RunningServer> {
  const log = opts.log ?? createLogger(cfg.log_level);
  // TLS first: a bad certificate file stops the start before anything else is touched.
  const tls = await loadTls(cfg);
  let publicUrl = cfg.publicUrl;
  const s = await buildServices(cfg, log, () => publicUrl, opts.clock);
  const { db, auth, envs, events, gpus, drivers, reconciler, gatewayId } = s;

  const adminTokenFile = await auth.bootstrap(cfg.data_dir);
  if (adminTokenFile) log.info({ file: adminTokenFile }, `first start: admin token written to ${adminTokenFile}`);

  const sessions = new JupyterSessions({ key: s.box.derive('jupyter-session') });
  // The audit trail's writer: HTTP requests (app) and tunnel upgrades (WebSockets) both go through it.
  const audit = new AuditService({
    repo: s.audit,
    users: s.users,
    onError: (e) => log.error({ err: String(e) }, 'audit'),
  });
  const { app, handler } = buildApp(cfg, log, s, sessions, audit);
  // One port either way: the WebSocket upgrade handler below works the same on an https server.
  // 64 KiB of request line and headers: the longest query the API takes (a dataset's 900-character prefix and 2 KiB
  // cursor, percent-encoded UTF-8) passes Node's 16 KiB default, which would answer an undocumented 431.
  const limits = { maxHeaderSize: 64 * 1024 };
  const server = tls
    ? https.createServer({ ...limits, cert: tls.cert, key: tls.key }, handler)
    : http.createServer(limits, handler);
  const trustProxy = app.get('trust proxy fn') as (addr: string, i: number) => boolean;
  const wss = attachWebSockets(server, { auth, sessions, envs, events, log, audit, trustProxy });
  const url = await listen(server, cfg, Boolean(tls));
  if (!cfg.public_url) publicUrl = url;
  if (tls) announceTls(tls, cfg, log);
  log.info({ url, backends: drivers.all().map((d) => d.id) }, 'hangard listening');
  // `hangard restore` refuses while this names a live process.
  const pidFile = path.join(cfg.data_dir, PID_FILE);
  fs.writeFileSync(pidFile, `${process.pid}\n`, { mode: 0o600 });
  const unwatch = startBackgroundWork(cfg, log, s);

  return {
    url,
    log,
    envs,
    reconciler,
    drivers,
    gpus,
    gatewayId,
    data: s.data,
    adminTokenFile,
    tlsFingerprint: tls?.fingerprint256,
    close: () => shutdown({ reconciler, gpus, unwatch, wss, server, envs, drivers, db, pidFile }),
  };
}

/** The store, the backends and the services over them, in dependency order. The database is closed again when the
 *  gateway id can't be had (nothing else is open yet). */
async function buildServices(cfg: Config, log: Logger, publicUrl: () => string, clock?: Clock) {
  const db = await openDatabase(cfg.data_dir);
  const users = new UserRepo(db);
  const audit = new AuditRepo(db, auditScope);
  const box = SecretBox.fromDataDir(cfg.data_dir);
  const repo = new EnvironmentRepo(db, box, clock && (() => clock.now()));
  const auth = new AuthService({ users });
  const keys = new SshKeyService({ users });
  const events = new EventBus();
  const gatewayId = await resolveGatewayId(cfg.data_dir, db).catch(async (err) => {
    await db.destroy();
    throw err;
  });
  const drivers = driversFromConfig(cfg, gatewayId, log);
  const jumpserver = jumpServerOf(cfg, { db, envs: repo, users, box, gatewayId, log });
  const volumes = new VolumeRepo(db);
  const { stores, datasets, datasetMounts, mounts, datasetSources } = storageOf(cfg, db, audit, log);
  const gpus = new GpuService({ db, backends: drivers, log });
  const profileRepo = new ProfileRepo(db);
  const profiles = profilesOf(cfg, profileRepo, audit);
  const envs = new EnvironmentService({
    db,
    box,
    gpus,
    repo,
    audit,
    backends: drivers,
    keys,
    events,
    log,
    publicUrl,
    stopTimeoutS: cfg.stop_timeout_s,
    mounts,
    datasets: datasetMounts,
    datasetSources,
    vncPorts: cfg.vnc_port_range,
    rdpPorts: cfg.rdp_port_range,
    publishAddress: (id) => publishAddressOf(cfg, id),
    quotas: new TeamQuotas(profileRepo, cfg.quotas),
    lifecycle: cfg.lifecycle,
    startOnConnectTimeoutS: cfg.lifecycle.start_on_connect_timeout_s,
    clock,
    registry: jumpserver,
    envKeys: jumpserver ? (id) => jumpserver.hostedKey(id) : undefined,
    agent: agentPayload(cfg.agent_dir ?? defaultAgentDir()),
    defaultSshServer: cfg.default_ssh_server,
  });
  const vms = new VmService({ backends: drivers, envs, gpus, audit });
  const orphans = new OrphanService({ backends: drivers, repo, users, audit, events });
  const reconciler = new Reconciler({ repo, backends: drivers, envs, log, gpus });
  const now = () => clock?.now() ?? Date.now();
  const data = dataProtection(cfg, { db, backends: drivers, audit, users, envs, gatewayId, log, now });
  return {
    ...{ db, users, jumpserver, audit, box, auth, keys, events, gatewayId, drivers, volumes, gpus, envs, vms },
    ...{ orphans, reconciler, profiles, stores, datasets, data },
  };
}

type Services = Awaited<ReturnType<typeof buildServices>>;

function profilesOf(cfg: Config, repo: ProfileRepo, audit: AuditRepo): ProfileService {
  return new ProfileService({ repo, audit, configured: cfg.profiles, onlyForRoles: cfg.profiles_only_for_roles });
}

/** The HTTP app: routes get services only (the store and backends stay behind them). */
function buildApp(
  cfg: Config,
  log: Logger,
  s: Services,
  sessions: JupyterSessions,
  audit: AuditService,
): ReturnType<typeof createApp> {
  const { auth, keys, envs, gpus, vms, orphans, db, drivers, profiles } = s;
  return createApp({
    version: VERSION,
    profiles,
    auth,
    keys,
    envs,
    gpus,
    vms,
    orphans,
    sessions,
    log,
    audit,
    backends: new BackendService({ backends: drivers }),
    volumes: new VolumeService({
      db,
      backends: drivers,
      audit: s.audit,
      gatewayId: s.gatewayId,
      quotas: cfg.volume_quotas,
      shares: cfg.shares,
      hostPaths: cfg.host_paths,
    }),
    frameAncestors: cfg.jupyter_frame_ancestors,
    trustProxy: cfg.trust_proxy,
    jumpserver: s.jumpserver,
    datasets: { catalogue: s.datasets, objects: new DatasetObjects({ datasets: s.datasets, audit: s.audit }) },
    data: s.data,
    readiness: () => readiness(db, drivers),
  });
}

/** The loops and watches that run once the API is up; what stops the watches. */
function startBackgroundWork(cfg: Config, log: Logger, s: Services): (() => void)[] {
  const { gpus, reconciler, drivers, envs } = s;
  // Start-up reconcile runs in the background: an unreachable backend must not block the API.
  void gpus
    .refresh()
    .then(() => reconciler.run())
    .catch((err) => log.error({ err: String(err) }, 'start-up reconcile failed'));
  reconciler.startLoop(cfg.reconcile_interval_s);
  const js = s.jumpserver;
  const endpoints = js
    ? new JumpServerEndpoints({ jumpserver: js, envs, bind: cfg.jumpserver!.asset_bind, log })
    : undefined;
  endpoints?.start();
  if (js) void reconcileJumpServer(js).catch((err) => log.warn({ err: String(err) }, 'jumpserver reconcile failed'));
  const jmsLoop = js
    ? setInterval(() => {
        reconcileJumpServer(js).catch((err) => log.warn({ err: String(err) }, 'jumpserver reconcile failed'));
      }, cfg.reconcile_interval_s * 1000).unref()
    : undefined;
  gpus.startLoop(cfg.gpu_refresh_interval_s);
  envs.autopilot.startLoop(cfg.lifecycle.interval_s);
  s.data.schedules.startLoop(cfg.lifecycle.interval_s);
  // Backends that push status changes (Kubernetes watches) feed them to the service; after a lost watch comes
  // back, a reconcile covers what the gap hid. The periodic reconcile stays as the backstop.
  return [
    ...watchBackends(drivers, envs, reconciler, log),
    () => clearInterval(jmsLoop),
    () => endpoints?.close(),
    () => void s.data.schedules.stop(),
  ];
}

/** JumpServer, when configured: its client (secrets read from their files now) and the registration service. */
function jumpServerOf(
  cfg: Config,
  o: Pick<JumpServerDeps, 'envs' | 'users' | 'box' | 'gatewayId' | 'log'> & { db: Kysely<Database> },
) {
  const c = cfg.jumpserver;
  if (!c) return undefined;
  const client = new JumpServerClient({
    url: c.url,
    org: c.org_id,
    auth: authFromConfig(c.auth),
    timeoutMs: c.timeout_ms,
  });
  return new JumpServerService({ ...o, repo: new JumpServerRepo(o.db), cfg: c, client });
}

/** Binds the listener; the URL it answers on (port 0 becomes the port the kernel chose). */
async function listen(server: http.Server | https.Server, cfg: Config, tls: boolean): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(cfg.listenPort, cfg.listenHost, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  return `${tls ? 'https' : 'http'}://${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}`;
}

/** The fingerprint clients compare at their first login, and a warning when a self-signed one lacks a name. */
function announceTls(tls: Awaited<ReturnType<typeof loadTls>> & object, cfg: Config, log: Logger): void {
  log.info(
    { fingerprint256: tls.fingerprint256, cert: tls.certFile, generated: tls.generated },
    `TLS certificate SHA-256 fingerprint ${tls.fingerprint256}`,
  );
  const missing = cfg.tlsSource.kind === 'self-signed' ? missingNames(tls, cfg) : [];
  if (missing.length)
    log.warn(
      { missing, cert: tls.certFile },
      `the self-signed certificate doesn't name ${missing.join(', ')}: delete ${tls.certFile} to make a new one (clients then log in again)`,
    );
}

/** Loops and watches first, then connections, then work in flight, then backends and the store. */
async function shutdown(p: {
  reconciler: Reconciler;
  gpus: GpuService;
  unwatch: (() => void)[];
  wss: ReturnType<typeof attachWebSockets>;
  server: http.Server;
  envs: EnvironmentService;
  drivers: DriverRegistry;
  db: Awaited<ReturnType<typeof openDatabase>>;
  pidFile: string;
}): Promise<void> {
  p.reconciler.stopLoop();
  p.gpus.stopLoop();
  p.envs.autopilot.stopLoop();
  for (const stop of p.unwatch) stop();
  for (const c of p.wss.clients) c.terminate();
  p.server.closeAllConnections();
  await new Promise<void>((resolve) => p.server.close(() => resolve()));
  await p.envs.idle();
  await p.drivers.close();
  await p.db.destroy();
  fs.rmSync(p.pidFile, { force: true });
}

/** Address a backend publishes ports on (what RDP/VNC clients connect to on that host). */
function publishAddressOf(cfg: Config, id: string): string {
  const b = cfg.backends.find((x) => x.id === id);
  return b && 'publish_address' in b
    ? b.publish_address
    : b && 'forward_address' in b
      ? b.forward_address
      : '127.0.0.1';
}

/** Backends that push status changes (the statusWatch capability) feed them to the lifecycle; after a lost watch
 *  comes back, a reconcile covers what the gap hid. Returns the watches' stops. */
function watchBackends(
  drivers: DriverRegistry,
  envs: EnvironmentService,
  reconciler: Reconciler,
  log: Logger,
): (() => void)[] {
  return drivers
    .all()
    .flatMap((d) => capability(d, 'statusWatch') ?? [])
    .map((w) =>
      w.watch(
        (id, st) =>
          void envs
            .observe(id, st)
            .catch((err) => log.error({ env: id, err: String(err) }, 'watched status not applied')),
        () =>
          void reconciler.run().catch((err) => log.error({ err: String(err) }, 'reconcile after a lost watch failed')),
      ),
    );
}
