// Gateways and tokens the CLI knows: ~/.config/hangar/config.json (0600). HANGAR_URL / HANGAR_TOKEN override.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gatewaySlug } from '../common/names';
import { readCaFile } from '../common/tls/caFile';
import { TlsTrustError } from '../common/tls/errors';
import { normalizeFingerprint } from '../common/tls/fingerprint';
import type { TlsTrust } from '../common/tls/trust';

export interface GatewayLogin {
  token: string;
  /** https:// gateways whose certificate no trusted CA signed: its SHA-256 fingerprint, pinned at login. */
  tls_fingerprint?: string;
  /** A CA file (PEM) trusted for this gateway besides the system's CAs. */
  ca_file?: string;
}

export interface CliConfig {
  current?: string;
  gateways: Record<string, GatewayLogin>;
}

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

export { readCaFile };

/** The CA file to trust: --ca-file, then HANGAR_CA_FILE, then the one stored with the login. */
export function caFileFor(
  opts: { caFile?: string },
  login: GatewayLogin | undefined,
  env = process.env,
): { file: string; from: string } | undefined {
  if (opts.caFile) return { file: opts.caFile, from: '--ca-file' };
  if (env.HANGAR_CA_FILE) return { file: env.HANGAR_CA_FILE, from: 'HANGAR_CA_FILE' };
  if (login?.ca_file) return { file: login.ca_file, from: 'ca_file in the CLI config' };
  return undefined;
}

function checkedFingerprint(value: string, from: string): string {
  try {
    return normalizeFingerprint(value);
  } catch (err) {
    throw new TlsTrustError('bad_fingerprint', `${from}: ${(err as Error).message}`);
  }
}

/** The gateway to talk to: --url, then HANGAR_URL, then the alias's gateway, then the current login.
 *  TLS trust: HANGAR_TLS_FINGERPRINT, else the pin kept at login; the CA file as caFileFor says. */
export function resolveGateway(
  opts: { url?: string; aliasSlug?: string; caFile?: string },
  env = process.env,
): { url: string; token?: string; tls: TlsTrust } {
  const cfg = readConfig(configDir(env));
  let url = opts.url || env.HANGAR_URL || undefined;
  if (!url && opts.aliasSlug) url = Object.keys(cfg.gateways).find((u) => gatewaySlug(u) === opts.aliasSlug);
  url ??= cfg.current;
  if (!url) throw new Error('not logged in: run `hangar login <url>` or set HANGAR_URL and HANGAR_TOKEN');
  url = url.replace(/\/+$/, '');
  const login = cfg.gateways[url];
  const ca = caFileFor(opts, login, env);
  const fingerprint256 = env.HANGAR_TLS_FINGERPRINT
    ? checkedFingerprint(env.HANGAR_TLS_FINGERPRINT, 'HANGAR_TLS_FINGERPRINT')
    : login?.tls_fingerprint;
  return {
    url,
    token: env.HANGAR_TOKEN || login?.token,
    tls: { ...(ca ? { ca: readCaFile(ca.file, ca.from) } : {}), ...(fingerprint256 ? { fingerprint256 } : {}) },
  };
}
