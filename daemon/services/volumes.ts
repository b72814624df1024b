// Named volumes as a user sees them: their own and their team's (admins: all).
import type { User, Volume } from '../../common/model';
import type { VolumeRepo } from '../store/volumes';

export class VolumeService {
  private readonly repo: VolumeRepo;
  constructor(o: { repo: VolumeRepo }) {
    this.repo = o.repo;
  }

  list(actor: User): Promise<Volume[]> {
    return this.repo.list(actor.role === 'admin' ? {} : { owner_id: actor.id, team: actor.team ?? null });
  }
}
