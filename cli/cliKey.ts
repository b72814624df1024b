// The CLI's SSH key, made and registered on first use: by `hangar login`, and by `hangar ssh` / `ssh-config`
// for scripts that only set HANGAR_URL + HANGAR_TOKEN (no login). A marker per gateway and token keeps the
// check to one API call per token, not one per ssh.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { HangarClient } from '../common/client';
import { ensureLocalKey, identityFile } from '../common/localKey';

const MARKERS = 'registered-keys.json';

function markerKey(url: string, token: string | undefined, pub: string): string {
  return crypto
    .createHash('sha256')
    .update(`${url}\n${token ?? ''}\n${pub}`)
    .digest('hex')
    .slice(0, 32);
}

function readMarkers(dir: string): Record<string, true> {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, MARKERS), 'utf8')) as Record<string, true>;
  } catch {
    return {};
  }
}

function publicKey(dir: string): string | undefined {
  try {
    return fs.readFileSync(identityFile(dir) + '.pub', 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Makes the key pair if missing and registers it with the gateway unless this token already did. */
export async function ensureCliKey(c: HangarClient, dir: string, opts: { force?: boolean } = {}): Promise<void> {
  const before = publicKey(dir);
  const markers = readMarkers(dir);
  if (!opts.force && before && markers[markerKey(c.url, c.token, before)]) return;
  await ensureLocalKey(c, dir, `hangar-cli@${new URL(c.url).host}`);
  const pub = publicKey(dir);
  if (!pub) return;
  markers[markerKey(c.url, c.token, pub)] = true;
  const tmp = path.join(dir, `${MARKERS}.${process.pid}.tmp`);
  fs.writeFileSync(tmp, JSON.stringify(markers) + '\n', { mode: 0o600 });
  fs.renameSync(tmp, path.join(dir, MARKERS));
}
