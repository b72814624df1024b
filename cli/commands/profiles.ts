// `hangar profiles ls | show | drift`: the presets an admin offers, and what changed in an env's profile since.
import type { Command } from 'commander';
import { choiceLabel, profileSummary, type ProfileInfo } from '../../common/profiles';
import { envFromAlias } from '../../common/names';
import type { CliContext } from '../context';
import { columns, print } from '../output';

const optionsLine = (p: ProfileInfo) =>
  Object.entries(p.options)
    .map(([f, o]) => `${f}=${o.choices.map(choiceLabel).join('|')} (default ${choiceLabel(o.default)})`)
    .join('; ');

function show(p: ProfileInfo): string {
  const fixed = Object.entries(p.environment).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`);
  return [
    `${p.name}: ${p.display_name}${p.source === 'config' ? ' (config)' : ''}`,
    ...(p.description ? [p.description] : []),
    `gives: ${profileSummary(p)}`,
    'fixed:',
    ...(fixed.length ? fixed : ['  (nothing)']),
    `options: ${optionsLine(p) || '(none)'}`,
    `who: teams ${p.teams.join(', ') || 'any'}; roles ${p.roles.join(', ') || 'any'}`,
    '',
  ].join('\n');
}

export function profileCommands(program: Command, ctx: CliContext): void {
  const profiles = program.command('profiles').description('profiles: presets to create environments from');
  profiles
    .command('ls')
    .alias('list')
    .description('the profiles you may use')
    .action(async () => {
      const list = await ctx.client().profiles();
      print(ctx.json(), list, () =>
        list.profiles.length
          ? columns([
              ['NAME', 'DISPLAY NAME', 'GIVES', 'OPTIONS'],
              ...list.profiles.map((p) => [p.name, p.display_name, profileSummary(p), optionsLine(p) || '-']),
            ]) + (list.custom_allowed ? '' : 'you create from a profile only (hangar create NAME --profile P)\n')
          : 'no profiles\n',
      );
    });
  profiles
    .command('show <name>')
    .description("a profile's fixed fields, options and who may use it")
    .action(async (name: string) => {
      const p = await ctx.client().profile(name);
      print(ctx.json(), p, () => show(p));
    });
  profiles
    .command('drift <env>')
    .description("what changed in an environment's profile since it was made, and how to make it again")
    .action(async (t: string) => {
      const d = await ctx.client(t).profileDrift(envFromAlias(t));
      print(ctx.json(), d, () => {
        if (!d.profile) return 'not made from a profile\n';
        const opts = Object.entries(d.profile_options ?? {}).map(([k, v]) => ` --option ${k}=${String(v)}`);
        return [
          `profile ${d.profile}${d.available ? '' : ' (no longer available)'}: ${d.profile_changed ? 'changed since' : 'unchanged'}`,
          ...d.changed.map((c) => `  ${c.field}: ${JSON.stringify(c.env)} → ${JSON.stringify(c.profile)}`),
          `recreate: hangar create ${d.recreate?.name} --profile ${d.profile}${opts.join('')}`,
          '',
        ].join('\n');
      });
    });
}
