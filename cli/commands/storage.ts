// `hangar volumes` (one's own and one's team's) and `hangar orphans …` (admin: objects with no row, e.g. after a restore).
import type { Command } from 'commander';
import type { CliContext } from '../context';
import { columns, print } from '../output';

export function storageCommands(program: Command, ctx: CliContext): void {
  program
    .command('volumes')
    .description("your named volumes and your team's (admin: all)")
    .action(async () => {
      const vs = await ctx.client().volumes();
      print(ctx.json(), vs, () =>
        columns([
          ['NAME', 'OWNER', 'BACKEND', 'ID', 'SIZE'],
          ...vs.map((v) => [
            v.name,
            v.team ? `team:${v.team}` : (v.owner_id ?? '-'),
            v.backend_id,
            v.id,
            v.size_gb ? `${v.size_gb} GiB` : '-',
          ]),
        ]),
      );
    });

  const o = program
    .command('orphans')
    .description('backend objects with no row (a restored database): adopt or remove (admin)');
  o.command('ls', { isDefault: true })
    .description('list them')
    .action(async () => {
      const os = await ctx.client().orphans();
      print(ctx.json(), os, () =>
        columns([
          ['REF', 'BACKEND', 'STATE', 'NAME', 'OWNER', 'IMAGE', 'ADOPTABLE'],
          ...os.map((x) => [
            x.ref,
            x.backend_id,
            x.state,
            x.name ?? '-',
            x.owner_id ?? '-',
            x.image ?? '-',
            x.adoptable ? 'yes' : 'no',
          ]),
        ]),
      );
    });
  o.command('adopt <ref>')
    .description('rebuild its row from its labels')
    .option('--owner <user>', 'give it to this user (default: the one its labels name)')
    .action(async (ref: string, opts: { owner?: string }) => {
      const env = await ctx.client().adoptOrphan(ref, opts.owner);
      print(ctx.json(), env, () => `${env.name} ${env.status} (${env.id})\n`);
    });
  o.command('rm <ref>')
    .description('remove it from its backend')
    .action(async (ref: string) => {
      await ctx.client().removeOrphan(ref);
    });
}
