// `hangar ls | start | stop | restart | rm | info | rdp | logs`: environments after they exist.
import fs from 'node:fs';
import type { Command } from 'commander';
import type { Environment } from '../../common/model';
import { describeNextAction, parseDuration } from '../../common/lifecycle';
import { envFromAlias } from '../../common/names';
import type { CliContext } from '../context';
import { UsageError } from '../errors';
import { envTable, print, progress } from '../output';

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`--limit: must be a whole number ≥ 1, not ${JSON.stringify(v)}`);
  return n;
}

export function environmentCommands(program: Command, ctx: CliContext): void {
  program
    .command('ls')
    .alias('list')
    .description('list environments')
    .option('--status <s>', 'filter by status (comma-separated)')
    .option('--backend <id>', 'filter by backend')
    .option('--owner <user>', 'filter by owner id (admins)')
    .option('--limit <n>', 'at most this many (pages are followed until then)', positiveInt)
    .action(async (o: { status?: string; backend?: string; owner?: string; limit?: number }) => {
      const q: Record<string, string> = {};
      if (o.status) q.status = o.status;
      if (o.backend) q.backend_id = o.backend;
      if (o.owner) q.owner = o.owner;
      // Pages of 500, cursors followed: thousands of envs never come as one response.
      const envs = await ctx.client().listEnvironmentsPaged(q, 500, o.limit ?? Infinity);
      print(ctx.json(), envs, () => (envs.length ? envTable(envs) : 'no environments\n'));
    });

  for (const action of ['start', 'stop', 'restart'] as const) {
    program
      .command(`${action} <env...>`)
      .description(`${action} environments`)
      .action(async (targets: string[]) => {
        const c = ctx.client();
        const out: Environment[] = [];
        for (const t of targets) {
          progress(`${t}: ${action}ing…`);
          out.push(await c.action(envFromAlias(t), action));
        }
        print(ctx.json(), out, () => out.map((e) => `${e.name} ${e.status}\n`).join(''));
      });
  }

  program
    .command('rm <env...>')
    .alias('delete')
    .description('delete environments (and their containers)')
    .action(async (targets: string[]) => {
      const c = ctx.client();
      for (const t of targets) {
        await c.deleteEnvironment(envFromAlias(t));
        if (!ctx.json()) process.stdout.write(`${t} deleted\n`);
      }
      if (ctx.json()) process.stdout.write(JSON.stringify({ deleted: targets }) + '\n');
    });

  program
    .command('info <env>')
    .description('environment details and connection info')
    .action(async (t: string) => {
      const c = ctx.client(t);
      const [env, conn] = await Promise.all([c.getEnvironment(envFromAlias(t)), c.connection(envFromAlias(t))]);
      print(
        ctx.json(),
        { ...env, connection: conn },
        () =>
          `${envTable([env])}ssh: ${conn.ssh.user}@${conn.ssh.host_alias} (ssh server: ${env.ssh_server})\n${conn.jupyter ? `jupyter: ${conn.jupyter.url}\n` : ''}` +
          `lifecycle: ${env.lifecycle_policy}${env.next_action ? `, next: ${describeNextAction(env.next_action)}` : ''}\n`,
      );
    });

  program
    .command('rdp <env>')
    .description(
      'write the .rdp file of a desktop env (through JumpServer for use_jumpserver envs) and print its login',
    )
    .option('-o, --output <file>', 'where to write it (default: ./<env>.rdp, or <env>-jumpserver.rdp)')
    .action(async (t: string, o: { output?: string }) => {
      const r = await ctx.client(t).rdp(envFromAlias(t));
      const file = o.output ?? r.filename;
      fs.writeFileSync(file, r.rdp_file, { mode: 0o600 });
      const valid = r.expire_time ? ` (valid ${r.expire_time} s)` : '';
      print(
        ctx.json(),
        { ...r, file },
        () =>
          `${file}: ${r.host}:${r.port} ${r.via === 'jumpserver' ? 'through JumpServer' : 'direct'}\n` +
          `user: ${r.user}\npassword: ${r.password}${valid}\n`,
      );
    });

  program
    .command('extend <env> <duration>')
    .description('push the next automatic stop out, e.g. `hangar extend gpu-box 2h` (or 90m)')
    .action(async (t: string, d: string) => {
      const minutes = parseDuration(d);
      if (!minutes) throw new UsageError(`'${d}' is not a duration like 2h, 90m or 1h30m`);
      const env = await ctx.client(t).extend(envFromAlias(t), minutes);
      print(ctx.json(), env, () => `${env.name}: ${describeNextAction(env.next_action)}\n`);
    });

  program
    .command('logs <env>')
    .description('print logs')
    .option('-f, --follow', 'keep streaming')
    .option('--tail <n>', 'lines from the end', (v) => Number(v), 100)
    .action(async (t: string, o: { follow?: boolean; tail: number }) => {
      const ac = new AbortController();
      process.once('SIGINT', () => ac.abort());
      const body = await ctx.client(t).logs(envFromAlias(t), { tail: o.tail, follow: o.follow, signal: ac.signal });
      try {
        for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) process.stdout.write(chunk);
      } catch (err) {
        if (!ac.signal.aborted) throw err;
      }
    });
}
