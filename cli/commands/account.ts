// `hangar user create` (admin) and `hangar keys`: users and the SSH public keys written into their environments.
import fs from 'node:fs';
import type { Command } from 'commander';
import type { CliContext } from '../context';
import { print } from '../output';

export function accountCommands(program: Command, ctx: CliContext): void {
  const user = program.command('user').description('manage users (admin)');
  user
    .command('create <name>')
    .option('--admin', 'make an admin')
    .option('--team <team>', 'team (Kubernetes namespace_policy per-team)')
    .description('create a user; prints its token once')
    .action(async (name: string, o: { admin?: boolean; team?: string }) => {
      const r = await ctx.client().createUser(name, o.admin ? 'admin' : 'user', o.team);
      print(ctx.json(), r, () => `user ${r.user.name} created; token (shown once): ${r.token}\n`);
    });

  const keys = program.command('keys').description('SSH public keys used for your environments');
  keys.command('ls').action(async () => {
    const ks = await ctx.client().listKeys();
    print(ctx.json(), ks, () => ks.map((k) => `${k.id}  ${k.name}  ${k.fingerprint}\n`).join(''));
  });
  keys
    .command('add <file>')
    .option('--name <n>', 'key name', 'default')
    .action(async (file: string, o: { name: string }) => {
      const k = await ctx.client().addKey(o.name, fs.readFileSync(file, 'utf8').trim());
      print(ctx.json(), k, () => `added ${k.fingerprint}\n`);
    });
}
