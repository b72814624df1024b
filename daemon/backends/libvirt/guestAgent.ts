// Commands and files inside a running VM through the QEMU guest agent (qemu-guest-agent in the image; the domain
// has its virtio channel): the VM counterpart of `docker exec` and of writing into a container's filesystem.
import { UnprocessableError } from '../../errors';
import { pollUntil } from '../shared/poll';
import type { BootFile, ExecResult } from '../../contract';
import type { Virsh } from './virsh';

interface ExecStatus {
  exited: boolean;
  exitcode?: number;
  signal?: number;
  'out-data'?: string;
  'err-data'?: string;
}

export class GuestAgent {
  constructor(private readonly virsh: Virsh) {}

  private async command<T>(ref: string, execute: string, args: Record<string, unknown>): Promise<T> {
    const out = await this.virsh
      .run(['qemu-agent-command', ref, JSON.stringify({ execute, arguments: args }), '--timeout', '10'])
      .catch((err) => {
        const m = (err as Error).message;
        if (/not connected|not configured|agent is not|Guest agent/i.test(m)) {
          throw new UnprocessableError(
            `the VM's guest agent does not answer (the template needs qemu-guest-agent): ${m}`,
          );
        }
        throw err;
      });
    return (JSON.parse(out) as { return: T }).return;
  }

  async exec(ref: string, argv: string[], stdin?: string): Promise<ExecResult> {
    const { pid } = await this.command<{ pid: number }>(ref, 'guest-exec', {
      path: argv[0],
      arg: argv.slice(1),
      'capture-output': true,
      ...(stdin !== undefined ? { 'input-data': Buffer.from(stdin).toString('base64') } : {}),
    });
    // No limit of its own: virsh's per-call timeout ends a hung agent.
    const done = await pollUntil(
      async () => {
        const st = await this.command<ExecStatus>(ref, 'guest-exec-status', { pid });
        return st.exited ? st : undefined;
      },
      { timeoutMs: Infinity, intervalMs: 50, factor: 2, maxMs: 1000 },
    );
    const st = done!;
    return {
      exitCode: st.exitcode ?? (st.signal ? 128 + st.signal : -1),
      stdout: Buffer.from(st['out-data'] ?? '', 'base64').toString(),
      stderr: Buffer.from(st['err-data'] ?? '', 'base64').toString(),
    };
  }

  /** Each file written to a temp name and renamed over the old one, then given its mode. */
  async writeFiles(ref: string, files: BootFile[]): Promise<void> {
    for (const f of files) {
      const tmp = `${f.path}.hangar-new`;
      const handle = await this.command<number>(ref, 'guest-file-open', { path: tmp, mode: 'w' });
      try {
        await this.command(ref, 'guest-file-write', { handle, 'buf-b64': Buffer.from(f.content).toString('base64') });
      } finally {
        await this.command(ref, 'guest-file-close', { handle });
      }
      const r = await this.exec(ref, [
        '/bin/sh',
        '-c',
        `chmod ${f.mode.toString(8)} "$1" && mv -f "$1" "$2"`,
        'sh',
        tmp,
        f.path,
      ]);
      if (r.exitCode !== 0) throw new UnprocessableError(`writing ${f.path} in the VM failed: ${r.stderr.trim()}`);
    }
  }
}
