// Profiles: an admin's presets. A profile fixes some create fields and offers others as options with choices;
// shared by the daemon (authoritative), the CLI and the extension (what a picker shows).
import { z } from 'zod';
import { createEnvironmentSchema, envName, type CreateEnvironmentRequest } from './schemas';

/** Fields a user still sets on a profile-based create (they change no resources an admin sizes). */
export const PROFILE_FREE_FIELDS = ['env_vars', 'env_vars_from_secrets', 'ssh_user', 'gpu_wait'] as const;
/** Create fields a profile governs: fixed by its `environment`, or chosen from its `options`; never given freely.
 *  Every create field but the name, the free ones and exact GPU devices (the allocator's): derived from the create
 *  schema, so a field added there (e.g. lifecycle_config) is governed without a change here. */
export const PROFILE_FIELDS: readonly string[] = Object.keys(createEnvironmentSchema.innerType().shape).filter(
  (k) => !['name', 'gpu_device_ids', ...PROFILE_FREE_FIELDS].includes(k),
);

const profileName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'must be lowercase letters, digits, "_", "." and "-" (at most 63)');
const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);
/** A choice: a plain value, or a labelled one (a mount set named "imagenet"). */
const choice = z.union([scalar, z.object({ label: z.string().min(1).max(64), value: z.unknown() }).strict()]);
export type ProfileChoice = z.infer<typeof choice>;

const option = z
  .object({
    choices: z.array(choice).min(1).max(64),
    default: choice,
    description: z.string().max(256).optional(),
  })
  .strict();
export type ProfileOption = z.infer<typeof option>;

// The fixed part: any create field but the name, each optional (absent: the create schema's default).
const fixedFields = createEnvironmentSchema.innerType().omit({ name: true }).partial();

export const profileSchema = z
  .object({
    name: profileName,
    display_name: z.string().min(1).max(80),
    description: z.string().max(1024).default(''),
    environment: fixedFields.default({}),
    options: z.record(option).default({}),
    /** Who may use it: empty lists mean everyone; admins may use every profile. */
    teams: z.array(z.string().min(1)).default([]),
    roles: z.array(z.enum(['admin', 'user'])).default([]),
  })
  .strict()
  .superRefine((p, ctx) => {
    for (const [field, o] of Object.entries(p.options)) {
      if (!PROFILE_FIELDS.includes(field))
        ctx.addIssue({
          code: 'custom',
          path: ['options', field],
          message: `is not an option a profile can offer (one of ${PROFILE_FIELDS.join(', ')})`,
        });
      if (field in p.environment)
        ctx.addIssue({ code: 'custom', path: ['options', field], message: 'is also fixed in environment' });
      if (!o.choices.some((c) => sameChoice(c, o.default)))
        ctx.addIssue({ code: 'custom', path: ['options', field, 'default'], message: 'is not one of the choices' });
    }
  });
export type Profile = z.infer<typeof profileSchema>;
export type ProfileInput = z.input<typeof profileSchema>;

/** PUT /profiles/:name: the same body without a name (the path names it). */
export const updateProfileSchema = profileSchema.innerType().omit({ name: true });

/** POST /environments with `profile`: the name, the profile, option values, and only the free fields. Governed
 *  fields are still parsed so that the refusal can name them (403), instead of a generic unknown-key 400. */
export const createFromProfileSchema = createEnvironmentSchema
  .innerType()
  .partial()
  .extend({
    name: envName,
    profile: profileName,
    options: z.record(z.unknown()).default({}),
  })
  .strict();
export type CreateFromProfileRequest = z.input<typeof createFromProfileSchema>;
export type CreateFromProfileInput = z.infer<typeof createFromProfileSchema>;

/** A profile as the API lists it: where it is defined (config: read-only through the API). */
export interface ProfileInfo extends Profile {
  source: 'config' | 'api';
  /** sha256 of environment + options: an env's snapshot of it tells whether the profile changed since. */
  hash: string;
}

export interface ProfileList {
  profiles: ProfileInfo[];
  /** false: the caller's role may only create from profiles (profiles_only_for_roles). */
  custom_allowed: boolean;
}

/** GET /environments/:id/profile-drift */
export interface ProfileDrift {
  environment_id: string;
  profile: string | null;
  profile_options: Record<string, unknown> | null;
  /** The profile still exists and the owner may use it. */
  available: boolean;
  /** The profile's definition differs from the one the env was made from. */
  profile_changed: boolean;
  /** Fields the profile (with the env's options) would now give a different value. */
  changed: { field: string; env: unknown; profile: unknown }[];
  /** The body that recreates the env from the same profile and options. */
  recreate: CreateFromProfileRequest | null;
}

export const choiceValue = (c: ProfileChoice): unknown =>
  c !== null && typeof c === 'object' && 'label' in c ? c.value : c;
export const choiceLabel = (c: ProfileChoice): string =>
  c !== null && typeof c === 'object' && 'label' in c ? c.label : String(c);

/** Canonical JSON (sorted keys): equal values compare equal however they were written. */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v ?? null);
}

function sameChoice(a: ProfileChoice, b: ProfileChoice): boolean {
  return canonical(choiceValue(a)) === canonical(choiceValue(b)) && choiceLabel(a) === choiceLabel(b);
}

/** The choice a given value names: its label, its value, or the value as text (`--option gpu_count=2`). */
export function findChoice(o: ProfileOption, given: unknown): ProfileChoice | undefined {
  return (
    o.choices.find((c) => typeof given === 'string' && choiceLabel(c) === given) ??
    o.choices.find((c) => canonical(choiceValue(c)) === canonical(given)) ??
    o.choices.find((c) => typeof given === 'string' && String(choiceValue(c)) === given)
  );
}

/** Who may use a profile: admins every one; others when their team and role are listed (an empty list: anyone). */
export function mayUse(p: Pick<Profile, 'teams' | 'roles'>, u: { role: string; team?: string | null }): boolean {
  if (u.role === 'admin') return true;
  const team = p.teams.length === 0 || (u.team != null && p.teams.includes(u.team));
  const role = p.roles.length === 0 || p.roles.includes(u.role as 'admin' | 'user');
  return team && role;
}

/** A one-line summary of what a profile gives (picker details, `hangar profiles ls`). */
export function profileSummary(p: Pick<Profile, 'environment' | 'options'>): string {
  const e = p.environment as Partial<CreateEnvironmentRequest>;
  const opt = (f: string) => p.options[f];
  const gpuCount = opt('gpu_count')
    ? opt('gpu_count')!
        .choices.map((c) => choiceLabel(c))
        .join('/')
    : String(e.gpu_count ?? 0);
  const gpuModel = e.gpu_model ?? (opt('gpu_model') ? opt('gpu_model')!.choices.map(choiceLabel).join('/') : '');
  const gpus =
    (e.gpu_mode ?? 'none') === 'none' && !opt('gpu_mode') ? 'no GPU' : `${gpuCount}× ${gpuModel || 'GPU'}`.trim();
  const image = e.image ?? (opt('image') ? opt('image')!.choices.map(choiceLabel).join(' | ') : '?');
  const mounts = (e.storage_config?.mounts ?? []).map((m) => `${m.source}→${m.target}`);
  const storage = opt('storage_config') ? `storage: ${opt('storage_config')!.choices.map(choiceLabel).join('/')}` : '';
  return [
    image,
    e.deployment_mode ?? 'docker_local',
    gpus,
    mounts.length ? `mounts ${mounts.join(', ')}` : storage || `${e.storage_type ?? 'local'} storage`,
    `lifecycle ${e.lifecycle_policy ?? 'persistent'}`,
  ].join(' · ');
}
