// A create by profile, resolved: pure (no store, no backends), so every rule is unit-tested. The profile's fixed
// fields, then the chosen options (each checked against its choices), then the free fields the user may set.
import crypto from 'node:crypto';
import type { User } from '../../common/model';
import {
  canonical,
  choiceValue,
  findChoice,
  mayUse,
  PROFILE_FIELDS,
  PROFILE_FREE_FIELDS,
  type CreateFromProfileInput,
  type Profile,
} from '../../common/profiles';
import { createEnvironmentSchema, describeZodError, type CreateEnvironmentInput } from '../../common/schemas';
import { ForbiddenError, InputError, NotFoundError } from '../errors';

/** What an env keeps of its profile: the name, the options chosen, and the governed fields as resolved then. */
export interface ProfileOrigin {
  profile: string;
  options: Record<string, unknown>;
  snapshot: { hash: string; fields: Record<string, unknown> };
}

export interface Resolved {
  input: CreateEnvironmentInput;
  origin: ProfileOrigin;
}

export const profileHash = (p: Pick<Profile, 'environment' | 'options'>): string =>
  crypto
    .createHash('sha256')
    .update(canonical({ environment: p.environment, options: p.options }))
    .digest('hex');

/** The option values to use: each given one must name a choice (400 naming options.<field>); the rest default. */
export function chooseOptions(profile: Profile, given: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of Object.keys(given)) {
    if (!(field in profile.options)) {
      const offered = Object.keys(profile.options);
      throw new InputError(
        `options.${field}`,
        `options.${field}: profile '${profile.name}' offers no such option (${offered.length ? `its options: ${offered.join(', ')}` : 'it has none'})`,
      );
    }
  }
  for (const [field, o] of Object.entries(profile.options)) {
    if (!(field in given)) {
      out[field] = choiceValue(o.default);
      continue;
    }
    const c = findChoice(o, given[field]);
    if (c === undefined)
      throw new InputError(
        `options.${field}`,
        `options.${field}: ${JSON.stringify(given[field])} is not one of the choices (${o.choices.map((x) => JSON.stringify(choiceValue(x))).join(', ')})`,
      );
    out[field] = choiceValue(c);
  }
  return out;
}

/** A governed field in the request: 403 when the profile fixes it, 400 pointing at options when it is an option. */
function refuseOverrides(profile: Profile, request: CreateFromProfileInput): void {
  for (const [field, v] of Object.entries(request)) {
    if (v === undefined || ['name', 'profile', 'options'].includes(field)) continue;
    if ((PROFILE_FREE_FIELDS as readonly string[]).includes(field)) continue;
    if (field in profile.options)
      throw new InputError(
        field,
        `${field}: is an option of profile '${profile.name}': give it as options.${field} (one of its choices)`,
      );
    throw new ForbiddenError(`${field}: is fixed by profile '${profile.name}' and can't be overridden`, {
      rule: 'profile',
      field,
    });
  }
}

export function resolve(profile: Profile, request: CreateFromProfileInput, user: User): Resolved {
  // Not usable is the same answer as not there, so other teams' profiles don't leak.
  if (!mayUse(profile, user)) throw new NotFoundError('profile', profile.name);
  refuseOverrides(profile, request);
  const options = chooseOptions(profile, request.options ?? {});
  const free = Object.fromEntries(
    PROFILE_FREE_FIELDS.filter((f) => request[f] !== undefined).map((f) => [f, request[f]]),
  );
  const r = createEnvironmentSchema.safeParse({ ...profile.environment, ...options, ...free, name: request.name });
  if (!r.success) {
    const { field, message } = describeZodError(r.error);
    throw new InputError(field, `profile '${profile.name}' with these options: ${message}`);
  }
  return {
    input: r.data,
    origin: {
      profile: profile.name,
      // The values chosen, defaults included: a recreate gives the same env even if a default changes later.
      options,
      snapshot: { hash: profileHash(profile), fields: governed(r.data) },
    },
  };
}

/** The governed fields of a resolved input (what drift compares). */
export function governed(input: CreateEnvironmentInput): Record<string, unknown> {
  return Object.fromEntries(PROFILE_FIELDS.map((f) => [f, (input as Record<string, unknown>)[f] ?? null]));
}

/** Fields whose value the profile gives now differs from what the env was made with. */
export function drift(
  then: Record<string, unknown>,
  now: Record<string, unknown>,
): { field: string; env: unknown; profile: unknown }[] {
  return PROFILE_FIELDS.filter((f) => canonical(then[f] ?? null) !== canonical(now[f] ?? null)).map((f) => ({
    field: f,
    env: then[f] ?? null,
    profile: now[f] ?? null,
  }));
}

/** Why a profile with its default options makes no valid create (config load checks every one); undefined: fine. */
export function defaultsProblem(profile: Profile): string | undefined {
  const options = Object.fromEntries(Object.entries(profile.options).map(([f, o]) => [f, choiceValue(o.default)]));
  const r = createEnvironmentSchema.safeParse({ ...profile.environment, ...options, name: 'profile-check' });
  return r.success ? undefined : describeZodError(r.error).message;
}
