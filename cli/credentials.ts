// Gateways and tokens the CLI knows: ~/.config/hangar/config.json (0600). HANGAR_URL / HANGAR_TOKEN override.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gatewaySlug } from '../common/names';

export interface CliConfig { current?: string; gateways: Record<string, { token: string }> }

export function configDir(env = process.env): string {
  return env.HANGAR_CONFIG_DIR ?? path.join(env.XDG_CONFIG_HOME ?? path.join(os.homedir(), '.config'), 'hangar');
}

export function readConfig(dir = configDir()): CliConfig {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as CliConfig;
  } catch {
    return { gateways: {} };
  }
}

export function writeConfig(cfg: CliConfig, dir = configDir()): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, 'config.json');
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(cfg, null, 2) + '\n', { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/** The gateway to talk to: --url, then HANGAR_URL, then the alias's gateway, then the current login. */
export function resolveGateway(opts: { url?: string; aliasSlug?: string }, env = process.env): { url: string; token?: string } {
  const cfg = readConfig(configDir(env));
  let url = opts.url || env.HANGAR_URL || undefined;
  if (!url && opts.aliasSlug) url = Object.keys(cfg.gateways).find((u) => gatewaySlug(u) === opts.aliasSlug);
  url ??= cfg.current;
  if (!url) throw new Error('not logged in: run `hangar login <url>` or set HANGAR_URL and HANGAR_TOKEN');
  url = url.replace(/\/+$/, '');
  return { url, token: env.HANGAR_TOKEN || cfg.gateways[url]?.token };
}
