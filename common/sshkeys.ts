// ed25519 key pairs in OpenSSH format and their SHA256 fingerprints (as `ssh-keygen -l` prints them).
// Written with node:crypto: ssh2's generator drops a leading zero byte of the key now and then (~1 in 200),
// which sshd rejects ("error in libcrypto").
import crypto from 'node:crypto';

function sshString(b: Buffer | string): Buffer {
  const buf = typeof b === 'string' ? Buffer.from(b) : b;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(buf.length);
  return Buffer.concat([len, buf]);
}

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};

export function generateEd25519(comment: string): { privateKey: string; publicKey: string } {
  return ed25519FromSeed(crypto.randomBytes(32), comment);
}

// PKCS#8 for an ed25519 seed (RFC 8410): this fixed prefix, then the 32 bytes.
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');

/** The pair of a given 32-byte seed: the same seed gives the same key (a key derived from a gateway secret). */
export function ed25519FromSeed(seed: Buffer, comment: string): { privateKey: string; publicKey: string } {
  const privateKey = crypto.createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519, seed]),
    format: 'der',
    type: 'pkcs8',
  });
  const pub = Buffer.from(crypto.createPublicKey(privateKey).export({ format: 'jwk' }).x!, 'base64url');
  const pubBlob = Buffer.concat([sshString('ssh-ed25519'), sshString(pub)]);
  const check = crypto.randomBytes(4).readUInt32BE(0);
  let priv = Buffer.concat([
    u32(check),
    u32(check),
    sshString('ssh-ed25519'),
    sshString(pub),
    sshString(Buffer.concat([seed, pub])),
    sshString(comment),
  ]);
  const pad = (8 - (priv.length % 8)) % 8;
  priv = Buffer.concat([priv, Buffer.from(Array.from({ length: pad }, (_, i) => i + 1))]);
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0'),
    sshString('none'),
    sshString('none'),
    sshString(''),
    u32(1),
    sshString(pubBlob),
    sshString(priv),
  ]);
  const b64 = body
    .toString('base64')
    .match(/.{1,70}/g)!
    .join('\n');
  return {
    privateKey: `-----BEGIN OPENSSH PRIVATE KEY-----\n${b64}\n-----END OPENSSH PRIVATE KEY-----\n`,
    publicKey: `ssh-ed25519 ${pubBlob.toString('base64')} ${comment}`,
  };
}

export function fingerprint(publicKey: string): string {
  const blob = Buffer.from(publicKey.trim().split(/\s+/)[1] ?? '', 'base64');
  return 'SHA256:' + crypto.createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}
