// What the Docker backend reads and writes besides the API's own objects: the engine's error replies, container
// states, the multiplexed log format, boot files as a tar archive, and nvidia-smi run beside a local engine.
import { execFile } from 'node:child_process';
import type Dockerode from 'dockerode';
import * as tar from 'tar-stream';
import type { BackendState, BootFile } from '../../contract';
import { streamToBuffer } from '../shared/streams';

export function statusCode(err: unknown): number | undefined {
  return (err as { statusCode?: number })?.statusCode;
}

export function dockerMessage(err: unknown): string {
  const e = err as { json?: { message?: string }; reason?: string; message?: string };
  return redactMountSecrets(e?.json?.message ?? e?.message ?? String(err));
}

/** dockerd quotes a failed local-volume mount's options ("data: name=…,secret=…"): keys never leave as they are. */
export const redactMountSecrets = (text: string) => text.replace(/\b(secret|password)=[^,\s"':]+/g, '$1=***');

export function stateOf(s: Dockerode.ContainerInspectInfo['State']): BackendState {
  if (s.Running || s.Restarting) return 'running';
  if (s.Status === 'created') return 'created';
  if (s.Status === 'dead' || (s.ExitCode !== 0 && s.ExitCode !== 143 && s.ExitCode !== 137 && s.Error)) return 'failed';
  return 'stopped';
}

/** A listed container's state (the list API has only the status word, not the exit code of inspect). */
export function listedState(state: string): BackendState {
  if (state === 'running' || state === 'restarting') return 'running';
  if (state === 'created') return 'created';
  if (state === 'dead') return 'failed';
  return 'stopped';
}

/** Docker's multiplexed log format: 8-byte header (stream, 0, 0, 0, big-endian length) per frame. */
export function demuxBuffer(buf: Buffer): Buffer {
  const parts: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length) {
    const len = buf.readUInt32BE(i + 4);
    parts.push(buf.subarray(i + 8, i + 8 + len));
    i += 8 + len;
  }
  return Buffer.concat(parts);
}

/** Boot files as one tar archive for putArchive at '/'; parent folders are made 0755, but /etc and /etc/ssh are left
 * as the image has them. */
export function bootFilesArchive(files: BootFile[]): Promise<Buffer> {
  const pack = tar.pack();
  const dirs = new Set<string>();
  for (const f of files) {
    const parts = f.path.replace(/^\//, '').split('/');
    for (let i = 1; i < parts.length; i++) {
      const d = parts.slice(0, i).join('/');
      if (!dirs.has(d) && !['etc', 'etc/ssh'].includes(d)) {
        dirs.add(d);
        pack.entry({ name: d, type: 'directory', mode: 0o755 });
      }
    }
    pack.entry(
      { name: parts.join('/'), mode: f.mode },
      typeof f.content === 'string' ? Buffer.from(f.content) : f.content,
    );
  }
  pack.finalize();
  return streamToBuffer(pack);
}

/** Output of a local command; undefined when it isn't installed; throws with its message when it fails. */
export function localExec(cmd: string, args: string[]): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 20_000, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return resolve(undefined);
      reject(new Error(`${cmd} failed (exit ${err.code}): ${(stderr || stdout).trim().slice(0, 500)}`));
    });
  });
}
