// One lazily opened SSH connection to a backend host (a remote Docker engine or libvirt host): TCP forwards to
// addresses only that host can reach (containers, VMs' forwarded ports) and commands run there (nvidia-smi).
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { Client as SshClient } from 'ssh2';
import { BackendUnavailableError } from '../../errors';

export interface SshTarget {
  host: string;
  port: number;
  username: string;
  privateKey?: Buffer;
  /** The host's public key ("ssh-ed25519 AAAA…"): when set, any other key is refused (no trust on first use). */
  hostKey?: string;
}

/** ssh2's hostVerifier for a pinned key: it gets the raw key blob, which is the base64 part of the public key line. */
export function hostVerifier(hostKey?: string): ((key: Buffer) => boolean) | undefined {
  if (!hostKey) return undefined;
  const expected = Buffer.from(hostKey.trim().split(/\s+/)[1] ?? '', 'base64');
  return (key: Buffer) => Buffer.isBuffer(key) && key.equals(expected);
}

export class SshHop {
  private client?: Promise<SshClient>;
  constructor(
    private readonly backendId: string,
    readonly target: SshTarget,
  ) {}

  private connection(): Promise<SshClient> {
    if (!this.client) {
      const t = this.target;
      this.client = new Promise<SshClient>((resolve, reject) => {
        const c = new SshClient();
        c.once('ready', () => resolve(c));
        c.once('error', (e) => {
          this.client = undefined;
          reject(new BackendUnavailableError(this.backendId, e.message));
        });
        c.once('close', () => {
          this.client = undefined;
        });
        c.connect({
          host: t.host,
          port: t.port,
          username: t.username,
          privateKey: t.privateKey,
          hostVerifier: hostVerifier(t.hostKey),
          readyTimeout: 10_000,
          keepaliveInterval: 15_000,
        });
      });
    }
    return this.client;
  }

  async forward(host: string, port: number): Promise<Duplex> {
    const client = await this.connection();
    return await new Promise<Duplex>((resolve, reject) => {
      client.forwardOut('127.0.0.1', 0, host, port, (err, channel) => (err ? reject(err) : resolve(channel)));
    });
  }

  /** Output of a command on the host; undefined when it isn't installed there (exit 127). */
  async exec(argv: string[]): Promise<string | undefined> {
    const client = await this.connection();
    const cmd = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    return await new Promise<string | undefined>((resolve, reject) => {
      client.exec(cmd, (err, ch) => {
        if (err) return reject(err);
        let out = '';
        let errOut = '';
        ch.on('data', (c: Buffer) => {
          out += c.toString();
        });
        ch.stderr.on('data', (c: Buffer) => {
          errOut += c.toString();
        });
        ch.on('close', (code: number) => {
          if (code === 127) resolve(undefined);
          else if (code !== 0)
            reject(
              new Error(`${argv[0]} failed on ${this.target.host} (exit ${code}): ${errOut.trim() || out.trim()}`),
            );
          else resolve(out);
        });
      });
    });
  }

  async close(): Promise<void> {
    if (this.client) (await this.client.catch(() => undefined))?.end();
  }
}

/** A TCP connection from the gateway itself (the backend runs beside it). */
export function connectLocal(host: string, port: number): Promise<Duplex> {
  return new Promise<Duplex>((resolve, reject) => {
    const s = net.connect({ host, port });
    s.setNoDelay(true);
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}
