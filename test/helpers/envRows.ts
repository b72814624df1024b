// Environment rows written straight into a data dir's database (no backend objects): list, pagination and memory
// figures with thousands of envs, which no backend on this machine could make quickly.
import crypto from 'node:crypto';
import type { Insertable, Kysely } from 'kysely';
import type { Database, EnvironmentsTable } from '../../daemon/store/schema';

export async function insertEnvRows(
  db: Kysely<Database>,
  ownerId: string,
  n: number,
  o: { prefix?: string; row?: (i: number) => Partial<Insertable<EnvironmentsTable>> } = {},
): Promise<string[]> {
  const ids: string[] = [];
  const base = Date.parse('2026-01-01T00:00:00Z');
  for (let i = 0; i < n; i += 500) {
    const rows = Array.from({ length: Math.min(500, n - i) }, (_, j): Insertable<EnvironmentsTable> => {
      const k = i + j;
      const id = crypto.randomUUID();
      ids.push(id);
      // Every 7th shares its creation time with the one before: the order must break ties by name, then id.
      const at = new Date(base + (k - (k % 7 === 0 && k ? 1 : 0)) * 1000).toISOString();
      return {
        id,
        name: `${o.prefix ?? 'row'}-${k}`,
        owner_id: ownerId,
        deployment_mode: 'docker_local',
        environment_type: k % 2 ? 'ide' : 'training',
        gpu_mode: 'none',
        storage_type: 'local',
        storage_config: null,
        lifecycle_policy: 'persistent',
        network_config: null,
        use_jumpserver: 0,
        vnc_port: null,
        vnc_password: null,
        rdp_port: null,
        rdp_password: null,
        declared_access: null,
        backend_id: 'local',
        backend_ref: null,
        image: 'hangar-test/ssh:latest',
        image_pull_policy: 'never',
        cpu: null,
        memory_mb: null,
        gpu_count: 0,
        gpu_device_ids: '[]',
        gpu_model: null,
        gpu_mig_profile: null,
        env_vars: '{}',
        ssh_user: 'hangar',
        host_key: null,
        jupyter_token: null,
        status: k % 3 ? 'stopped' : 'failed',
        status_message: null,
        created_at: at,
        updated_at: at,
        ...o.row?.(k),
      };
    });
    await db.insertInto('environments').values(rows).execute();
  }
  return ids;
}
