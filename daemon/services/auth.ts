// Users and bearer tokens. Tokens are random, shown once, and stored only as SHA-256 hashes.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { User } from '../../common/model';
import { ConflictError, ForbiddenError, NotFoundError, UnauthorizedError } from '../errors';
import type { UserRepo } from '../store/users';

export const hashToken = (t: string) => crypto.createHash('sha256').update(t).digest('hex');
export const newToken = () => `hgr_${crypto.randomBytes(32).toString('base64url')}`;

export class AuthService {
  /** last_used_at is written at most once a minute per token, not on every request. */
  private readonly touched = new Map<string, number>();
  private readonly users: UserRepo;
  constructor(o: { users: UserRepo }) {
    this.users = o.users;
  }

  /** First start: an admin and its token in <dataDir>/admin.token (0600). Returns the path when created. */
  async bootstrap(dataDir: string): Promise<string | undefined> {
    if ((await this.users.count()) > 0) return undefined;
    const admin: User = { id: crypto.randomUUID(), name: 'admin', role: 'admin', created_at: new Date().toISOString() };
    await this.users.insert(admin);
    const token = await this.issueToken(admin.id, 'bootstrap');
    const file = path.join(dataDir, 'admin.token');
    fs.writeFileSync(file, token + '\n', { mode: 0o600 });
    fs.chmodSync(file, 0o600);
    return file;
  }

  async authenticate(header: string | undefined): Promise<User> {
    const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
    if (!m) throw new UnauthorizedError();
    const hash = hashToken(m[1]);
    const user = await this.users.userForTokenHash(hash);
    if (!user) throw new UnauthorizedError('invalid or revoked token');
    if ((this.touched.get(hash) ?? 0) < Date.now() - 60_000) {
      this.touched.set(hash, Date.now());
      void this.users.touchToken(hash).catch(() => undefined);
    }
    return user;
  }

  async issueToken(userId: string, name: string): Promise<string> {
    const token = newToken();
    await this.users.insertToken({ id: crypto.randomUUID(), user_id: userId, name, token_hash: hashToken(token) });
    return token;
  }

  async createUser(
    actor: User,
    name: string,
    role: User['role'],
    team: string | null = null,
  ): Promise<{ user: User; token: string }> {
    if (actor.role !== 'admin') throw new ForbiddenError('only an admin can create users');
    if (await this.users.byName(name)) throw new ConflictError(`user '${name}' already exists`);
    const user: User = { id: crypto.randomUUID(), name, role, team, created_at: new Date().toISOString() };
    await this.users.insert(user);
    return { user, token: await this.issueToken(user.id, 'initial') };
  }

  /** A session cookie names its user by id (Jupyter and tunnel cookies). */
  userById(id: string): Promise<User | undefined> {
    return this.users.get(id);
  }

  async listUsers(actor: User): Promise<User[]> {
    if (actor.role !== 'admin') throw new ForbiddenError('only an admin can list users');
    return this.users.list();
  }

  listTokens(actor: User) {
    return this.users.listTokens(actor.id);
  }

  async revokeToken(actor: User, id: string): Promise<void> {
    if (!(await this.users.deleteToken(actor.id, id))) throw new NotFoundError('token', id);
  }
}
