// `hangar ssh-config | ssh | proxy`: SSH through the gateway's tunnel, host keys pinned.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { ALIAS_PREFIX, envFromAlias, sshAlias } from '../../common/names';
import { DEFAULT_USER, renderBlock, writeManagedBlock } from '../../common/sshConfig';
import type { TunnelTransport } from '../../common/tunnel';
import { ensureCliKey } from '../cliKey';
import type { CliContext } from '../context';
import { configDir } from '../credentials';
import { identityFile, knownHostsFile, pinHostKey, selfCommand, sshOptions } from '../ssh';

export function sshCommands(program: Command, ctx: CliContext): void {
  program
    .command('ssh-config [env]')
    .description('print (or --write into an ssh config file) the managed Host block for this gateway; pins host keys')
    .option(
      '--write [file]',
      'merge the block into an ssh config file (default ~/.ssh/config), keeping every other line',
    )
    .action(async (t: string | undefined, o: { write?: string | boolean }) => {
      const c = ctx.client(t);
      const dir = configDir();
      await ensureCliKey(c, dir);
      const envs = t ? [await c.getEnvironment(envFromAlias(t))] : await c.listEnvironments();
      for (const e of envs) {
        if (e.host_key) pinHostKey(dir, sshAlias(c.url, e.name), e.host_key);
      }
      const viaJms = await Promise.all(
        envs.filter((e) => e.use_jumpserver).map((e) => c.connection(e.id).catch(() => undefined)),
      );
      const block = renderBlock({
        gatewayUrl: c.url,
        jumpserver: viaJms.flatMap((ci) => (ci?.jumpserver ? [{ alias: ci.ssh.host_alias, ...ci.jumpserver }] : [])),
        proxyCommand: selfCommand(),
        knownHostsFile: knownHostsFile(dir),
        identityFile: fs.existsSync(identityFile(dir)) ? identityFile(dir) : undefined,
        envs: envs
          .filter((e) => e.ssh_user !== DEFAULT_USER)
          .map((e) => ({ alias: sshAlias(c.url, e.name), user: e.ssh_user })),
      });
      if (!o.write) {
        process.stdout.write(block);
        return;
      }
      const file = typeof o.write === 'string' ? o.write : path.join(os.homedir(), '.ssh', 'config');
      const r = await writeManagedBlock(file, c.url, block);
      for (const w of r.warnings) process.stderr.write(`hangar: warning: ${w}\n`);
      process.stdout.write(`${r.changed ? 'wrote' : 'unchanged:'} the Hangar block for ${c.url} in ${file}\n`);
    });

  program
    .command('ssh <env> [cmd...]')
    .description('ssh into an environment through the gateway (args after -- run remotely)')
    .action(async (t: string, cmd: string[]) => {
      const c = ctx.client(t);
      const dir = configDir();
      const [conn] = await Promise.all([c.connection(envFromAlias(t)), ensureCliKey(c, dir)]);
      if (conn.ssh.host_key) pinHostKey(dir, conn.ssh.host_alias, conn.ssh.host_key);
      const opts = sshOptions({ dir, gatewayUrl: c.url, cli: selfCommand() }, conn.ssh.user);
      const args = [...opts.flatMap(([k, v]) => ['-o', `${k}=${v}`]), conn.ssh.host_alias, ...cmd];
      // The proxy ssh runs finds this login (token, pin) by URL; a --ca-file given here travels as HANGAR_CA_FILE.
      const caFile = ctx.opts().caFile ? { HANGAR_CA_FILE: path.resolve(ctx.opts().caFile!) } : {};
      const child = spawn(process.env.HANGAR_SSH ?? 'ssh', args, {
        stdio: 'inherit',
        env: { ...process.env, HANGAR_URL: c.url, ...caFile },
      });
      const code = await new Promise<number>((resolve) => child.on('exit', (c2) => resolve(c2 ?? 255)));
      process.exitCode = code;
    });

  program
    .command('proxy <env>')
    .description("bridge stdin/stdout to the env's SSH port (for ssh ProxyCommand)")
    .option('--port <n>', 'port inside the env', (v) => Number(v), 22)
    .addOption(
      new Option('--transport <t>', 'raw HTTP upgrade, or WebSocket for proxies that pass only WebSockets')
        .choices(['raw', 'websocket'])
        .default(process.env.HANGAR_TUNNEL ?? 'raw'),
    )
    .action(async (t: string, o: { port: number; transport: TunnelTransport }) => {
      const c = ctx.client(t);
      const name = envFromAlias(t);
      const { openTunnel } = await import('../../common/tunnel');
      // The tunnel and the env lookup run side by side; the host key is pinned (over the authenticated API)
      // before any byte reaches ssh, so ssh checks the key this gateway vouches for.
      const [env, stream] = await Promise.all([
        // A stopped on_demand env starts on connect: the tunnel waits for it, and we say so on stderr.
        c.getEnvironment(name).then((e) => {
          if (e.lifecycle_policy === 'on_demand' && e.status !== 'running')
            process.stderr.write(`starting ${e.name}…\n`);
          return e;
        }),
        openTunnel(
          `${c.url}/api/v1/environments/${encodeURIComponent(name)}/tunnel?port=${o.port}`,
          c.token,
          o.transport,
          c.agent,
        ),
      ]);
      if (env.host_key && t.startsWith(ALIAS_PREFIX)) pinHostKey(configDir(), t, env.host_key);
      process.stdin.pipe(stream);
      stream.pipe(process.stdout);
      await new Promise<void>((resolve) => {
        stream.on('close', resolve);
        stream.on('error', resolve);
        process.stdin.on('end', () => stream.end());
      });
      process.exit(0);
    });
}
