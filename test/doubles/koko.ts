// TEST DOUBLE of KoKo, JumpServer's SSH gateway, not KoKo: a real SSH server (ssh2) that logs users in as
// `jmsuser@account@asset` (public key of the JumpServer user) or `JMS-<connection token id>` (the token's value as
// password), checks the asset permission, connects to the asset with the hosted account's key, runs exec/shell
// there, allows direct-tcpip only when its VS Code setting is on (ENABLE_LOCAL_PORT_FORWARD + ENABLE_VSCODE_SUPPORT),
// and records sessions and commands into the API double (test/doubles/jumpserver-api.ts).
import type { AddressInfo } from 'node:net';
import { Client, Server, utils, type Connection, type ServerChannel } from 'ssh2';
import { generateEd25519 } from '../../common/sshkeys';
import type { JumpServerApiDouble } from './jumpserver-api';

interface Route {
  user: Record<string, any>;
  asset: Record<string, any>;
  account: Record<string, any>;
}

export class KokoDouble {
  /** KoKo's ENABLE_LOCAL_PORT_FORWARD and ENABLE_VSCODE_SUPPORT (both default false, as in KoKo). */
  enableLocalPortForward = false;
  enableVscodeSupport = false;
  port = 0;
  private readonly server: Server;

  constructor(private readonly api: JumpServerApiDouble) {
    this.server = new Server({ hostKeys: [generateEd25519('koko').privateKey] }, (c) => this.client(c));
  }

  async start(): Promise<number> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
    return this.port;
  }
  stop(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }

  /** The asset, account and user a login names, when the user's permission covers them. */
  private route(username: string): Route | undefined {
    const parts = username.split(/[@#]/);
    if (parts.length !== 3 && parts.length !== 4) return undefined;
    const [jmsUser, account, asset] = parts.length === 3 ? parts : [parts[0], parts[2], parts[3]];
    const user = this.api.objects('users').find((u) => u.username === jmsUser);
    const host = this.api.objects('hosts').find((h) => h.name === asset && h.is_active !== false);
    const acct = host && this.api.objects('accounts').find((a) => a.asset === host.id && a.username === account);
    const allowed = this.api
      .objects('perms')
      .some((p) => p.is_active !== false && p.users?.includes(user?.id) && p.assets?.includes(host?.id));
    return user && host && acct && allowed ? { user, asset: host, account: acct } : undefined;
  }

  private client(c: Connection): void {
    let route: Route | undefined;
    c.on('authentication', (ctx) => {
      if (ctx.username.startsWith('JMS-') && ctx.method === 'password') {
        const t = this.api.db.tokens.get(ctx.username.slice(4));
        const host = t && this.api.db.hosts.get(t.asset);
        const acct = host && this.api.objects('accounts').find((a) => a.asset === host.id && a.username === t.account);
        const user = t && this.api.db.users.get(t.user);
        if (t && t.value === ctx.password && host && acct && user) {
          route = { user, asset: host, account: acct };
          return ctx.accept();
        }
        return ctx.reject();
      }
      const r = this.route(ctx.username);
      if (r && ctx.method === 'publickey' && r.user.public_key) {
        const key = utils.parseKey(r.user.public_key);
        if (!(key instanceof Error) && key.getPublicSSH().equals(ctx.key.data)) {
          if (ctx.signature && key.verify(ctx.blob!, ctx.signature, ctx.hashAlgo) !== true) return ctx.reject();
          route = r;
          return ctx.accept();
        }
      }
      ctx.reject(['publickey', 'password']);
    });
    c.on('ready', () => {
      c.on('session', (accept) => this.session(accept(), route!));
      c.on('tcpip', (accept, reject, info) => {
        if (!(this.enableLocalPortForward && this.enableVscodeSupport)) return reject();
        void this.upstream(route!).then(
          (up) =>
            up.forwardOut('127.0.0.1', 0, info.destIP, info.destPort, (err, ch) => {
              if (err) return reject();
              const down = accept();
              ch.pipe(down).pipe(ch);
              down.on('close', () => up.end());
            }),
          () => reject(),
        );
      });
    });
    c.on('error', () => undefined);
  }

  private upstream(r: Route): Promise<Client> {
    const ssh = r.asset.protocols.find((p: { name: string }) => p.name === 'ssh');
    return new Promise((resolve, reject) => {
      const up = new Client();
      up.on('ready', () => resolve(up)).on('error', reject);
      up.connect({ host: r.asset.address, port: ssh.port, username: r.account.username, privateKey: r.account.secret });
    });
  }

  private session(s: ReturnType<Parameters<Connection['on']>[1]> | any, r: Route): void {
    let pty: Record<string, any> | undefined;
    s.on('pty', (accept: () => void, _rej: unknown, info: Record<string, any>) => {
      pty = info;
      accept();
    });
    s.on('exec', (accept: () => ServerChannel, _rej: unknown, info: { command: string }) => {
      const down = accept();
      const rec = this.record(r, [info.command]);
      void this.upstream(r).then(
        (up) =>
          up.exec(info.command, (err, ch) => {
            if (err) return (down.exit(255), down.end());
            ch.pipe(down);
            ch.stderr.pipe(down.stderr);
            down.pipe(ch);
            ch.on('exit', (code: number) => down.exit(code ?? 0));
            ch.on('close', () => {
              Object.assign(rec, { is_finished: true, date_end: new Date().toISOString() });
              down.end();
              up.end();
            });
          }),
        (err: Error) => {
          down.stderr.write(`koko: asset ${r.asset.name} unreachable: ${err.message}\n`);
          down.exit(255);
          down.end();
        },
      );
    });
    s.on('shell', (accept: () => ServerChannel) => {
      const down = accept();
      const rec = this.record(r, []);
      void this.upstream(r).then((up) =>
        up.shell(pty ? { term: pty.term, rows: pty.rows, cols: pty.cols } : false, (err, ch) => {
          if (err) return down.end();
          let line = '';
          down.on('data', (b: Buffer) => {
            line += b.toString();
            for (let i; (i = line.search(/[\r\n]/)) >= 0; line = line.slice(i + 1))
              if (line.slice(0, i).trim()) this.api.recordCommand(rec, line.slice(0, i).trim());
          });
          down.pipe(ch).pipe(down);
          ch.on('close', () => (down.end(), up.end()));
        }),
      );
    });
  }

  private record(r: Route, commands: string[]) {
    return this.api.recordSession(
      {
        user: `${r.user.name}(${r.user.username})`,
        asset: r.asset.name,
        asset_id: r.asset.id,
        account: r.account.username,
        protocol: 'ssh',
        login_from: 'ST',
        date_start: new Date().toISOString(),
      },
      commands,
    );
  }
}
