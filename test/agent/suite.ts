// What every agent env must do for the real OpenSSH client (Docker and VM suites share it): a shell, exec with
// exit codes, env vars, a pty that follows the window, scp and sftp both ways, ssh -L and ssh -R.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { tmpDir } from '../helpers/tmp';
import type { OpenSsh } from './openssh';

export interface AgentTarget {
  ssh: OpenSsh;
  env: string;
  /** Prints the terminal's width: tput cols, or `stty size` where the image has no tput (busybox). */
  cols?: string;
  /** A command that serves HTTP on 127.0.0.1:<port> inside the env until killed (python3 or busybox httpd). */
  httpServer: (port: number) => string;
  /** A command that GETs a URL inside the env and prints the body. */
  httpGet: (url: string) => string;
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });

/** Runs `inner` in a terminal of cols×rows made by script(1) (util-linux), so ssh sees a real tty. */
const inTerminal = (ssh: OpenSsh, inner: string) =>
  new Promise<string>((resolve, reject) => {
    execFile(
      'script',
      ['-qfec', inner, '/dev/null'],
      { env: { ...ssh.env, TERM: 'xterm' }, timeout: 60_000 },
      (e, out) => (e ? reject(new Error(`${e.message}\n${out}`)) : resolve(out)),
    );
  });

/** `python`: the image has python3, for the unix-socket ends of the streamlocal test (busybox has neither end). */
export function agentAccessTests(t: () => AgentTarget, o: { python?: boolean } = {}): void {
  it('exec: output and exit codes come back; the session is the login user, not root', async () => {
    const { ssh, env } = t();
    const ok = await ssh.ssh(env, 'echo out; echo err >&2; id -un');
    assert.equal(ok.code, 0, ok.err);
    assert.deepEqual(ok.out.trim().split('\n'), ['out', 'hangar']);
    assert.match(ok.err, /err/);
    assert.equal((await ssh.ssh(env, 'exit 7')).code, 7);
    assert.equal((await ssh.ssh(env, 'false')).code, 1);
  });

  it('a login shell reads commands from stdin', async () => {
    const { ssh, env } = t();
    const r = await ssh.run('ssh', ['-T', ssh.alias(env)], { input: 'echo "$((6 * 7))"; echo "$0"; exit 3\n' });
    assert.equal(r.code, 3, r.err);
    assert.match(r.out, /^42\n-\w*sh\n$/);
  });

  it("env vars: the env's own, and the client's SetEnv / SendEnv", async () => {
    const { ssh, env } = t();
    const r = await ssh.run(
      'ssh',
      [
        '-o',
        'SetEnv=HANGAR_SET=from-setenv',
        '-o',
        'SendEnv=LC_HANGAR_SENT',
        ssh.alias(env),
        'echo "$HANGAR_AGENT_T|$HANGAR_SET|$LC_HANGAR_SENT"',
      ],
      { env: { LC_HANGAR_SENT: 'from-sendenv' } },
    );
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out.trim(), 'two words|from-setenv|from-sendenv');
  });

  it('a pty: tput cols is the terminal width, and follows a window change', async () => {
    const { ssh, env, cols = 'tput cols' } = t();
    const cmd = ['ssh', '-F', ssh.file, '-o', 'BatchMode=yes', '-tt', ssh.alias(env)].join(' ');
    // The terminal starts 91 wide; a background stty makes it 77 while the remote side sleeps (SIGWINCH → window-change).
    const out = await inTerminal(
      ssh,
      `stty cols 91 rows 30; (sleep 3; stty cols 77 rows 30 </dev/tty) & ${cmd} '${cols}; sleep 6; ${cols}; tty'`,
    );
    const lines = out.replace(/\r/g, '').trim().split('\n');
    assert.deepEqual(lines.slice(0, 2), ['91', '77'], out);
    assert.match(lines[2], /^\/dev\/pts\/\d+$/);
  });

  it('scp and sftp both ways keep the bytes', async () => {
    const { ssh, env } = t();
    const dir = tmpDir('agent-files-');
    const up = path.join(dir, 'up.bin');
    const data = crypto.randomBytes(3 << 20);
    fs.writeFileSync(up, data);
    const alias = ssh.alias(env);
    let r = await ssh.run('scp', ['-q', up, `${alias}:/tmp/scp-up.bin`]);
    assert.equal(r.code, 0, r.err);
    r = await ssh.run('scp', ['-q', `${alias}:/tmp/scp-up.bin`, path.join(dir, 'scp-down.bin')]);
    assert.equal(r.code, 0, r.err);
    assert.ok(fs.readFileSync(path.join(dir, 'scp-down.bin')).equals(data), 'scp round trip');
    const batch = `put ${up} /tmp/sftp-up.bin\nget /tmp/sftp-up.bin ${path.join(dir, 'sftp-down.bin')}\nls -l /tmp/sftp-up.bin\n`;
    r = await ssh.run('sftp', ['-q', '-b', '-', alias], { input: batch });
    assert.equal(r.code, 0, r.err);
    assert.ok(fs.readFileSync(path.join(dir, 'sftp-down.bin')).equals(data), 'sftp round trip');
    const sum = await ssh.ssh(env, 'md5sum /tmp/sftp-up.bin /tmp/scp-up.bin');
    const [a, b] = sum.out
      .trim()
      .split('\n')
      .map((l) => l.split(' ')[0]);
    assert.equal(a, crypto.createHash('md5').update(data).digest('hex'), sum.out + sum.err);
    assert.equal(b, a);
  });

  it('ssh -L reaches a server inside the env', async function () {
    const { ssh, env } = t();
    const inner = 18000 + Math.floor(Math.random() * 1000);
    const server = ssh.spawn(['-T', ssh.alias(env), t().httpServer(inner)]);
    const local = await freePort();
    const fwd = ssh.spawn([
      '-N',
      '-o',
      'ExitOnForwardFailure=yes',
      '-L',
      `127.0.0.1:${local}:127.0.0.1:${inner}`,
      ssh.alias(env),
    ]);
    try {
      let body = '';
      for (let i = 0; i < 60 && !body.includes('hangar-L'); i++) {
        body = await fetch(`http://127.0.0.1:${local}/marker-hangar-L.txt`)
          .then((r) => r.text())
          .catch(() => '');
        if (!body.includes('hangar-L')) await new Promise((r) => setTimeout(r, 500));
      }
      assert.match(body, /hangar-L/);
    } finally {
      fwd.kill();
      server.kill();
      await ssh.ssh(env, `pkill -f 'http.server ${inner}' || kill $(pgrep -f 'httpd.*${inner}') || true`);
    }
  });

  it('ssh -R brings a port of this machine into the env', async () => {
    const { ssh, env } = t();
    const srv = http.createServer((_q, res) => res.end('through-ssh-R')).listen(0, '127.0.0.1');
    await new Promise((r) => srv.once('listening', r));
    const local = (srv.address() as net.AddressInfo).port;
    const remote = 19000 + Math.floor(Math.random() * 1000);
    try {
      const r = await ssh.run('ssh', [
        '-o',
        'ExitOnForwardFailure=yes',
        '-R',
        `127.0.0.1:${remote}:127.0.0.1:${local}`,
        ssh.alias(env),
        t().httpGet(`http://127.0.0.1:${remote}/`),
      ]);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out.trim(), 'through-ssh-R');
    } finally {
      srv.close();
    }
  });

  if (o.python) streamlocalTest(t);
}

function streamlocalTest(t: () => AgentTarget): void {
  it('streamlocal: ssh -L to a unix socket in the env, ssh -R from one', async () => {
    const { ssh, env } = t();
    const n = crypto.randomBytes(4).toString('hex');
    const remote = `/tmp/hangar-sl-${n}.sock`;
    const serve = `import socket; s=socket.socket(socket.AF_UNIX); s.bind("${remote}"); s.listen(1); c,_=s.accept(); c.sendall(b"from-unix"); c.close()`;
    const server = ssh.spawn(['-T', ssh.alias(env), `python3 -c '${serve}'`]);
    const local = path.join(tmpDir('agent-sl-'), 'l.sock');
    const fwd = ssh.spawn(['-N', '-o', 'ExitOnForwardFailure=yes', '-L', `${local}:${remote}`, ssh.alias(env)]);
    const read = () =>
      new Promise<string>((resolve) => {
        let got = '';
        net
          .connect(local)
          .on('data', (b) => (got += b))
          .on('close', () => resolve(got))
          .on('error', () => resolve(''));
      });
    try {
      let got = '';
      for (let i = 0; i < 60 && got !== 'from-unix'; i++) {
        if (fs.existsSync(local)) got = await read();
        if (got !== 'from-unix') await new Promise((r) => setTimeout(r, 500));
      }
      assert.equal(got, 'from-unix', 'ssh -L local.sock:remote.sock');
    } finally {
      fwd.kill();
      server.kill();
    }
    const srv = http.createServer((_q, res) => res.end('through-unix-R')).listen(0, '127.0.0.1');
    await new Promise((r) => srv.once('listening', r));
    const port = (srv.address() as net.AddressInfo).port;
    const sock = `/tmp/hangar-slr-${n}.sock`;
    const ask = `import socket; s=socket.socket(socket.AF_UNIX); s.connect("${sock}"); s.sendall(b"GET / HTTP/1.0\\r\\n\\r\\n"); print(s.makefile().read().split()[-1])`;
    try {
      const r = await ssh.run('ssh', [
        ...['-o', 'ExitOnForwardFailure=yes', '-R', `${sock}:127.0.0.1:${port}`],
        ...[ssh.alias(env), `python3 -c '${ask}'; rm -f ${sock}`],
      ]);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out.trim(), 'through-unix-R');
    } finally {
      srv.close();
    }
  });
}
