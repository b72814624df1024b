// Runs the real `hangar` CLI (bin/hangar → dist/hangar.js) with its own config dir.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { tmpDir } from './tmp';

export const HANGAR_BIN = path.resolve(__dirname, '../../bin/hangar');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class Cli {
  readonly configDir = tmpDir('hangar-cli-');
  constructor(readonly url: string) {}

  run(
    args: string[],
    opts: { env?: Record<string, string>; input?: string; timeoutMs?: number } = {},
  ): Promise<CliResult> {
    return new Promise((resolve) => {
      const child = execFile(
        HANGAR_BIN,
        args,
        {
          env: { ...process.env, HANGAR_CONFIG_DIR: this.configDir, HANGAR_URL: '', HANGAR_TOKEN: '', ...opts.env },
          timeout: opts.timeoutMs ?? 120_000,
          maxBuffer: 64 << 20,
        },
        (err, stdout, stderr) =>
          resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
      );
      if (opts.input !== undefined) child.stdin!.end(opts.input);
    });
  }

  async login(token: string): Promise<void> {
    const r = await this.run(['login', this.url], { input: token + '\n' });
    if (r.code !== 0) throw new Error(`login failed: ${r.stderr}`);
  }
}
