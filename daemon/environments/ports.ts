// Ports a desktop env publishes on its backend host (VNC, RDP): allocated per backend inside the create's
// transaction; a unique index backs it up.
import type { Kysely } from 'kysely';
import { ConflictError } from '../errors';
import { portIsFree } from '../hostPorts';
import type { Database } from '../store/schema';

export type PortRange = { from: number; to: number };
export const DEFAULT_VNC_PORTS: PortRange = { from: 15900, to: 15999 };
export const DEFAULT_RDP_PORTS: PortRange = { from: 13389, to: 13488 };

/** First free port of the range on this backend (or the one asked for); with `localAddress` (the backend publishes
 *  on this machine), also one nothing listens on there yet. */
export async function allocatePort(
  trx: Kysely<Database>,
  column: 'vnc_port' | 'rdp_port',
  backendId: string,
  wanted: number | null,
  range: PortRange,
  localAddress?: string,
): Promise<number> {
  if (wanted !== null) return wanted;
  const used = new Set(
    (
      await trx
        .selectFrom('environments')
        .select(column)
        .where('backend_id', '=', backendId)
        .where(column, 'is not', null)
        .execute()
    ).map((r) => r[column]),
  );
  for (let p = range.from; p <= range.to; p++)
    if (!used.has(p) && (!localAddress || (await portIsFree(localAddress, p)))) return p;
  throw new ConflictError(
    `no free ${column === 'vnc_port' ? 'VNC' : 'RDP'} port on backend '${backendId}' (range ${range.from}-${range.to} is full${localAddress ? ` or taken on ${localAddress}` : ''})`,
  );
}
