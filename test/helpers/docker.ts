import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';

export const SSH_IMAGE = 'hangar-test/ssh:latest';
export const JUPYTER_IMAGE = 'hangar-test/jupyter:latest';
// Debian's client: /usr/local/bin/docker may be a newer one that wants BuildKit.
export const DOCKER = '/usr/bin/docker';
const run = promisify(execFile);

export async function docker(...args: string[]): Promise<string> {
  return (await run(DOCKER, args, { maxBuffer: 64 << 20 })).stdout.trim();
}

export function dockerSync(...args: string[]): string {
  return execFileSync(DOCKER, args).toString().trim();
}

/** Containers (any state) carrying a label selector, e.g. dev.hangar.gateway=<id>. */
export async function containersWith(label: string): Promise<string[]> {
  const out = await docker('ps', '-aq', '--no-trunc', '--filter', `label=${label}`);
  return out ? out.split('\n') : [];
}

export async function inspect(ref: string): Promise<any> {
  return JSON.parse(await docker('inspect', ref))[0];
}
