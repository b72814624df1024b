// An environment as JumpServer objects: a host asset (SSH, and RDP/VNC for desktops, at the env's endpoints on the
// gateway), hosted accounts (a key pair made for JumpServer: KoKo's VS Code mode needs a secret JumpServer holds; the
// desktop's RDP login and VNC password for Razor/Lion) and an asset permission for its owner. Made all or nothing:
// what was made is deleted again when a later step fails.
import { JumpServerRefused, type JumpServerClient } from './client';

/** The comment that marks an asset as this gateway's (reconcile finds its own by it). */
export const marker = (gatewayId: string, envId: string) => `hangar:${gatewayId}:${envId}`;
export const markerPrefix = (gatewayId: string) => `hangar:${gatewayId}:`;

export type JmsProtocol = 'ssh' | 'rdp' | 'vnc';

/** A hosted account: its name (what connection tokens and KoKo logins name), login and secret. */
export interface AccountSpec {
  name: string;
  username: string;
  secret_type: 'ssh_key' | 'password';
  secret: string;
}

export interface AssetSpec {
  name: string;
  address: string;
  /** ssh first; rdp/vnc for desktops: each at its endpoint port on the gateway. */
  protocols: { name: JmsProtocol; port: number }[];
  comment: string;
  platform: string | number;
  node?: string;
  /** The first is the SSH key account (its username is the one the permission names). */
  accounts: AccountSpec[];
  /** JumpServer user ids allowed to connect. */
  users: string[];
  active: boolean;
}

export interface AssetIds {
  asset_id: string;
  account_id: string;
  permission_id: string;
}

export async function registerAsset(c: JumpServerClient, s: AssetSpec): Promise<AssetIds> {
  const made: string[] = [];
  try {
    const asset = await c.request<{ id: string }>('POST', '/assets/hosts/', {
      name: s.name,
      address: s.address,
      platform: typeof s.platform === 'number' ? { pk: s.platform } : s.platform,
      protocols: s.protocols,
      nodes: s.node ? [s.node] : [],
      is_active: s.active,
      comment: s.comment,
      labels: ['hangar:environment'],
    });
    made.push(`/assets/hosts/${asset.id}/`);
    const ids: string[] = [];
    for (const a of s.accounts) {
      const account = await c.request<{ id: string }>('POST', '/accounts/accounts/', {
        asset: asset.id,
        ...a,
        privileged: false,
        is_active: true,
        push_now: false,
        comment: s.comment,
      });
      made.push(`/accounts/accounts/${account.id}/`);
      ids.push(account.id);
    }
    const perm = await c.request<{ id: string }>('POST', '/perms/asset-permissions/', {
      name: s.name,
      users: s.users,
      assets: [asset.id],
      accounts: [...new Set(s.accounts.map((a) => a.name))],
      protocols: s.protocols.map((p) => p.name),
      actions: ['connect', 'upload', 'download', 'copy', 'paste'],
      is_active: s.active,
      comment: s.comment,
    });
    return { asset_id: asset.id, account_id: ids[0], permission_id: perm.id };
  } catch (err) {
    // Compensation: newest first; a failure here leaves the object for reconcile (it carries our marker).
    for (const p of made.reverse()) await c.remove(p).catch(() => undefined);
    throw err;
  }
}

export async function setActive(c: JumpServerClient, ids: AssetIds, active: boolean): Promise<void> {
  await c.request('PATCH', `/assets/hosts/${ids.asset_id}/`, { is_active: active });
  await c.request('PATCH', `/perms/asset-permissions/${ids.permission_id}/`, { is_active: active });
}

/** The permission, every account of the asset (desktops have three) and the asset. */
export async function removeAsset(c: JumpServerClient, ids: { [K in keyof AssetIds]?: string | null }): Promise<void> {
  if (ids.permission_id) await c.remove(`/perms/asset-permissions/${ids.permission_id}/`);
  const others = ids.asset_id
    ? await c.all<{ id: string }>('/accounts/accounts/', { asset: ids.asset_id }).catch((err: unknown) => {
        if (err instanceof JumpServerRefused && err.status === 404) return [];
        throw err;
      })
    : [];
  for (const id of new Set([ids.account_id, ...others.map((a) => a.id)]))
    if (id) await c.remove(`/accounts/accounts/${id}/`);
  if (ids.asset_id) await c.remove(`/assets/hosts/${ids.asset_id}/`);
}

/** Whether the asset still exists (and is it active). */
export async function assetState(c: JumpServerClient, id: string): Promise<{ is_active: boolean } | undefined> {
  try {
    return await c.request<{ is_active: boolean }>('GET', `/assets/hosts/${id}/`);
  } catch (err) {
    if (err instanceof JumpServerRefused && err.status === 404) return undefined;
    throw err;
  }
}

/** This gateway's assets in JumpServer, with the env id each is for. */
export async function oursIn(c: JumpServerClient, prefix: string): Promise<{ id: string; envId: string }[]> {
  const hosts = await c.all<{ id: string; comment?: string }>('/assets/hosts/');
  return hosts
    .filter((h) => h.comment?.startsWith(prefix))
    .map((h) => ({ id: h.id, envId: h.comment!.slice(prefix.length) }));
}

/** Ids of a JumpServer user and its objects (accounts and permissions) marked as ours, for an asset being removed. */
export async function objectsOf(c: JumpServerClient, assetId: string): Promise<Partial<AssetIds>> {
  const accounts = await c.all<{ id: string }>('/accounts/accounts/', { asset: assetId });
  const perms = await c.all<{ id: string; assets?: string[] }>('/perms/asset-permissions/');
  return {
    asset_id: assetId,
    account_id: accounts[0]?.id,
    permission_id: perms.find((p) => p.assets?.includes(assetId))?.id,
  };
}

export async function userIdOf(c: JumpServerClient, username: string): Promise<string> {
  const users = await c.all<{ id: string; username: string }>('/users/users/', { username });
  const u = users.find((x) => x.username === username);
  if (!u) throw new JumpServerRefused(404, '', `user '${username}' (no such JumpServer user)`);
  return u.id;
}
