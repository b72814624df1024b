// What every command group is handed: the global options and a client for the right gateway.
import { CLI_CLIENT, HangarClient } from '../common/client';
import { ALIAS_PREFIX } from '../common/names';
import { resolveGateway } from './credentials';

export interface GlobalOptions {
  url?: string;
  json?: boolean;
  caFile?: string;
}

export interface CliContext {
  opts(): GlobalOptions;
  json(): boolean;
  /** The gateway's client; a `hangar.<gateway>--<env>` alias target picks the gateway it names. */
  client(target?: string): HangarClient;
}

function aliasSlug(target: string): string | undefined {
  if (!target.startsWith(ALIAS_PREFIX)) return undefined;
  const rest = target.slice(ALIAS_PREFIX.length);
  const i = rest.indexOf('--');
  return i < 0 ? undefined : rest.slice(0, i);
}

export function cliContext(opts: () => GlobalOptions): CliContext {
  return {
    opts,
    json: () => Boolean(opts().json),
    client(target) {
      const o = opts();
      const gw = resolveGateway({ url: o.url, caFile: o.caFile, aliasSlug: target ? aliasSlug(target) : undefined });
      return new HangarClient({ url: gw.url, token: gw.token, tls: gw.tls, client: CLI_CLIENT });
    },
  };
}
