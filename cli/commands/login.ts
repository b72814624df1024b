// `hangar login` / `logout`: a gateway's token, its certificate pin (https) and the CLI's SSH key.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { ApiError, CLI_CLIENT, HangarClient } from '../../common/client';
import { probeCertificate } from '../../common/tls/trust';
import { decideLoginTrust } from '../../common/tls/tofu';
import { ensureCliKey } from '../cliKey';
import type { CliContext } from '../context';
import { caFileFor, configDir, readCaFile, readConfig, writeConfig } from '../credentials';
import { UsageError } from '../errors';
import { print } from '../output';

export function loginCommands(program: Command, ctx: CliContext): void {
  program
    .command('login <url>')
    .description(
      'store a token for a gateway (token from --token, HANGAR_TOKEN or stdin); https: pins the certificate unless a trusted CA signed it',
    )
    .option('--token <token>', 'API token (prefer stdin or HANGAR_TOKEN: flags end up in shell history)')
    .option(
      '--fingerprint <sha256>',
      "https: the certificate's SHA-256 fingerprint you expect (as hangard prints it); any other is refused",
    )
    .option('--no-key', "do not create/upload the CLI's SSH key")
    .action(async (rawUrl: string, o: { token?: string; key: boolean; fingerprint?: string }) => {
      let token = o.token || process.env.HANGAR_TOKEN;
      if (!token && !process.stdin.isTTY) token = fs.readFileSync(0, 'utf8').trim();
      if (!token) throw new UsageError('no token: pass --token, set HANGAR_TOKEN or pipe it on stdin');
      const url = rawUrl.replace(/\/+$/, '');
      if (!/^https?:\/\//.test(url)) throw new UsageError(`not an http:// or https:// URL: ${rawUrl}`);
      const cfg = readConfig();
      const ca = caFileFor(ctx.opts(), cfg.gateways[url]);
      const caPem = ca ? readCaFile(ca.file, ca.from) : undefined;
      let fingerprint256: string | undefined;
      if (url.startsWith('https:')) {
        // The handshake alone (no token sent) shows the certificate; the login itself is then checked against it.
        const peer = await probeCertificate(url, caPem).catch((err: Error) => {
          throw new ApiError(0, 'unreachable', `gateway ${url} is unreachable: ${err.message}`);
        });
        const trust = decideLoginTrust(url, peer, {
          expected: o.fingerprint || process.env.HANGAR_TLS_FINGERPRINT,
          pinned: cfg.gateways[url]?.tls_fingerprint,
        });
        if (trust.kind === 'refuse') throw trust.error;
        if (trust.kind === 'pin') {
          fingerprint256 = trust.fingerprint256;
          if (trust.firstUse) {
            process.stderr.write(
              `hangar: ${url} has a certificate no trusted CA signed (${peer.authorizationError ?? 'untrusted'}).\n` +
                `hangar: its SHA-256 fingerprint is ${fingerprint256}\n` +
                `hangar: pinned (trust on first use): compare it with the fingerprint hangard printed at start; any other certificate will be refused.\n`,
            );
          }
        }
      }
      const c = new HangarClient({
        url,
        token,
        client: CLI_CLIENT,
        tls: { ...(caPem ? { ca: caPem } : {}), ...(fingerprint256 ? { fingerprint256 } : {}) },
      });
      const me = await c.me();
      cfg.gateways[c.url] = {
        token,
        ...(fingerprint256 ? { tls_fingerprint: fingerprint256 } : {}),
        ...(ca ? { ca_file: path.resolve(ca.file) } : {}),
      };
      cfg.current = c.url;
      writeConfig(cfg);
      if (o.key) await ensureCliKey(c, configDir(), { force: true });
      print(
        ctx.json(),
        { url: c.url, user: me.name, ...(fingerprint256 ? { tls_fingerprint: fingerprint256 } : {}) },
        () =>
          `logged in to ${c.url} as ${me.name}${fingerprint256 ? ` (certificate SHA-256 ${fingerprint256} pinned)` : ''}\n`,
      );
    });

  program
    .command('logout')
    .description('forget the token of the current (or --url) gateway')
    .action(() => {
      const cfg = readConfig();
      const url = (ctx.opts().url ?? cfg.current)?.replace(/\/+$/, '');
      if (url) delete cfg.gateways[url];
      if (cfg.current === url) cfg.current = Object.keys(cfg.gateways)[0];
      writeConfig(cfg);
    });
}
