// A minimal RFB (VNC) client for tests: version handshake, VNC authentication, ServerInit.
import crypto from 'node:crypto';
import type { Duplex } from 'node:stream';

/** VNC auth: DES-encrypt the 16-byte challenge with the password (8 bytes, each byte's bits reversed) as key.
 *  Single DES isn't in OpenSSL 3's default provider; 3DES with the key three times is the same cipher. */
export function vncResponse(challenge: Buffer, password: string): Buffer {
  const key = Buffer.alloc(8);
  Buffer.from(password.slice(0, 8), 'latin1').copy(key);
  for (let i = 0; i < 8; i++) {
    let b = key[i],
      r = 0;
    for (let j = 0; j < 8; j++) {
      r = (r << 1) | (b & 1);
      b >>= 1;
    }
    key[i] = r;
  }
  const c = crypto.createCipheriv('des-ede3-ecb', Buffer.concat([key, key, key]), null);
  c.setAutoPadding(false);
  return Buffer.concat([c.update(challenge), c.final()]);
}

class Reader {
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  private ended = false;
  constructor(s: Duplex) {
    s.on('data', (c: Buffer) => {
      this.buf = Buffer.concat([this.buf, c]);
      this.waiters.splice(0).forEach((w) => w());
    });
    s.on('close', () => {
      this.ended = true;
      this.waiters.splice(0).forEach((w) => w());
    });
  }
  async read(n: number): Promise<Buffer> {
    while (this.buf.length < n) {
      if (this.ended) throw new Error(`connection closed (wanted ${n} bytes, have ${this.buf.length})`);
      await new Promise<void>((r) => this.waiters.push(r));
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }
}

export interface RfbResult {
  ok: boolean;
  reason?: string;
  width?: number;
  height?: number;
  name?: string;
  version: string;
}

export async function rfbLogin(s: Duplex, password: string): Promise<RfbResult> {
  const r = new Reader(s);
  const version = (await r.read(12)).toString();
  s.write('RFB 003.008\n');
  const nTypes = (await r.read(1))[0];
  if (nTypes === 0) {
    const len = (await r.read(4)).readUInt32BE(0);
    return { ok: false, reason: (await r.read(len)).toString(), version };
  }
  const types = [...(await r.read(nTypes))];
  if (!types.includes(2)) return { ok: false, reason: `no VNC auth offered (${types})`, version };
  s.write(Buffer.from([2]));
  const challenge = await r.read(16);
  s.write(vncResponse(challenge, password));
  const result = (await r.read(4)).readUInt32BE(0);
  if (result !== 0) {
    const len = (await r.read(4)).readUInt32BE(0);
    return { ok: false, reason: (await r.read(len)).toString(), version };
  }
  s.write(Buffer.from([1])); // ClientInit: shared
  const init = await r.read(24);
  const nameLen = init.readUInt32BE(20);
  const name = (await r.read(nameLen)).toString();
  return { ok: true, width: init.readUInt16BE(0), height: init.readUInt16BE(2), name, version };
}
