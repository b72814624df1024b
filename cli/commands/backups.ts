// `hangar snapshots …` (snapshots of a volume: ls, create, restore into a new or the same volume, rm) and
// `hangar backups …` (ls, run now, restore a chosen one, rm, schedule).
import type { Command } from 'commander';
import type { Backup } from '../../common/snapshots';
import type { CliContext } from '../context';
import { columns, print } from '../output';

const size = (n: number | null) => (n === null ? '-' : n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${n} B`);

/** A volume by id, or by name among the caller's own (then team's). */
async function volumeId(ctx: CliContext, ref: string): Promise<string> {
  const vs = await ctx.client().volumes();
  const hit =
    vs.find((x) => x.id === ref) ?? vs.find((x) => x.name === ref && !x.team) ?? vs.find((x) => x.name === ref);
  if (!hit) throw new Error(`no volume '${ref}'`);
  return hit.id;
}

export function snapshotCommands(program: Command, ctx: CliContext): void {
  const s = program.command('snapshots').description('snapshots of your volumes');
  s.command('ls <volume>', { isDefault: true })
    .description("a volume's snapshots")
    .action(async (vol: string) => {
      const ss = await ctx.client().volumeSnapshots(await volumeId(ctx, vol));
      print(ctx.json(), ss, () =>
        columns([
          ['NAME', 'ID', 'KIND', 'STATUS', 'SIZE', 'CREATED'],
          ...ss.map((x) => [x.name, x.id, x.kind, x.status, size(x.size_bytes), x.created_at]),
        ]),
      );
    });
  s.command('create <volume> [name]')
    .description('snapshot a volume (Docker: an archive in the backup store)')
    .action(async (vol: string, name?: string) => {
      const x = await ctx.client().createVolumeSnapshot(await volumeId(ctx, vol), name);
      print(ctx.json(), x, () => `${x.name} ${x.id} ${x.status}\n`);
    });
  s.command('restore <snapshot-id>')
    .description('restore into a new volume (--new NAME) or back into the same one (--same)')
    .option('--new [name]', 'into a new volume (default name <volume>-<snapshot>)')
    .option('--same', 'back into the volume it was taken of (not while a running env mounts it)')
    .action(async (id: string, o: { new?: string | true; same?: boolean }) => {
      if (!o.same === !o.new) throw new Error('give one of --new [NAME] or --same');
      const req = o.same
        ? { into: 'same' as const }
        : { into: 'new' as const, ...(typeof o.new === 'string' ? { name: o.new } : {}) };
      const v = await ctx.client().restoreSnapshot(id, req);
      print(ctx.json(), v, () => `${v.name} ${v.id}\n`);
    });
  s.command('rm <volume> <snapshot-id>')
    .description('delete a snapshot')
    .action(async (vol: string, id: string) => {
      await ctx.client().deleteVolumeSnapshot(await volumeId(ctx, vol), id);
    });
}

function backupTable(bs: Backup[]): string {
  return columns([
    ['ID', 'TARGET', 'STATUS', 'TRIGGER', 'SIZE', 'OBJECTS', 'STARTED', 'MESSAGE'],
    ...bs.map((b) => [
      b.id,
      `${b.target_kind}:${b.target_id}`,
      b.status,
      b.trigger,
      // Kubernetes: VolumeSnapshots in the cluster, no size the gateway counted.
      b.items.length && b.items.every((i) => i.kind === 'volume_snapshot') ? 'snapshots' : size(b.size_bytes),
      String(b.objects),
      b.started_at,
      b.message ?? '',
    ]),
  ]);
}

export function backupCommands(program: Command, ctx: CliContext): void {
  const b = program.command('backups').description("backups of your envs' data and volumes");
  const target = (o: { env?: string; volume?: string }) => ({
    ...(o.env ? { environment: o.env } : {}),
    ...(o.volume ? { volume: o.volume } : {}),
  });
  b.command('ls', { isDefault: true })
    .description('backups, newest first')
    .option('--env <env>', 'of one environment')
    .option('--volume <id>', 'of one volume')
    .action(async (o: { env?: string; volume?: string }) => {
      const bs = await ctx.client().backups(target(o));
      print(ctx.json(), bs, () => backupTable(bs));
    });
  b.command('run')
    .description('back up now (an env: its home and volumes)')
    .option('--env <env>', 'an environment')
    .option('--volume <id>', 'a volume')
    .action(async (o: { env?: string; volume?: string }) => {
      const x = await ctx.client().runBackup(target(o));
      print(ctx.json(), x, () => backupTable([x]));
    });
  b.command('restore <backup-id>')
    .description("put a backup's data back (the env must be stopped)")
    .action(async (id: string) => {
      const x = await ctx.client().restoreBackup(id);
      print(ctx.json(), x, () => `restored ${x.id} (${x.objects} objects)\n`);
    });
  b.command('rm <backup-id>')
    .description('delete a backup and its objects')
    .action(async (id: string) => {
      await ctx.client().deleteBackup(id);
    });
  b.command('schedule')
    .description('set the schedule of an env or volume')
    .requiredOption('--cron <expr>', 'cron, e.g. "0 3 * * *"')
    .option('--tz <zone>', 'IANA time zone', 'UTC')
    .option('--keep <n>', 'complete backups kept', (s) => Number(s), 7)
    .option('--env <env>', 'an environment')
    .option('--volume <id>', 'a volume')
    .action(async (o: { cron: string; tz: string; keep: number; env?: string; volume?: string }) => {
      const x = await ctx.client().putBackupSchedule({ ...target(o), cron: o.cron, timezone: o.tz, keep: o.keep });
      print(ctx.json(), x, () => `${x.id} next ${x.next_run_at ?? '-'}\n`);
    });
}
