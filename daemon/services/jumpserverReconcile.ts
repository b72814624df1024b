// Drift between Hangar and JumpServer, repaired both ways: an env of ours whose asset was deleted in JumpServer is
// registered again; is_active follows the env's status; an asset of ours with no env (or no longer use_jumpserver)
// is removed with its account and permission.
import * as jms from '../jumpserver/assets';
import type { JumpServerService } from './jumpserver';

export interface JumpServerDrift {
  registered: string[];
  reactivated: string[];
  removed: string[];
  errors: string[];
}

export async function reconcileJumpServer(s: JumpServerService): Promise<JumpServerDrift> {
  const { client, repo, envs, gatewayId } = s.d;
  const out: JumpServerDrift = { registered: [], reactivated: [], removed: [], errors: [] };
  const rows = new Map((await repo.all()).map((r) => [r.env_id, r]));
  const all = await envs.list({});
  for (const env of all.filter((e) => e.use_jumpserver)) {
    const row = rows.get(env.id);
    const state = row?.asset_id ? await jms.assetState(client, row.asset_id) : undefined;
    const want = env.status !== 'stopped';
    if (!state) {
      if (row?.asset_id) await jms.removeAsset(client, { ...row, asset_id: null });
      if (row) await repo.update(env.id, { asset_id: null, account_id: null, permission_id: null });
      await s.sync(env).catch((err) => out.errors.push(`${env.name}: ${(err as Error).message}`));
      if ((await repo.get(env.id))?.asset_id) out.registered.push(env.id);
    } else if (state.is_active !== want) {
      await s.active(env, want);
      out.reactivated.push(env.id);
    }
  }
  const wanted = new Set(all.filter((e) => e.use_jumpserver).map((e) => e.id));
  for (const row of rows.values())
    if (!wanted.has(row.env_id)) {
      await s.removed(row.env_id);
      out.removed.push(row.env_id);
    }
  for (const a of await jms.oursIn(client, jms.markerPrefix(gatewayId)))
    if (!wanted.has(a.envId) || (await repo.get(a.envId))?.asset_id !== a.id) {
      await jms.removeAsset(client, await jms.objectsOf(client, a.id));
      out.removed.push(a.envId);
    }
  return out;
}
