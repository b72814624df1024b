// Turns a backend URL into dockerode options. unix://, tcp:// (http) and ssh:// (docker system dial-stdio on the host).
import fs from 'node:fs';
import type Dockerode from 'dockerode';
import { hostVerifier, type SshTarget } from '../shared/sshHop';

export function dockerOptions(
  url: string,
  sshKeyFile?: string,
  sshHostKey?: string,
): { opts: Dockerode.DockerOptions; ssh?: SshTarget } {
  const u = new URL(url);
  switch (u.protocol) {
    case 'unix:':
      return { opts: { socketPath: u.pathname } };
    case 'tcp:':
    case 'http:':
      return { opts: { protocol: 'http', host: u.hostname, port: Number(u.port || 2375) } };
    case 'https:':
      return { opts: { protocol: 'https', host: u.hostname, port: Number(u.port || 2376) } };
    case 'ssh:': {
      const ssh: SshTarget = {
        host: u.hostname,
        port: Number(u.port || 22),
        username: decodeURIComponent(u.username || 'root'),
        privateKey: sshKeyFile ? fs.readFileSync(sshKeyFile) : undefined,
        ...(sshHostKey ? { hostKey: sshHostKey } : {}),
      };
      return {
        opts: {
          protocol: 'ssh',
          host: ssh.host,
          port: ssh.port,
          username: ssh.username,
          sshOptions: { privateKey: ssh.privateKey, hostVerifier: hostVerifier(sshHostKey), readyTimeout: 10_000 },
        } as Dockerode.DockerOptions,
        ssh,
      };
    }
    default:
      throw new Error(`unsupported Docker URL scheme '${u.protocol}' (use unix://, tcp://, https:// or ssh://)`);
  }
}
