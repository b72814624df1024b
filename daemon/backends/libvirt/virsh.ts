// Runs libvirt's own client, virsh (libvirt-clients), against one connection URI. virsh speaks libvirt's RPC to
// local (qemu:///system) and remote (qemu+ssh://user@host/system) daemons alike, so every operation the driver
// needs — domains, storage volumes, snapshots, node devices — works the same on both.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Readable } from 'node:stream';
import { BackendUnavailableError, NotFoundError, UnprocessableError } from '../../errors';
import type { Unreachable } from '../shared/call';
import { pollUntil } from '../shared/poll';

export class VirshError extends Error {
  constructor(
    readonly args: string[],
    readonly stderr: string,
    readonly code: number | null,
  ) {
    super(
      `virsh ${args[0]}: ${
        stderr
          .trim()
          .replace(/^error:\s*/gm, '')
          .split('\n')
          .filter(Boolean)
          .join('; ') || `exit ${code}`
      }`,
    );
  }
}

/** libvirt's messages when the daemon (or the SSH hop to it) can't be reached. */
const UNREACHABLE_TEXT =
  /failed to connect to the hypervisor|Cannot recv data|End of file while reading data|Connection refused|Connection reset|No route to host|Could not resolve hostname|Permission denied \(publickey|Broken pipe|Host key verification failed|timed out/i;
/** virsh's classifier (see shared/call.ts): a failed call whose stderr says it never reached libvirtd. */
export const virshUnreachable: Unreachable = (err) =>
  err instanceof VirshError && UNREACHABLE_TEXT.test(err.stderr) ? err.message : undefined;

/** Messages for an object that isn't there (domain, volume, snapshot). */
const MISSING =
  /failed to get domain '|failed to get vol '|Domain not found|no domain with matching|Storage volume not found|no storage vol with matching|Domain snapshot not found|no domain snapshot with matching/i;

export interface VirshOptions {
  uri: string;
  backendId: string;
  /** The virsh executable (a path; tests may point it at a wrapper). */
  bin?: string;
  /** Per-call limit: a hung libvirtd must not hang the API. */
  timeoutMs?: number;
}

export class Virsh {
  constructor(private readonly o: VirshOptions) {}

  /** Runs one virsh command; maps "can't connect" to BackendUnavailableError and "not found" to NotFoundError. */
  async run(
    args: string[],
    opts: { timeoutMs?: number; signal?: AbortSignal; input?: Buffer | string } = {},
  ): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = execFile(
        this.o.bin ?? 'virsh',
        ['-q', '-c', this.o.uri, ...args],
        {
          timeout: opts.timeoutMs ?? this.o.timeoutMs ?? 60_000,
          maxBuffer: 64 * 1024 * 1024,
          signal: opts.signal,
          encoding: 'utf8',
          env: { ...process.env, LC_ALL: 'C' },
        },
        (err, stdout, stderr) => {
          if (!err) return resolve(stdout);
          const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: number | string };
          if (e.code === 'ENOENT')
            return reject(
              new BackendUnavailableError(
                this.o.backendId,
                `virsh not found (${this.o.bin ?? 'virsh'}): install libvirt-clients`,
              ),
            );
          if (e.killed)
            return reject(new BackendUnavailableError(this.o.backendId, `virsh ${args[0]} got no answer in time`));
          const ve = new VirshError(args, stderr || e.message, typeof e.code === 'number' ? e.code : null);
          const cause = stderr ? virshUnreachable(ve) : undefined;
          if (cause !== undefined) return reject(new BackendUnavailableError(this.o.backendId, cause));
          if (MISSING.test(stderr))
            return reject(
              new NotFoundError(
                'libvirt object',
                `${args[0]} ${args
                  .slice(1)
                  .filter((a) => !a.startsWith('-'))
                  .join(' ')}`.trim(),
              ),
            );
          reject(ve);
        },
      );
      if (opts.input !== undefined) child.stdin?.end(opts.input);
    });
  }

  /** Re-reads a pool's directory (volumes made outside libvirt, e.g. console logs; qcow2 sizes after an upload).
   *  libvirt refuses while any volume of the pool is being uploaded or created: wait for that instead of failing. */
  async refreshPool(pool: string, timeoutMs = 600_000): Promise<void> {
    let busy: unknown;
    const done = await pollUntil(
      () =>
        this.run(['pool-refresh', pool]).then(
          () => true,
          (err) => {
            if (!(err instanceof VirshError && /asynchronous jobs running/.test(err.message))) throw err;
            busy = err;
            return undefined;
          },
        ),
      { timeoutMs, intervalMs: 250 },
    );
    if (!done) throw busy;
  }

  /** Like run, but a failure is a 422 carrying libvirt's message (for operations the user asked for). */
  async act(args: string[], opts?: { timeoutMs?: number; signal?: AbortSignal }): Promise<string> {
    try {
      return await this.run(args, opts);
    } catch (err) {
      if (err instanceof VirshError) throw new UnprocessableError(err.message);
      throw err;
    }
  }

  /** Streams a volume's bytes into a file path virsh can write (vol-download). */
  download(pool: string, vol: string, file: string, opts: { offset?: number } = {}): Promise<string> {
    const args = ['vol-download', '--pool', pool, vol, file];
    if (opts.offset) args.push('--offset', String(opts.offset));
    return this.run(args);
  }

  /** A volume's bytes as a stream: vol-download into a FIFO the daemon reads (virsh can't write to Node's stdout, a
   *  socket; no file holds the bytes on either host). `done` rejects with libvirt's message when virsh fails;
   *  destroying the stream ends virsh. */
  async downloadStream(pool: string, vol: string): Promise<{ stream: Readable; done: Promise<void> }> {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'hangar-vol-'));
    const fifo = path.join(dir, 'stream');
    await promisify(execFile)('mkfifo', ['-m', '0600', fifo]);
    const args = ['vol-download', '--pool', pool, vol, fifo];
    const child = spawn(this.o.bin ?? 'virsh', ['-q', '-c', this.o.uri, ...args], {
      env: { ...process.env, LC_ALL: 'C' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => {
      if (stderr.length < 8192) stderr += b.toString();
    });
    const stream = fs.createReadStream(fifo);
    // The reader gave up (the store failed): end virsh rather than leave it blocked on a full FIFO.
    stream.once('close', () => {
      if (!stream.readableEnded) child.kill();
    });
    const done = new Promise<void>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code) => {
        // virsh that failed before opening the FIFO leaves the reader waiting: open and end it.
        if (code !== 0) fs.open(fifo, 'w', (_e, fd) => (fd === undefined ? undefined : fs.close(fd, () => undefined)));
        if (code === 0) resolve();
        else reject(new UnprocessableError(new VirshError(args, stderr, code).message));
      });
    }).finally(() => fsp.rm(dir, { recursive: true, force: true }));
    return { stream, done };
  }

  /** Uploads a local file into a volume (vol-upload needs a real, seekable file: not a pipe). */
  upload(pool: string, vol: string, file: string, signal?: AbortSignal): Promise<string> {
    return this.act(['vol-upload', '--pool', pool, vol, file], { timeoutMs: 3_600_000, signal });
  }
}
