// What a service says first: enough to tell that sshd (its banner) or an RDP listener (an X.224 Connection Confirm)
// is really there, not just a port that accepts connections (a user-mode network forward always does).
import type { Duplex } from 'node:stream';

/** TPKT + X.224 Connection Request with an RDP negotiation request (TLS | CredSSP). */
export const RDP_CONNECTION_REQUEST = Buffer.from('030000130ee000000000000100080003000000', 'hex');

/** The first bytes the server sends (after `send`, if given); closes the connection. */
export function firstBytes(sock: Duplex, send?: Buffer, timeoutMs = 3000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error('no answer'));
    }, timeoutMs);
    sock.once('data', (c: Buffer) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(c);
    });
    sock.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.once('close', () => {
      clearTimeout(timer);
      reject(new Error('connection closed'));
    });
    if (send) sock.write(send);
  });
}

export const isSshBanner = (b: Buffer) => b.toString('latin1').startsWith('SSH-');
/** TPKT version 3, then an X.224 Connection Confirm (0xd0). */
export const isRdpConfirm = (b: Buffer) => b.length >= 6 && b[0] === 3 && (b[5] & 0xf0) === 0xd0;
