// Secrets the daemon must be able to read back (Jupyter tokens it injects, VNC passwords it hands to the owner)
// are encrypted at rest with AES-256-GCM under a key kept in the data dir (0600), never in the database.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const PREFIX = 'v1:';

export class SecretBox {
  private constructor(private readonly key: Buffer) {}

  static fromDataDir(dataDir: string): SecretBox {
    const file = path.join(dataDir, 'secret.key');
    try {
      return new SecretBox(Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64'));
    } catch {
      const key = crypto.randomBytes(32);
      fs.writeFileSync(file, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
      return new SecretBox(key);
    }
  }

  seal(plain: string): string {
    const iv = crypto.randomBytes(12);
    const c = crypto.createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
    return PREFIX + Buffer.concat([iv, c.getAuthTag(), body]).toString('base64');
  }

  /** A key for another purpose, derived from this one (HKDF), so one secret file serves them all. */
  derive(label: string): Buffer {
    return Buffer.from(crypto.hkdfSync('sha256', this.key, Buffer.alloc(0), label, 32));
  }

  open(sealed: string): string {
    if (!sealed.startsWith(PREFIX)) return sealed; // written before encryption existed
    const raw = Buffer.from(sealed.slice(PREFIX.length), 'base64');
    const d = crypto.createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
    d.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString('utf8');
  }
}

/** VNC authentication uses at most 8 characters: exactly 8 from an alphabet without look-alikes. */
export function vncPassword(): string {
  const alphabet = 'abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const bytes = crypto.randomBytes(8);
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
}
