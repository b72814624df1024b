// SSH host aliases: one wildcard per gateway (`Host hangar.<gateway>--*`), the env name after "--".
export const ALIAS_PREFIX = 'hangar.';

/** "http://127.0.0.1:7420" → "127.0.0.1-7420": safe in a Host pattern and a file name. */
export function gatewaySlug(url: string): string {
  const u = new URL(url);
  const base = `${u.hostname}${u.port ? '-' + u.port : ''}${u.pathname.replace(/\/+$/, '')}`;
  return base
    .toLowerCase()
    .replace(/[^a-z0-9.]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

export function sshAlias(gatewayUrl: string, envName: string): string {
  return `${ALIAS_PREFIX}${gatewaySlug(gatewayUrl)}--${envName}`;
}

/** The env name (or id) inside an alias; anything that isn't an alias is returned as given. */
export function envFromAlias(hostOrName: string): string {
  if (!hostOrName.startsWith(ALIAS_PREFIX)) return hostOrName;
  const i = hostOrName.indexOf('--', ALIAS_PREFIX.length);
  return i < 0 ? hostOrName : hostOrName.slice(i + 2);
}
