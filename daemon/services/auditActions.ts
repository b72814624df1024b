// The action name of an API request the services recorded nothing for (it failed first, or records nothing itself):
// the same names the services use, so a filter on `environment.start` finds the refused starts too.
const ROUTES: [method: string, path: RegExp, action: string][] = [
  ['POST', /^\/environments$/, 'environment.create'],
  ['PATCH', /^\/environments\/([^/]+)$/, 'environment.update'],
  ['DELETE', /^\/environments\/([^/]+)$/, 'environment.delete'],
  ['POST', /^\/environments\/([^/]+)\/start$/, 'environment.start'],
  ['POST', /^\/environments\/([^/]+)\/stop$/, 'environment.stop'],
  ['POST', /^\/environments\/([^/]+)\/restart$/, 'environment.restart'],
  ['POST', /^\/environments\/([^/]+)\/rotate$/, 'environment.rotate_secret'],
  ['POST', /^\/environments\/([^/]+)\/jupyter-session$/, 'jupyter.session'],
  ['POST', /^\/environments\/([^/]+)\/connection-token$/, 'jumpserver.connection_token'],
  ['POST', /^\/environments\/([^/]+)\/rdp$/, 'environment.rdp'],
  ['GET', /^\/environments\/([^/]+)\/tunnel$/, 'tunnel.open'],
  ['POST', /^\/environments\/([^/]+)\/snapshots$/, 'snapshot.create'],
  ['POST', /^\/environments\/([^/]+)\/snapshots\/[^/]+\/revert$/, 'snapshot.revert'],
  ['DELETE', /^\/environments\/([^/]+)\/snapshots\/[^/]+$/, 'snapshot.delete'],
  ['POST', /^\/users$/, 'user.create'],
  ['POST', /^\/tokens$/, 'token.create'],
  ['DELETE', /^\/tokens\/([^/]+)$/, 'token.delete'],
  ['POST', /^\/ssh-keys$/, 'ssh_key.add'],
  ['DELETE', /^\/ssh-keys\/([^/]+)$/, 'ssh_key.delete'],
  ['POST', /^\/orphans\/([^/]+)\/adopt$/, 'orphan.adopt'],
  ['DELETE', /^\/orphans\/([^/]+)$/, 'orphan.remove'],
  ['POST', /^\/backends\/([^/]+)\/templates$/, 'template.import'],
  ['DELETE', /^\/backends\/([^/]+\/templates\/[^/]+)$/, 'template.delete'],
  ['POST', /^\/gpus\/refresh$/, 'gpus.refresh'],
  ['POST', /^\/jumpserver\/reconcile$/, 'jumpserver.reconcile'],
];

/** `path` is below /api/v1 (no query string). */
export function actionOf(method: string, path: string): { action: string; target?: string } {
  for (const [m, re, action] of ROUTES) {
    const hit = m === method ? re.exec(path) : null;
    if (hit) return { action, target: hit[1] === undefined ? undefined : safeDecode(hit[1]) };
  }
  return { action: `${method.toLowerCase()} ${path}`.slice(0, 120) };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
