// Datasets in Docker envs: the daemon (root on the Docker host, which is its own host) mounts each dataset's
// bucket/prefix with s3fs under a Hangar-owned directory, <data dir>/dataset-mounts/<env id>/<n>, and the container
// gets a plain bind of that directory — so the container never has credentials, CAP_SYS_ADMIN or /dev/fuse. The
// store's key is written to a 0600 passwd file only while s3fs starts (it reads it once) and removed right after.
// Mounted before every start, unmounted after stop and delete.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Environment } from '../../common/model';
import { UnprocessableError } from '../errors';
import type { Logger } from '../log';
import type { ObjectStores } from '../objectstore/stores';
import type { DatasetRepo } from '../store/datasets';
import type { DatasetAccess } from './datasetAccess';

const run = promisify(execFile);

/** What the lifecycle asks of it (context.ts), all idempotent: host mounts before a start and after a stop; revoke:
 *  the scoped credentials of an env that reaches the store itself, when it is deleted (or its create failed). */
export interface DatasetAttachments {
  attach(env: Environment): Promise<void>;
  detach(envId: string): Promise<void>;
  revoke(env: Environment): Promise<void>;
}

/** The uid/gid the login user gets in Hangar's images (the first useradd): files in a mounted dataset are theirs. */
const LOGIN_UID = 1000;

export class DatasetMounts implements DatasetAttachments {
  constructor(
    private readonly o: {
      root: string;
      datasets: DatasetRepo;
      stores: ObjectStores;
      log: Logger;
      uid?: number;
      s3fs?: string;
      /** Backends whose containers run on this host (only their envs are mounted here). */
      hostBackends: readonly string[];
      /** Scoped credentials of envs elsewhere (VMs, pods). */
      access?: DatasetAccess;
    },
  ) {}

  async revoke(env: Environment): Promise<void> {
    await this.o.access?.revoke(env);
  }

  /** The host directory of an env's n-th mount (made here, so dockerd finds the bind source at create). */
  dir(envId: string, n: number): string {
    if (!/^[0-9a-f-]{36}$/.test(envId)) throw new Error(`not an env id: ${envId}`);
    const d = path.join(this.o.root, envId, String(n));
    fs.mkdirSync(d, { recursive: true, mode: 0o755 });
    return d;
  }

  async attach(env: Environment): Promise<void> {
    if (!this.o.hostBackends.includes(env.backend_id)) return;
    const mounts = env.storage_config?.mounts ?? [];
    for (const [n, m] of mounts.entries()) {
      if (m.type !== 'dataset' || !m.dataset_id) continue;
      const dir = this.dir(env.id, n);
      if (mounted().has(dir)) continue;
      const ds = await this.o.datasets.get(m.dataset_id);
      if (!ds) throw new UnprocessableError(`dataset '${m.source}' of mount ${m.target} no longer exists`);
      const store = this.o.stores.get(ds.store);
      const creds = this.o.stores.credentialsOf(ds.store);
      if (!store || !creds) throw new UnprocessableError(`object store '${ds.store}' is no longer configured`);
      const passwd = path.join(this.o.root, `.${env.id}-${n}.passwd`);
      fs.writeFileSync(passwd, `${creds.accessKeyId}:${creds.secretAccessKey}\n`, { mode: 0o600 });
      const uid = this.o.uid ?? LOGIN_UID;
      const opts = [
        `passwd_file=${passwd}`,
        `url=${store.config.endpoint}`,
        `endpoint=${store.config.region}`,
        ...(store.config.path_style ? ['use_path_request_style'] : []),
        'allow_other',
        `uid=${uid}`,
        `gid=${uid}`,
        'umask=0022',
        'mp_umask=0022',
        ...(m.read_only ? ['ro'] : []),
      ];
      try {
        // Arguments only (no shell); bucket and prefix were validated at the dataset's creation.
        await run(this.o.s3fs ?? 's3fs', [`${ds.bucket}:/${ds.prefix}`, dir, '-o', opts.join(',')], {
          timeout: 30_000,
        });
        await waitMounted(dir);
      } catch (err) {
        throw new UnprocessableError(
          `dataset '${ds.name}' could not be mounted at ${m.target}: ${firstLine(err)}`,
          'dataset_mount_failed',
        );
      } finally {
        fs.rmSync(passwd, { force: true });
      }
      this.o.log.info({ env: env.id, dataset: ds.id, dir, read_only: Boolean(m.read_only) }, 'dataset mounted');
    }
  }

  async detach(envId: string): Promise<void> {
    const base = path.join(this.o.root, envId);
    if (!fs.existsSync(base)) return;
    const live = mounted();
    for (const n of fs.readdirSync(base)) {
      const dir = path.join(base, n);
      if (live.has(dir))
        await run('fusermount3', ['-u', dir]).catch(() => run('umount', ['-l', dir]).catch(() => undefined));
    }
    if (![...mounted()].some((d) => d.startsWith(base + '/'))) fs.rmSync(base, { recursive: true, force: true });
  }
}

/** The mount points of s3fs file systems now (from /proc/self/mounts; octal escapes decoded). */
function mounted(): Set<string> {
  const out = new Set<string>();
  for (const line of fs.readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
    const [, at, type] = line.split(' ');
    if (type === 'fuse.s3fs') out.add(at.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
  }
  return out;
}

async function waitMounted(dir: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (mounted().has(dir)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('s3fs started but the mount did not appear');
}

const firstLine = (err: unknown) =>
  String((err as { stderr?: string }).stderr || (err as Error).message)
    .trim()
    .split('\n')[0];
