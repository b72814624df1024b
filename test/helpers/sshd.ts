// A real OpenSSH server on 127.0.0.1 (a "remote" Docker host reached over SSH), with its own keys.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { generateEd25519 } from '../../common/sshkeys';
import { tmpDir } from './tmp';

export interface Sshd {
  port: number;
  clientKeyFile: string;
  hostPublicKey: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export async function startSshd(): Promise<Sshd> {
  const dir = tmpDir('hangar-sshd-');
  const host = generateEd25519('host');
  const client = generateEd25519('client');
  fs.writeFileSync(path.join(dir, 'host_key'), host.privateKey, { mode: 0o600 });
  fs.writeFileSync(path.join(dir, 'client_key'), client.privateKey, { mode: 0o600 });
  fs.writeFileSync(path.join(dir, 'authorized_keys'), client.publicKey + '\n', { mode: 0o600 });
  const port = await freePort();
  fs.mkdirSync('/run/sshd', { recursive: true });
  const proc: ChildProcess = spawn(
    '/usr/sbin/sshd',
    [
      '-D',
      '-e',
      '-p',
      String(port),
      '-o',
      'ListenAddress=127.0.0.1',
      '-o',
      `HostKey=${path.join(dir, 'host_key')}`,
      '-o',
      `AuthorizedKeysFile=${path.join(dir, 'authorized_keys')}`,
      '-o',
      'PermitRootLogin=prohibit-password',
      '-o',
      'PasswordAuthentication=no',
      '-o',
      'StrictModes=no',
      '-o',
      `PidFile=${path.join(dir, 'pid')}`,
      '-o',
      'UsePAM=no',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  proc.stderr!.on('data', (c: Buffer) => {
    log += c.toString();
  });
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) break;
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`sshd did not start: ${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    clientKeyFile: path.join(dir, 'client_key'),
    hostPublicKey: host.publicKey,
    stop: () =>
      new Promise((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill();
      }),
  };
}
