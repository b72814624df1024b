// Who owns a volume or a dataset: the caller, or a team the caller is in (admins may name any team).
import type { User } from '../../common/model';
import { ForbiddenError } from '../errors';
import type { OwnedBy } from '../store/owners';

/** The owner a create asks for: `team` absent → the caller; true → the caller's team; a name → that team. */
export function ownerFor(actor: User, team: true | string | undefined): OwnedBy {
  if (team === undefined) return { owner_id: actor.id };
  const name = team === true ? actor.team : team;
  if (!name || (name !== actor.team && actor.role !== 'admin'))
    throw new ForbiddenError(`team: user '${actor.name}' is not in team '${name ?? '(none)'}'`, {
      rule: 'team',
      field: 'team',
    });
  return { team: name };
}
