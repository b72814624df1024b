// SSH plumbing for the CLI: how ssh runs it, the pinned known_hosts file, and the -o options of `hangar ssh`.
import fs from 'node:fs';
import { identityFile, knownHostsFile } from '../common/localKey';
import { nativeProxyPath } from '../common/nativeProxy';
import { CONNECTION_OPTIONS } from '../common/sshConfig';

/** How ssh should run this CLI's `proxy` (absolute paths, quoted for ssh_config's ProxyCommand): the native
 *  proxy bundled beside it when there is one for this platform, else this Node CLI. */
export function selfCommand(): string {
  const q = (s: string) => (/[\s"']/.test(s) ? `"${s}"` : s);
  const script = process.argv[1] ? fs.realpathSync(process.argv[1]) : '';
  // __dirname is the bundle's own directory (dist/), whichever launcher (bin/hangar, node dist/hangar.js) ran it.
  const native = nativeProxyPath(__dirname);
  if (native) return q(native);
  return script.endsWith('.js') ? `${q(process.execPath)} ${q(script)}` : q(script || 'hangar');
}

export { identityFile, knownHostsFile };

/** Records (replacing any older entry) the env's host key under its alias: pinned, no TOFU prompt. */
export function pinHostKey(dir: string, alias: string, hostKey: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = knownHostsFile(dir);
  let lines: string[] = [];
  try {
    lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
  } catch {
    /* new file */
  }
  const keyPart = hostKey.trim().split(/\s+/).slice(0, 2).join(' ');
  const want = `${alias} ${keyPart}`;
  const kept = lines.filter((l) => l.split(' ')[0] !== alias);
  if (kept.length === lines.length - 1 && lines.includes(want)) return;
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, [...kept, want].join('\n') + '\n', { mode: 0o600 });
  fs.renameSync(tmp, file);
}

export interface SshOptionsInput {
  dir: string;
  gatewayUrl: string;
  cli: string;
}

/** ssh -o options for `hangar ssh`: the managed block's settings (common/sshConfig.ts), for one env. */
export function sshOptions(o: SshOptionsInput, user?: string): [string, string][] {
  const opts: [string, string][] = [
    ['ProxyCommand', `${o.cli} proxy --url ${o.gatewayUrl} %n`],
    ['UserKnownHostsFile', knownHostsFile(o.dir)],
    ...CONNECTION_OPTIONS.map(([k, v]): [string, string] => [k, v]),
  ];
  if (fs.existsSync(identityFile(o.dir))) opts.push(['IdentityFile', identityFile(o.dir)]);
  if (user) opts.push(['User', user]);
  return opts;
}
