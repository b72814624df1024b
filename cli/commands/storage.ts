// `hangar volumes` (one's own and one's team's) and `hangar orphans …` (admin: objects with no row, e.g. after a restore).
import type { Command } from 'commander';
import type { CliContext } from '../context';
import type { AccessMode, CephKind } from '../../common/model';
import { columns, print } from '../output';

interface CreateOptions {
  size?: number;
  backend?: string;
  team?: boolean;
  class?: string;
  accessMode?: string[];
  ceph?: string;
}

export function storageCommands(program: Command, ctx: CliContext): void {
  const v = program.command('volumes').description("your named volumes and your team's (admin: all)");
  v.command('ls', { isDefault: true })
    .description('list them, with the environments that mount them')
    .action(async () => {
      const vs = await ctx.client().volumes();
      print(ctx.json(), vs, () =>
        columns([
          ['NAME', 'OWNER', 'BACKEND', 'ID', 'SIZE', 'MOUNTED BY', 'STATE'],
          ...vs.map((x) => [
            x.name,
            x.team ? `team:${x.team}` : (x.owner_id ?? '-'),
            x.backend_id,
            x.id,
            x.size_gb ? `${x.size_gb} GiB` : '-',
            x.mounted_by?.map((e) => e.name).join(',') || '-',
            x.state ? `${x.state.phase}${x.state.storage_class ? ` (${x.state.storage_class})` : ''}` : '-',
          ]),
        ]),
      );
    });
  v.command('create <name>')
    .description('make a volume (kept until removed on purpose)')
    .option('--size <gb>', 'size in GB', (s) => Number(s))
    .option('--backend <id>', 'backend (default: the gateway default)')
    .option('--team', "your team's, not yours")
    .option('--class <name>', 'Kubernetes: the StorageClass of its claim')
    .option('--access-mode <mode>', 'Kubernetes: an access mode (repeat for more)', (m, all: string[] = []) => [
      ...all,
      m,
    ])
    .option('--ceph <kind>', "Kubernetes: the backend's Ceph class, cephfs or rbd")
    .action(async (name: string, opts: CreateOptions) => {
      const vol = await ctx.client().createVolume({
        name,
        ...(opts.size !== undefined ? { size_gb: opts.size } : {}),
        ...(opts.backend ? { backend_id: opts.backend } : {}),
        ...(opts.team ? { team: true as const } : {}),
        ...(opts.class ? { storage_class: opts.class } : {}),
        ...(opts.accessMode ? { access_modes: opts.accessMode as AccessMode[] } : {}),
        ...(opts.ceph ? { ceph: opts.ceph as CephKind } : {}),
      });
      print(ctx.json(), vol, () => `${vol.name} ${vol.id}\n`);
    });
  v.command('rm <name-or-id>')
    .description('remove a volume and its data (refused while an environment mounts it)')
    .action(async (ref: string) => {
      const vs = await ctx.client().volumes();
      const hit =
        vs.find((x) => x.id === ref) ?? vs.find((x) => x.name === ref && !x.team) ?? vs.find((x) => x.name === ref);
      if (!hit) throw new Error(`no volume '${ref}'`);
      await ctx.client().deleteVolume(hit.id);
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
