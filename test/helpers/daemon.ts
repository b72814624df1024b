// Starts a real hangard (in-process, or as a child process that a test may kill) on 127.0.0.1, port 0.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { HangarClient } from '../../common/client';
import { loadConfig } from '../../daemon/config';
import { createLogger } from '../../daemon/log';
import { startServer, type RunningServer } from '../../daemon/server';
import type { Clock } from '../../daemon/environments/clock';
import { tmpDir } from './tmp';

export interface TestDaemon {
  url: string;
  dataDir: string;
  token: string;
  admin: HangarClient;
  server: RunningServer;
  close(): Promise<void>;
}

const LOG_LEVEL = process.env.HANGAR_TEST_LOG ?? 'silent';

export async function startDaemon(
  opts: {
    dockerHost?: string;
    dataDir?: string;
    configYaml?: string;
    reconcileS?: number;
    logLines?: string[];
    port?: number;
    /** The lifecycle's clock (tests move it; the policy loop is driven by envs.autopilot.tick()). */
    clock?: Clock;
  } = {},
): Promise<TestDaemon> {
  const dataDir = opts.dataDir ?? tmpDir('hangard-');
  const argv = ['--listen', `127.0.0.1:${opts.port ?? 0}`, '--data-dir', dataDir, '--log-level', LOG_LEVEL];
  if (opts.configYaml) {
    fs.writeFileSync(path.join(dataDir, 'hangar.yaml'), opts.configYaml);
    argv.push('--config', path.join(dataDir, 'hangar.yaml'));
  }
  if (opts.dockerHost) argv.push('--docker-host', opts.dockerHost);
  const cfg = loadConfig({ argv, env: {} });
  cfg.reconcile_interval_s = opts.reconcileS ?? 3600;
  cfg.stop_timeout_s = 2;
  const sink = opts.logLines
    ? {
        write: (line: string) => {
          opts.logLines!.push(line);
        },
      }
    : undefined;
  const server = await startServer(cfg, {
    log: createLogger(opts.logLines ? 'trace' : LOG_LEVEL, sink),
    clock: opts.clock,
  });
  const token = fs.readFileSync(path.join(dataDir, 'admin.token'), 'utf8').trim();
  // With TLS on, the test's own client pins the certificate the server reports.
  const tls = server.tlsFingerprint ? { fingerprint256: server.tlsFingerprint } : undefined;
  return {
    url: server.url,
    dataDir,
    token,
    admin: new HangarClient({ url: server.url, token, tls }),
    server,
    close: () => server.close(),
  };
}

export interface ChildDaemon {
  url: string;
  proc: ChildProcess;
  dataDir: string;
  token: string;
  admin: HangarClient;
  /** With TLS on: the fingerprint the daemon logged (the admin client pins it). */
  tlsFingerprint?: string;
  /** Everything it printed so far (stdout log lines and stderr). */
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** The bundled daemon as its own process, for kill -9 tests. */
export async function spawnDaemon(dataDir: string, extraArgs: string[] = []): Promise<ChildDaemon> {
  // bin/hangard, as users run it (its node flags included), on the bundle in dist/.
  const bin = path.resolve(__dirname, '../../bin/hangard');
  const proc = spawn(bin, ['--listen', '127.0.0.1:0', '--data-dir', dataDir, '--log-level', 'info', ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let buf = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`hangard did not start: ${buf}`)), 20_000);
    proc.stdout!.on('data', (c: Buffer) => {
      buf += c.toString();
      const m = /"url":"(https?:\/\/[^"]+)".*hangard listening/.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    proc.stderr!.on('data', (c: Buffer) => {
      buf += c.toString();
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`hangard exited ${code}: ${buf}`));
    });
  });
  const token = fs.readFileSync(path.join(dataDir, 'admin.token'), 'utf8').trim();
  const tlsFingerprint = /TLS certificate SHA-256 fingerprint ((?:[0-9A-F]{2}:){31}[0-9A-F]{2})/.exec(buf)?.[1];
  return {
    url,
    proc,
    dataDir,
    token,
    tlsFingerprint,
    output: () => buf,
    admin: new HangarClient({ url, token, tls: tlsFingerprint ? { fingerprint256: tlsFingerprint } : undefined }),
    kill: (signal = 'SIGKILL') =>
      new Promise((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill(signal);
      }),
  };
}
