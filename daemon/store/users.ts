import type { Kysely } from 'kysely';
import type { SshKey, User } from '../../common/model';
import { hotQuery } from './hotQuery';
import type { Database } from './schema';

export class UserRepo {
  /** Every authenticated request asks it. */
  private readonly byTokenHash: (hash: string) => Promise<User | undefined>;

  constructor(private readonly db: Kysely<Database>) {
    this.byTokenHash = hotQuery(
      db,
      (d, hash: string) =>
        d
          .selectFrom('api_tokens')
          .innerJoin('users', 'users.id', 'api_tokens.user_id')
          .select(['users.id', 'users.name', 'users.role', 'users.team', 'users.created_at'])
          .where('api_tokens.token_hash', '=', hash),
      [''],
    );
  }

  async insert(u: User): Promise<void> {
    await this.db.insertInto('users').values(u).execute();
  }
  async get(id: string): Promise<User | undefined> {
    return this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  }
  async byName(name: string): Promise<User | undefined> {
    return this.db.selectFrom('users').selectAll().where('name', '=', name).executeTakeFirst();
  }
  async list(): Promise<User[]> {
    return this.db.selectFrom('users').selectAll().orderBy('created_at').execute();
  }
  async count(): Promise<number> {
    const r = await this.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async insertToken(t: { id: string; user_id: string; name: string; token_hash: string }): Promise<void> {
    await this.db
      .insertInto('api_tokens')
      .values({ ...t, created_at: new Date().toISOString(), last_used_at: null })
      .execute();
  }
  async userForTokenHash(hash: string): Promise<User | undefined> {
    return this.byTokenHash(hash);
  }
  async touchToken(hash: string): Promise<void> {
    await this.db
      .updateTable('api_tokens')
      .set({ last_used_at: new Date().toISOString() })
      .where('token_hash', '=', hash)
      .execute();
  }
  async listTokens(userId: string) {
    return this.db
      .selectFrom('api_tokens')
      .select(['id', 'name', 'created_at', 'last_used_at'])
      .where('user_id', '=', userId)
      .execute();
  }
  async deleteToken(userId: string, id: string): Promise<boolean> {
    const r = await this.db
      .deleteFrom('api_tokens')
      .where('user_id', '=', userId)
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(r.numDeletedRows) === 1;
  }

  async insertKey(userId: string, k: SshKey): Promise<void> {
    await this.db
      .insertInto('ssh_keys')
      .values({ ...k, user_id: userId })
      .execute();
  }
  async listKeys(userId: string): Promise<SshKey[]> {
    return this.db
      .selectFrom('ssh_keys')
      .select(['id', 'name', 'public_key', 'fingerprint', 'created_at'])
      .where('user_id', '=', userId)
      .orderBy('created_at')
      .execute();
  }
  async deleteKey(userId: string, id: string): Promise<boolean> {
    const r = await this.db
      .deleteFrom('ssh_keys')
      .where('user_id', '=', userId)
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(r.numDeletedRows) === 1;
  }
}

export { AuditRepo } from './audit';
