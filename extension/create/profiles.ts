// The profile picker's words: what each profile gives, each option's choices annotated with what the GPU inventory
// has free, and the request the answers make. Pure (no vscode), so every rule is unit-tested.
import type { GpuInfo } from '../../common/model';
import {
  choiceLabel,
  choiceValue,
  profileSummary,
  type CreateFromProfileRequest,
  type ProfileChoice,
  type ProfileDrift,
  type ProfileInfo,
} from '../../common/profiles';

export interface PickItem {
  label: string;
  description?: string;
  detail?: string;
}

/** One item per profile: its name, what it gives (image, mode, GPUs, storage, lifecycle) and its description. */
export function profileItems(profiles: ProfileInfo[]): (PickItem & { profile: ProfileInfo })[] {
  return profiles.map((p) => ({
    label: p.display_name,
    description: p.description ? `${p.name} — ${p.description}` : p.name,
    detail: profileSummary(p),
    profile: p,
  }));
}

const matches = (model: string, wanted: string | null | undefined) =>
  !wanted || model.toLowerCase().includes(wanted.toLowerCase());

/** Whole GPUs (not MIG slices) a profile could get: on its backend (or any) and of its model (or any). */
function wholeGpus(gpus: GpuInfo[], backend: string | undefined, model: string | null | undefined): GpuInfo[] {
  return gpus.filter(
    (g) =>
      g.present &&
      g.kind === 'gpu' &&
      g.mig_mode !== 'enabled' &&
      (!backend || g.backend_id === backend) &&
      matches(g.model, model),
  );
}

export interface OptionChoice extends PickItem {
  choice: ProfileChoice;
}

/** The choices of one option as picker items: the default marked; GPU counts say how many are free now; GPU models
 *  no backend has are left out. */
export function optionChoices(p: ProfileInfo, field: string, gpus: GpuInfo[]): OptionChoice[] {
  const o = p.options[field];
  const env = p.environment as { backend_id?: string; gpu_model?: string | null };
  const isDefault = (c: ProfileChoice) => choiceLabel(c) === choiceLabel(o.default);
  let choices = o.choices;
  if (field === 'gpu_model')
    choices = choices.filter((c) => wholeGpus(gpus, env.backend_id, String(choiceValue(c))).length > 0);
  return choices.map((c) => {
    const notes: string[] = [];
    if (isDefault(c)) notes.push('default');
    if (field === 'gpu_count') {
      const free = wholeGpus(gpus, env.backend_id, env.gpu_model).filter((g) => g.free > 0).length;
      notes.push(Number(choiceValue(c)) <= free ? `${free} free` : `only ${free} free now`);
    }
    if (field === 'gpu_model') {
      const free = wholeGpus(gpus, env.backend_id, String(choiceValue(c))).filter((g) => g.free > 0).length;
      notes.push(`${free} free`);
    }
    const value = choiceValue(c);
    const shown = typeof value === 'object' && value !== null ? undefined : String(value);
    if (shown !== undefined && shown !== choiceLabel(c)) notes.push(shown);
    return { label: choiceLabel(c), description: notes.join(' · ') || undefined, choice: c };
  });
}

/** Options worth asking: more than one choice (a single one is simply used). */
export const askedOptions = (p: ProfileInfo) => Object.keys(p.options).filter((f) => p.options[f].choices.length > 1);

export function buildProfileRequest(
  name: string,
  p: ProfileInfo,
  chosen: Record<string, ProfileChoice>,
): CreateFromProfileRequest {
  // Labels travel (the gateway matches a label or a value), so object-valued choices stay short on the wire.
  const options = Object.fromEntries(Object.entries(chosen).map(([f, c]) => [f, choiceLabel(c)]));
  return { name: name.trim(), profile: p.name, options };
}

/** `hangar create …` that makes the env again from the same profile and options. */
export function recreateCommand(d: ProfileDrift): string {
  const opts = Object.entries(d.profile_options ?? {}).map(([k, v]) => ` --option ${k}=${JSON.stringify(v)}`);
  return `hangar create ${d.recreate?.name ?? ''} --profile ${d.profile}${opts.join('')}`;
}

/** The drift as lines: each changed field "was → now", and the options it was made with. */
export function driftText(d: ProfileDrift): string {
  const lines = d.changed.map((c) => `${c.field}: ${JSON.stringify(c.env)} → ${JSON.stringify(c.profile)}`);
  if (!d.available) lines.unshift('The profile is no longer available.');
  else if (d.profile_changed && lines.length === 0)
    lines.push('Its definition changed; this env would come out the same.');
  const opts = Object.entries(d.profile_options ?? {}).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  if (opts.length) lines.push(`Options: ${opts.join(', ')}`);
  return lines.join('\n');
}
