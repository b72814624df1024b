// Datasets in envs that reach the store themselves (VMs mount them with s3fs in the guest, pods sync them with an
// init container): at each backend create, the env's datasets become DatasetSources with credentials scoped to
// exactly those datasets (objectstore/scopedAccess.ts); deleting the env (or a failed create) revokes them. Envs on
// the gateway's own Docker host get none: the daemon mounts for them (datasetMounts.ts).
import type { Environment, Mount } from '../../common/model';
import type { DatasetSource } from '../contract';
import { UnprocessableError } from '../errors';
import type { Logger } from '../log';
import type { ScopedAccess, DatasetGrant } from '../objectstore/scopedAccess';
import type { ObjectStores } from '../objectstore/stores';
import type { DatasetRepo, DatasetRow } from '../store/datasets';

interface Planned {
  n: number;
  mount: Mount;
  row: DatasetRow;
}

export class DatasetAccess {
  constructor(
    private readonly o: {
      datasets: DatasetRepo;
      stores: ObjectStores;
      scoped: ScopedAccess;
      /** Backends the daemon mounts for (its own Docker host): no credentials leave the gateway for those. */
      hostBackends: readonly string[];
      log: Logger;
    },
  ) {}

  /** The env's dataset mounts by index, each with its store's scoped credentials (made now). */
  async sources(env: Environment): Promise<Map<number, DatasetSource>> {
    const out = new Map<number, DatasetSource>();
    if (this.o.hostBackends.includes(env.backend_id)) return out;
    const planned = await this.planned(env, true);
    for (const [store, items] of byStore(planned)) {
      const s = this.o.stores.get(store);
      if (!s) throw new UnprocessableError(`object store '${store}' is no longer configured`);
      const creds = await this.o.scoped.grant(store, env.id, items.map(grantOf)).catch((err: Error) => {
        throw new UnprocessableError(
          `datasets of object store '${store}' could not be given to the env: ${err.message}`,
          'dataset_mount_failed',
        );
      });
      for (const p of items)
        out.set(p.n, {
          endpoint: s.config.guest_endpoint ?? s.config.endpoint,
          region: s.config.region,
          pathStyle: s.config.path_style,
          bucket: p.row.bucket,
          prefix: p.row.prefix,
          accessKeyId: creds.accessKeyId,
          secretAccessKey: creds.secretAccessKey,
        });
      // The account name of a scoped grant (not a secret); a store's own key id is not logged.
      const account = s.config.scoping === 'none' ? '(the store’s own key)' : creds.accessKeyId;
      this.o.log.info({ env: env.id, store, datasets: items.length, account }, 'dataset access');
    }
    return out;
  }

  /** Revokes what sources() made (the account is deleted, its statements removed). Idempotent. */
  async revoke(env: Environment): Promise<void> {
    if (this.o.hostBackends.includes(env.backend_id)) return;
    for (const [store, items] of byStore(await this.planned(env, false)))
      await this.o.scoped.revoke(
        store,
        env.id,
        items.map((p) => p.row.bucket),
      );
  }

  /** The env's dataset mounts with their rows; a dataset gone since is an error (strict) or skipped. */
  private async planned(env: Environment, strict: boolean): Promise<Planned[]> {
    const out: Planned[] = [];
    for (const [n, mount] of (env.storage_config?.mounts ?? []).entries()) {
      if (mount.type !== 'dataset' || !mount.dataset_id) continue;
      const row = await this.o.datasets.get(mount.dataset_id);
      if (row) out.push({ n, mount, row });
      else if (strict)
        throw new UnprocessableError(`dataset '${mount.source}' of mount ${mount.target} no longer exists`);
    }
    return out;
  }
}

const grantOf = (p: Planned): DatasetGrant => ({
  bucket: p.row.bucket,
  prefix: p.row.prefix,
  readOnly: Boolean(p.mount.read_only),
});

function byStore(planned: Planned[]): Map<string, Planned[]> {
  const out = new Map<string, Planned[]>();
  for (const p of planned) out.set(p.row.store, [...(out.get(p.row.store) ?? []), p]);
  return out;
}
