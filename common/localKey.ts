// The client's own SSH key pair (ed25519), made once per config dir and registered with the gateway.
// Shared by `hangar login` and the extension's connect; no vscode imports.
import fs from 'node:fs';
import path from 'node:path';
import type { HangarClient } from './client';
import { generateEd25519 } from './sshkeys';

export function identityFile(dir: string): string {
  return path.join(dir, 'id_ed25519');
}
export function knownHostsFile(dir: string): string {
  return path.join(dir, 'known_hosts');
}

export async function ensureLocalKey(c: HangarClient, dir: string, label: string): Promise<string> {
  const file = identityFile(dir);
  if (!fs.existsSync(file)) {
    const pair = generateEd25519(label);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, pair.privateKey, { mode: 0o600 });
    fs.writeFileSync(file + '.pub', pair.publicKey + '\n', { mode: 0o644 });
  }
  const pub = fs.readFileSync(file + '.pub', 'utf8').trim();
  const keys = await c.listKeys();
  if (!keys.some((k) => k.public_key.split(' ')[1] === pub.split(' ')[1])) await c.addKey(label, pub);
  return file;
}
