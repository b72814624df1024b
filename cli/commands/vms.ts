// `hangar templates …` and `hangar snapshot …`: VM templates on libvirt backends and an env's VM snapshots.
import path from 'node:path';
import type { Command } from 'commander';
import type { CliContext } from '../context';
import { columns, print } from '../output';
import type { ImportTemplateRequest } from '../../common/schemas';

/** A local path becomes an absolute path on the gateway (the CLI usually runs there for imports); URLs pass. */
const source = (s: string) => (/^https?:\/\//.test(s) ? { url: s } : { file: path.resolve(s) });
const gib = (b: number) => `${(b / 2 ** 30).toFixed(1)} GiB`;

export function vmCommands(program: Command, ctx: CliContext): void {
  const t = program.command('templates').description('VM templates (base images) on libvirt backends');
  t.command('ls')
    .description('list templates')
    .option('--backend <id>')
    .action(async (o: { backend?: string }) => {
      const ts = await ctx.client().templates(o.backend);
      print(ctx.json(), ts, () =>
        columns([
          ['BACKEND', 'NAME', 'OS', 'FIRMWARE', 'ACCESS', 'DISK', 'USED BY'],
          ...ts.map((x) => [
            x.backend_id,
            x.name,
            x.os,
            x.firmware,
            x.access.join(','),
            gib(x.disk_bytes),
            x.used_by?.join(', ') || '-',
          ]),
        ]),
      );
    });
  t.command('import <backend> <name>')
    .description('import a qcow2 disk (a file on the gateway, or an http(s) URL) as a template (admin)')
    .requiredOption('--disk <path|url>', 'the qcow2 base image')
    .requiredOption('--os <os>', 'e.g. debian-12, ubuntu-24.04, windows-2022')
    .option('--default-user <user>', "the image's own account", 'root')
    .option('--firmware <bios|uefi|direct-kernel>', 'how it boots', 'bios')
    .option('--kernel <path|url>')
    .option('--initrd <path|url>')
    .option('--cmdline <args>')
    .option('--access <list>', 'ssh, vnc, rdp (comma-separated)', 'ssh')
    .option('--no-cloud-init', 'the image has no cloud-init (no SSH set-up by Hangar)')
    .action(async (backend: string, name: string, o: Record<string, string | boolean | undefined>) => {
      const req: ImportTemplateRequest = {
        name,
        os: String(o.os),
        default_user: String(o.defaultUser),
        cloud_init: o.cloudInit !== false,
        firmware: o.firmware as ImportTemplateRequest['firmware'],
        access: String(o.access)
          .split(',')
          .map((s) => s.trim()) as ImportTemplateRequest['access'],
        disk: source(String(o.disk)),
        ...(o.kernel ? { kernel: source(String(o.kernel)) } : {}),
        ...(o.initrd ? { initrd: source(String(o.initrd)) } : {}),
        ...(o.cmdline ? { cmdline: String(o.cmdline) } : {}),
      };
      const x = await ctx.client().importTemplate(backend, req);
      print(ctx.json(), x, () => `imported template ${x.name} on ${x.backend_id} (${gib(x.disk_bytes)})\n`);
    });
  t.command('rm <backend> <name>')
    .description('delete a template no environment uses (admin)')
    .action(async (backend: string, name: string) => {
      await ctx.client().deleteTemplate(backend, name);
      print(ctx.json(), { deleted: name }, () => `deleted template ${name}\n`);
    });

  const s = program.command('snapshot').description("snapshots of an environment's VM");
  s.command('ls <env>')
    .description('list snapshots')
    .action(async (env: string) => {
      const ss = await ctx.client().snapshots(env);
      print(ctx.json(), ss, () =>
        columns([
          ['NAME', 'CREATED', 'STATE', 'CURRENT', 'DESCRIPTION'],
          ...ss.map((x) => [x.name, x.created_at, x.state, x.current ? '*' : '', x.description ?? '']),
        ]),
      );
    });
  s.command('create <env> <name>')
    .description('take a snapshot (with memory when the VM runs, disk only when it is off)')
    .option('-d, --description <text>')
    .action(async (env: string, name: string, o: { description?: string }) => {
      const x = await ctx.client().createSnapshot(env, name, o.description);
      print(ctx.json(), x, () => `snapshot ${x.name} of ${env} (${x.state})\n`);
    });
  s.command('revert <env> <name>')
    .description('return the VM to a snapshot')
    .action(async (env: string, name: string) => {
      const e = await ctx.client().revertSnapshot(env, name);
      print(ctx.json(), e, () => `${e.name} reverted to ${name}: ${e.status}\n`);
    });
  s.command('rm <env> <name>')
    .description('delete a snapshot')
    .action(async (env: string, name: string) => {
      await ctx.client().deleteSnapshot(env, name);
      print(ctx.json(), { deleted: name }, () => `deleted snapshot ${name}\n`);
    });
}
