// The real OpenSSH client through the gateway's tunnel, configured the way the CLI and the extension configure it:
// the managed block (ProxyCommand `hangar proxy`, pinned host keys) in a file of its own.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { sshAlias } from '../../common/names';
import { renderBlock, shellCommand, writeManagedBlock } from '../../common/sshConfig';
import { Cli } from '../helpers/cli';
import { tmpDir } from '../helpers/tmp';

export const AGENT_BINARY = path.resolve('dist/native/linux-amd64/hangar-agent');
export const AGENT_PYTHON_IMAGE = 'hangar-test/agent-python:latest';
export const AGENT_BUSYBOX_IMAGE = 'hangar-test/agent-busybox:latest';

export interface Run {
  code: number;
  out: string;
  err: string;
}

export class OpenSsh {
  readonly file = path.join(tmpDir('agent-ssh-'), 'config');
  constructor(
    readonly cli: Cli,
    readonly url: string,
  ) {}

  /** Writes the managed block, as `hangar ssh-config` / the extension do. */
  async configure(): Promise<void> {
    assert.ok(fs.existsSync('dist/hangar.js'), 'dist/hangar.js is missing: run node scripts/bundle.mjs');
    const block = renderBlock({
      gatewayUrl: this.url,
      proxyCommand: shellCommand([process.execPath, path.resolve('dist/hangar.js')]),
      knownHostsFile: path.join(this.cli.configDir, 'known_hosts'),
      identityFile: path.join(this.cli.configDir, 'id_ed25519'),
    });
    await writeManagedBlock(this.file, this.url, block);
  }

  alias(env: string): string {
    return sshAlias(this.url, env);
  }

  get env(): NodeJS.ProcessEnv {
    return { ...process.env, HANGAR_CONFIG_DIR: this.cli.configDir, HANGAR_URL: '', HANGAR_TOKEN: '' };
  }

  /** One program of the OpenSSH suite (ssh, scp, sftp) with this config file. */
  run(prog: 'ssh' | 'scp' | 'sftp', args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}) {
    return new Promise<Run>((resolve) => {
      const child = execFile(
        prog,
        ['-F', this.file, '-o', 'BatchMode=yes', ...args],
        { env: { ...this.env, ...opts.env }, timeout: 120_000, maxBuffer: 64 << 20 },
        (e, out, err) => resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, out, err }),
      );
      child.stdin!.end(opts.input ?? '');
    });
  }

  ssh(env: string, ...args: string[]): Promise<Run> {
    return this.run('ssh', [this.alias(env), ...args]);
  }

  /** A long-running ssh (a forward with -N); killed by the caller. */
  spawn(args: string[]): ChildProcess {
    return spawn('ssh', ['-F', this.file, '-o', 'BatchMode=yes', ...args], { env: this.env, stdio: 'pipe' });
  }
}
