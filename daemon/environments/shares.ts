// Mounts of the operator's NFS/CephFS shares ({type: share, source: NAME, sub_path?}): the user must be listed, may
// not make a read-only share writable; the path handed to a backend is the export plus checked sub-directories only.
import fs from 'node:fs';
import type { Mount, User } from '../../common/model';
import type { NfsSource, SpecMount } from '../contract';
import { ForbiddenError, UnprocessableError } from '../errors';
import type { ShareConfig } from '../storageConfig';

const listed = (s: ShareConfig, u: Pick<User, 'name' | 'team'>) =>
  s.users.includes('*') || s.users.includes(u.name) || (!!u.team && s.teams.includes(u.team));

/** Checks a share mount for `actor`; what the row keeps (sub_path includes a per_user directory). */
export function planShare(shares: ShareConfig[], actor: User, m: Mount, field: string): Mount {
  const s = shares.find((x) => x.name === m.source);
  if (!s || !listed(s, actor))
    throw new ForbiddenError(
      `${field}.source: '${m.source}' is not a share user '${actor.name}' may use (rule shares)`,
      {
        rule: 'shares',
        field: `${field}.source`,
      },
    );
  if (s.read_only && m.read_only === false)
    throw new ForbiddenError(`${field}.read_only: share '${s.name}' is read-only (rule shares.read_only)`, {
      rule: 'shares.read_only',
      field: `${field}.read_only`,
    });
  // per_user: <export>/<user name>/… (user names are lowercase letters, digits, "_", "." and "-"); {user} is the
  // caller's name, {env} stays until the env's id is known (shareSpec).
  const own = m.sub_path?.split('/').map((seg) => (seg === '{user}' ? actor.name : seg));
  const sub = [s.sub_directories === 'per_user' ? actor.name : undefined, own?.join('/')].filter(Boolean).join('/');
  // What Hangar makes (owned by the login user): the per_user directory and all below it, or everything from the
  // first placeholder down. Never a directory above: those are the operator's.
  const first = m.sub_path?.split('/').findIndex((seg) => seg === '{user}' || seg === '{env}') ?? -1;
  const makeBelow = s.sub_directories === 'per_user' ? '' : first >= 0 ? own!.slice(0, first).join('/') : undefined;
  return {
    type: 'share',
    source: s.name,
    target: m.target,
    read_only: m.read_only ?? s.read_only,
    ...(sub ? { sub_path: sub } : {}),
    ...(makeBelow !== undefined && !s.read_only ? { make_below: makeBelow } : {}),
  };
}

/** A stored share mount → the backend's; the share is read from the config again (removed since: refused). */
export function shareSpec(shares: ShareConfig[], m: Mount, envId: string): SpecMount {
  const s = shares.find((x) => x.name === m.source);
  if (!s) throw new UnprocessableError(`share '${m.source}' is no longer in the gateway's shares`);
  const root = s.export === '/' ? '' : s.export;
  const perEnv = s.sub_directories === 'per_env';
  const rel = [
    ...(perEnv ? [envId] : []),
    ...(m.sub_path ? m.sub_path.split('/').map((seg) => (seg === '{env}' ? envId : seg)) : []),
  ].join('/');
  // Rows made before make_below was recorded: a per_user share's first directory is the user's.
  const makeBelow = perEnv ? '' : (m.make_below ?? (s.sub_directories === 'per_user' && rel ? '' : undefined));
  const base = makeBelow ? `${root}/${makeBelow}` : root || '/';
  const nfs: NfsSource = {
    kind: s.kind,
    server: s.server,
    path: rel ? `${root}/${rel}` : root || '/',
    version: s.nfs_version,
    options: s.options,
    ...(s.kind === 'cephfs' ? { cephUser: s.ceph_user ?? 'hangar', secret: cephSecret(s) } : {}),
    ...(makeBelow !== undefined && rel && !s.read_only
      ? { make: { base, sub: makeBelow ? rel.slice(makeBelow.length + 1) : rel } }
      : {}),
  };
  return { type: 'nfs', source: s.name, target: m.target, read_only: m.read_only || s.read_only, nfs };
}

/** The key in a cephfs share's secret_file (a bare key, or a keyring's "key = …" line); the error never quotes it. */
function cephSecret(s: ShareConfig): string | undefined {
  if (!s.secret_file) return undefined;
  let text: string;
  try {
    text = fs.readFileSync(s.secret_file, 'utf8');
  } catch (err) {
    throw new UnprocessableError(
      `share '${s.name}': its secret_file can't be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  const key = (/^\s*key\s*=\s*(\S+)/m.exec(text)?.[1] ?? text).trim();
  if (!/^[A-Za-z0-9+/=]+$/.test(key))
    throw new UnprocessableError(`share '${s.name}': its secret_file does not hold a Ceph key (base64)`);
  return key;
}
