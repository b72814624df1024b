// Open in Remote-SSH through JumpServer: VS Code's server is reached by port forwarding (direct-tcpip), which KoKo
// refuses unless two of its settings are on. Probed before Remote-SSH starts (so it never hangs at "Setting up SSH
// tunnel"), and explained. No vscode import: tested under plain mocha with the real ssh and a KoKo double.
import { spawn } from 'node:child_process';

export const KOKO_SETTINGS_HINT =
  "JumpServer refused port forwarding, which VS Code Remote-SSH needs. In KoKo's config.yml (or the JumpServer " +
  'environment: the koko service) set ENABLE_LOCAL_PORT_FORWARD: true and ENABLE_VSCODE_SUPPORT: true (both are off ' +
  'by default; the second needs the first), restart KoKo, and try again. Terminal SSH through JumpServer works without them.';

/** ssh's words when a forward is refused (KoKo answers direct-tcpip with "administratively prohibited"). */
const REFUSED = [
  /channel \d+: open failed: administratively prohibited/i,
  /open failed: (administratively prohibited|connect failed)/i,
  /port forwarding is disabled/i,
  /stdio forwarding failed/i,
];

/** The explanation for output of ssh / Remote-SSH, when it shows KoKo refusing forwarding. */
export function kokoForwardingHint(output: string): string | undefined {
  return REFUSED.some((r) => r.test(output)) ? KOKO_SETTINGS_HINT : undefined;
}

/** Asks ssh for a forward to the env's sshd through the alias (KoKo): resolves "ok" when an SSH banner comes back,
 *  else the explanation (forwarding refused) or ssh's own error. */
export function probeForwarding(o: {
  ssh?: string;
  configFile: string;
  alias: string;
  timeoutMs?: number;
}): Promise<{ ok: true } | { ok: false; hint?: string; output: string }> {
  return new Promise((resolve) => {
    const args = ['-F', o.configFile, '-o', 'BatchMode=yes', '-W', '127.0.0.1:22', o.alias];
    const p = spawn(o.ssh ?? 'ssh', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const done = (r: { ok: true } | { ok: false; hint?: string; output: string }) => {
      clearTimeout(timer);
      p.kill();
      resolve(r);
    };
    const timer = setTimeout(
      () => done({ ok: false, hint: kokoForwardingHint(err), output: err || 'no answer' }),
      o.timeoutMs ?? 15_000,
    );
    p.stdout.on('data', (b: Buffer) => {
      out += b.toString('latin1');
      if (out.startsWith('SSH-')) done({ ok: true });
    });
    p.stderr.on('data', (b: Buffer) => {
      err += b.toString();
      const hint = kokoForwardingHint(err);
      if (hint) done({ ok: false, hint, output: err });
    });
    p.on('exit', () => done({ ok: false, hint: kokoForwardingHint(err), output: err }));
    p.on('error', (e) => done({ ok: false, output: e.message }));
  });
}
