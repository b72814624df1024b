// Profiles as a service: config-defined ones (read-only) and API-defined ones (the store), who may see and use
// which, the create request a profile resolves to, and what changed in a profile since an env was made from it.
import type { Environment, User } from '../../common/model';
import {
  mayUse,
  PROFILE_FIELDS,
  type CreateFromProfileInput,
  type Profile,
  type ProfileDrift,
  type ProfileInfo,
  type ProfileList,
} from '../../common/profiles';
import { ConflictError, ForbiddenError, NotFoundError } from '../errors';
import type { ProfileRepo } from '../store/profiles';
import type { AuditRepo } from '../store/users';
import { drift, profileHash, resolve, type Resolved } from './resolve';

export interface ProfileServiceOptions {
  repo: ProfileRepo;
  audit: AuditRepo;
  /** From the config file: listed first, never changed through the API. */
  configured: Profile[];
  /** Roles that may create only from profiles. */
  onlyForRoles: string[];
}

const adminOnly = (actor: User, what: string) => {
  if (actor.role !== 'admin') throw new ForbiddenError(`${what} is for admins`, { rule: 'admin' });
};

export class ProfileService {
  constructor(private readonly o: ProfileServiceOptions) {}

  private async all(): Promise<ProfileInfo[]> {
    const info = (p: Profile, source: ProfileInfo['source']) => ({ ...p, source, hash: profileHash(p) });
    const fromConfig = this.o.configured.map((p) => info(p, 'config'));
    const names = new Set(fromConfig.map((p) => p.name));
    const stored = (await this.o.repo.list()).filter((r) => !names.has(r.profile.name));
    return [...fromConfig, ...stored.map((r) => info(r.profile, 'api'))];
  }

  customAllowed(actor: User): boolean {
    return actor.role === 'admin' || !this.o.onlyForRoles.includes(actor.role);
  }

  /** The profiles the caller may use (an admin: all of them). */
  async list(actor: User): Promise<ProfileList> {
    return { profiles: (await this.all()).filter((p) => mayUse(p, actor)), custom_allowed: this.customAllowed(actor) };
  }

  /** One the caller may use; any other is 404, so other teams' profiles don't leak. */
  async get(actor: User, name: string): Promise<ProfileInfo> {
    const p = (await this.all()).find((x) => x.name === name);
    if (!p || !mayUse(p, actor)) throw new NotFoundError('profile', name);
    return p;
  }

  async create(actor: User, p: Profile): Promise<ProfileInfo> {
    adminOnly(actor, 'defining profiles');
    if ((await this.all()).some((x) => x.name === p.name))
      throw new ConflictError(`profile '${p.name}' already exists`);
    await this.o.repo.put(p);
    await this.o.audit.record({ user_id: actor.id, action: 'profile.create', target: p.name });
    return this.get(actor, p.name);
  }

  async update(actor: User, p: Profile): Promise<ProfileInfo> {
    adminOnly(actor, 'changing profiles');
    const name = p.name;
    await this.writable(actor, name);
    await this.o.repo.put(p);
    await this.o.audit.record({ user_id: actor.id, action: 'profile.update', target: name });
    return this.get(actor, name);
  }

  async delete(actor: User, name: string): Promise<void> {
    adminOnly(actor, 'deleting profiles');
    await this.writable(actor, name);
    await this.o.repo.delete(name);
    await this.o.audit.record({ user_id: actor.id, action: 'profile.delete', target: name });
  }

  /** 404 when unknown, 409 when the config file defines it (change it there). */
  private async writable(actor: User, name: string): Promise<void> {
    const p = await this.get(actor, name);
    if (p.source === 'config')
      throw new ConflictError(
        `profile '${name}' is defined in the gateway's configuration file: change it there (read-only through the API)`,
      );
  }

  /** A create without a profile: refused (403) for roles restricted to profiles. */
  assertCustomAllowed(actor: User): void {
    if (!this.customAllowed(actor))
      throw new ForbiddenError(`role '${actor.role}' creates environments from a profile only: give "profile"`, {
        rule: 'profiles_only_for_roles',
        field: 'profile',
      });
  }

  /** A PATCH of an env made from a profile may not change what the profile fixes (403 naming the field). */
  assertPatchAllowed(actor: User, env: Environment, patch: object): void {
    if (!env.profile || actor.role === 'admin') return;
    const field = Object.keys(patch).find((k) => PROFILE_FIELDS.includes(k));
    if (field)
      throw new ForbiddenError(`${field}: is fixed by profile '${env.profile}' and can't be changed`, {
        rule: 'profile',
        field,
      });
  }

  /** A create by profile → the create input and what the env keeps of its profile. */
  async resolveCreate(actor: User, req: CreateFromProfileInput): Promise<Resolved> {
    return resolve(await this.get(actor, req.profile), req, actor);
  }

  /** What changed in an env's profile since it was made, and the body that makes it again. */
  async drift(actor: User, env: Environment): Promise<ProfileDrift> {
    const rec = await this.o.repo.envProfile(env.id);
    const none = { environment_id: env.id, profile: null, profile_options: null, available: false };
    if (!rec) return { ...none, profile_changed: false, changed: [], recreate: null };
    const p = await this.get(actor, rec.profile).catch(() => undefined);
    const base = { ...none, profile: rec.profile, profile_options: rec.options, available: Boolean(p) };
    const recreate = { name: env.name, profile: rec.profile, options: rec.options };
    if (!p) return { ...base, profile_changed: true, changed: [], recreate };
    // Options that are no longer offered fall back to the defaults, as a recreate would.
    const now = (() => {
      try {
        return resolve(p, { name: env.name, profile: p.name, options: rec.options }, actor).origin.snapshot.fields;
      } catch {
        return resolve(p, { name: env.name, profile: p.name, options: {} }, actor).origin.snapshot.fields;
      }
    })();
    return {
      ...base,
      profile_changed: p.hash !== rec.snapshot.hash,
      changed: drift(rec.snapshot.fields, now),
      recreate,
    };
  }
}
