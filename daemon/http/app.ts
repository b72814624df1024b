// Express wiring: health and OpenAPI are public; everything else needs a bearer token.
import type http from 'node:http';
import express from 'express';
import type { Logger } from '../log';
import type { AuthService } from '../services/auth';
import type { EnvironmentService } from '../environments/service';
import type { SshKeyService } from '../services/keys';
import type { AuditService } from '../services/audit';
import type { BackendService } from '../services/backends';
import { requireAuth } from './auth';
import { auditTrail } from './auditTrail';
import { requestLog } from './requestLog';
import { errorMiddleware } from './errorMiddleware';
import { openApiDocument } from './openapi';
import { backendsRouter } from './routes/backends';
import { environmentsRouter } from './routes/environments';
import { identityRouter } from './routes/identity';
import { jupyterAuth, jupyterMethods, jupyterProxy } from './routes/jupyter';
import { JupyterPool } from './jupyterPool';
import { withJupyterFastPath } from './jupyterFast';
import type { JupyterSessions } from '../services/jupyterSessions';
import { UpgradeRequiredError } from '../errors';
import { pathTable, unmatched } from './methodNotAllowed';
import type { GpuService } from '../gpu/service';
import { gpusRouter } from './routes/gpus';
import { vmsRouter } from './routes/vms';
import type { VmService } from '../services/vms';
import type { Readiness } from '../services/readiness';
import type { OrphanService } from '../services/orphans';
import type { VolumeService } from '../services/volumes';
import { storageRouter } from './routes/storage';
import { profilesRouter } from './routes/profiles';
import type { ProfileService } from '../profiles/service';
import { jumpserverRouter } from './routes/jumpserver';
import { datasetsRouter } from './routes/datasets';
import type { DatasetService } from '../services/datasets';
import type { DatasetObjects } from '../services/datasetObjects';
import type { JumpServerService } from '../services/jumpserver';
import type { dataProtection } from '../backups/wiring';
import { snapshotsRouter } from './routes/snapshots';
import { backupsRouter } from './routes/backups';

export interface AppDeps {
  version: string;
  auth: AuthService;
  audit: AuditService;
  keys: SshKeyService;
  envs: EnvironmentService;
  backends: BackendService;
  gpus: GpuService;
  vms: VmService;
  volumes: VolumeService;
  profiles: ProfileService;
  orphans: OrphanService;
  jumpserver?: JumpServerService;
  datasets: { catalogue: DatasetService; objects: DatasetObjects };
  data: ReturnType<typeof dataProtection>;
  sessions: JupyterSessions;
  frameAncestors: string[];
  /** express `trust proxy`: false ignores X-Forwarded-* (the default). */
  trustProxy?: boolean | number | string | string[];
  log: Logger;
  readiness: () => Promise<Readiness>;
}

/** The Express app (its settings: trust proxy), and the server's request handler: the app behind the Jupyter
 *  proxy's fast path (jupyterFast.ts). */
export function createApp(d: AppDeps): { app: express.Express; handler: http.RequestListener } {
  const app = express();
  const pool = new JupyterPool(d.envs);
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  // req.ip and req.protocol (the Jupyter cookie's Secure flag) follow X-Forwarded-* only from trusted proxies.
  app.set('trust proxy', d.trustProxy ?? false);
  app.use(requestLog(d.log));
  // Proxied before body parsing: Jupyter gets the request body untouched.
  app.use(
    '/api/v1/environments/:id/jupyter',
    jupyterMethods,
    jupyterAuth(d.auth, d.sessions),
    jupyterProxy(d.envs, d.frameAncestors, pool),
  );
  app.use(express.json({ limit: '1mb' }));
  app.get('/healthz', (_req, res) => {
    res.json({ ok: true, version: d.version });
  });
  // Public like /healthz, so it names backends and their reachability but never their errors.
  app.get('/readyz', async (_req, res) => {
    const r = await d.readiness();
    res.status(r.ready ? 200 : 503).json({ ...r, version: d.version });
  });
  const doc = openApiDocument(d.version);
  app.get('/api/v1/openapi.json', (_req, res) => {
    res.json(doc);
  });
  const api = express.Router();
  api.use(auditTrail(d.audit));
  api.use(requireAuth(d.auth));
  api.use(jumpserverRouter(d.envs, d.jumpserver));
  api.use('/environments', environmentsRouter(d.envs, d.sessions, d.profiles));
  api.use('/profiles', profilesRouter(d.profiles));
  api.use(identityRouter(d.auth, d.keys));
  api.use(backendsRouter(d.backends, d.audit));
  api.use(gpusRouter(d.gpus));
  api.use(vmsRouter(d.vms));
  api.use(storageRouter(d.volumes, d.orphans));
  api.use(datasetsRouter(d.datasets.catalogue, d.datasets.objects));
  api.use(snapshotsRouter(d.data.snapshots));
  api.use(backupsRouter(d.data.backups, d.data.schedules));
  // The event stream is a WebSocket upgrade (../websocket.ts); a plain GET can't be one.
  api.get('/events', () => {
    throw new UpgradeRequiredError();
  });
  app.use('/api/v1', api);
  app.use(unmatched(pathTable(doc.paths ?? {}, '/api/v1')));
  app.use(errorMiddleware(d.log));
  const { auth, sessions, envs, frameAncestors, log } = d;
  return { app, handler: withJupyterFastPath(app, { auth, sessions, envs, pool, frameAncestors, log }) };
}
