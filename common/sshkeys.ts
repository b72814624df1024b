// ed25519 key pairs in OpenSSH format and their SHA256 fingerprints (as `ssh-keygen -l` prints them).
import crypto from 'node:crypto';
import { utils } from 'ssh2';

export function generateEd25519(comment: string): { privateKey: string; publicKey: string } {
  const k = utils.generateKeyPairSync('ed25519', { comment });
  return { privateKey: k.private, publicKey: k.public.trim() };
}

export function fingerprint(publicKey: string): string {
  const blob = Buffer.from(publicKey.trim().split(/\s+/)[1] ?? '', 'base64');
  return 'SHA256:' + crypto.createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}
