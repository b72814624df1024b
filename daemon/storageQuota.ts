// Volume quotas (config volume_quotas), checked where a volume is made: POST /volumes, a resize, and the first mount
// of a new name in an env create. Refused with the numbers.
import type { Kysely } from 'kysely';
import { ForbiddenError } from './errors';
import type { QuotaLimit, VolumeQuotas } from './storageConfig';
import type { Database } from './store/schema';
import { usageOf, type VolumeOwner } from './store/volumes';

/** 403 (rule volume_quotas) when one more volume (unless resizing) or `addGb` more would pass the owner's limit. */
export async function checkVolumeQuota(
  db: Kysely<Database>,
  quotas: VolumeQuotas,
  owner: VolumeOwner,
  addGb: number,
  resizing = false,
): Promise<void> {
  const lim: QuotaLimit = owner.owner_id ? quotas.per_user : quotas.per_team;
  if (lim.max_count === undefined && lim.max_total_gb === undefined) return;
  const who = owner.owner_id ? 'user' : `team '${owner.team}'`;
  const key = owner.owner_id ? 'per_user' : 'per_team';
  const use = await usageOf(db, owner);
  if (!resizing && lim.max_count !== undefined && use.count + 1 > lim.max_count)
    throw new ForbiddenError(
      `volume quota: ${who} has ${use.count} of ${lim.max_count} volumes (quota ${key}.max_count)`,
      { rule: 'volume_quotas', field: 'name' },
    );
  if (lim.max_total_gb !== undefined && use.total_gb + addGb > lim.max_total_gb)
    throw new ForbiddenError(
      `volume quota: ${who} has ${use.total_gb} GB of ${lim.max_total_gb} GB; ${addGb} GB more would be ${use.total_gb + addGb} GB (quota ${key}.max_total_gb)`,
      { rule: 'volume_quotas', field: 'size_gb' },
    );
}
