// What the JumpServer tests share: a gateway config pointing at the API double (private token in a file, KoKo, the
// asset endpoints on 127.0.0.1 in a port range of the test's own), and the real OpenSSH client run to completion.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { JumpServerApiDouble } from '../doubles/jumpserver-api';

/** The `jumpserver:` block for a test daemon; registers `token` with the double as the admin's private token. */
export function jumpServerYaml(o: {
  api: JumpServerApiDouble;
  dir: string;
  token: string;
  kokoPort: number;
  ports: { from: number; to: number };
  extra?: string[];
}): string {
  o.api.privateTokens.set(o.token, 'admin');
  const file = path.join(o.dir, `token-${o.token}`);
  fs.writeFileSync(file, `${o.token}\n`, { mode: 0o600 });
  return [
    'jumpserver:',
    `  url: ${o.api.url}`,
    `  auth: {private_token_file: ${file}}`,
    `  koko: {host: 127.0.0.1, port: ${o.kokoPort}}`,
    '  asset_address: 127.0.0.1',
    '  asset_bind: 127.0.0.1',
    `  asset_port_range: {from: ${o.ports.from}, to: ${o.ports.to}}`,
    ...(o.extra ?? []).map((l) => `  ${l}`),
    '',
  ].join('\n');
}

/** `ssh args…`: exit code, stdout and stderr (never throws). */
export function runSsh(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile('ssh', args, { timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    ),
  );
}
