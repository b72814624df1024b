// "Sync my datasets back now": where an env's datasets are copies (Kubernetes pods sync them in at start and back
// at stop), its backend copies the read-write ones back on demand; where they are mounts (Docker, VMs), writes reach
// the store as they happen and there is nothing to do — the answer says so rather than pretending.
import type { DatasetsSynced, Environment } from '../../common/model';
import { capability, type Backends } from '../contract';
import { ConflictError, UnprocessableError } from '../errors';

export async function syncDatasetsBack(backends: Backends, env: Environment): Promise<DatasetsSynced> {
  const rw = (env.storage_config?.mounts ?? [])
    .map((m, i) => ({ m, i }))
    .filter(({ m }) => m.type === 'dataset' && !m.read_only);
  if (!rw.length) throw new UnprocessableError(`environment '${env.name}' has no read-write dataset to sync back`);
  const cap = capability(backends.get(env.backend_id), 'datasetSyncBack');
  if (!cap)
    throw new UnprocessableError(
      `environment '${env.name}' mounts its datasets (backend '${env.backend_id}'): writes reach the store as they happen, there is nothing to sync back`,
    );
  if (env.status !== 'running' || !env.backend_ref)
    throw new ConflictError(
      `environment '${env.name}' is ${env.status}: its datasets are copied back when it stops, and on demand while it runs`,
    );
  const results = await cap.syncBack(env.backend_ref);
  return {
    environment_id: env.id,
    datasets: rw.map(({ m, i }) => {
      const r = results.find((x) => x.mountIndex === i);
      const base = { source: m.source, target: m.target };
      if (!r) return { ...base, ok: false, message: 'its pod has no copy-back container (made by an older gateway)' };
      return r.ok ? { ...base, ok: true } : { ...base, ok: false, message: r.message };
    }),
  };
}
