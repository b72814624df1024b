// The linux/arm64 hangar-agent, run here under qemu-user (qemu-aarch64-static: this machine has no arm64 CPU), in a
// container of the python3 test image, serving the real OpenSSH client: exec with exit codes, a pty, sftp.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { generateEd25519 } from '../../common/sshkeys';
import { docker } from '../helpers/docker';
import { tmpDir } from '../helpers/tmp';
import { AGENT_PYTHON_IMAGE } from './openssh';

const QEMU = '/usr/bin/qemu-aarch64-static';
const ARM64_AGENT = path.resolve('dist/native/linux-arm64/hangar-agent');
const NAME = `hangar-arm64-agent-${Date.now().toString(36)}`;

describe('agent: the arm64 build serves SSH (under qemu-user)', function () {
  this.timeout(120_000);
  const dir = tmpDir('agent-arm64-');
  const key = path.join(dir, 'id');
  let port = 0;

  const ssh = (cmd: string, input = '') =>
    new Promise<{ code: number; out: string; err: string }>((resolve) => {
      const c = execFile(
        'ssh',
        [
          ...['-i', key, '-p', String(port), '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no'],
          ...['-o', 'UserKnownHostsFile=/dev/null', 'hangar@127.0.0.1', cmd],
        ],
        { timeout: 60_000 },
        (e, out, err) => resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, out, err }),
      );
      c.stdin!.end(input);
    });

  before(async () => {
    assert.ok(fs.existsSync(QEMU), `${QEMU} is missing: bash test/setup/install-packages.sh installs qemu-user-static`);
    assert.ok(fs.existsSync(ARM64_AGENT), `${ARM64_AGENT} is missing: run bash scripts/build-native.sh`);
    assert.match(execFileSync('file', [ARM64_AGENT], { encoding: 'utf8' }), /ARM aarch64, .*statically linked/);
    const host = generateEd25519('arm64-host');
    const client = generateEd25519('arm64-client');
    fs.writeFileSync(path.join(dir, 'host'), host.privateKey, { mode: 0o600 });
    fs.writeFileSync(key, client.privateKey, { mode: 0o600 });
    fs.writeFileSync(path.join(dir, 'keys'), client.publicKey + '\n');
    const cfg = { user: 'hangar', listen: ':2222', host_key: '/cfg/host', authorized_keys: '/cfg/keys', env: {} };
    fs.writeFileSync(path.join(dir, 'agent.json'), JSON.stringify(cfg));
    fs.chmodSync(dir, 0o755); // the agent reads authorized_keys as the login user (the host key before it drops root)
    await docker(
      ...['run', '-d', '--name', NAME, '-p', '127.0.0.1::2222', '--entrypoint', '/bin/sh'],
      ...['-v', `${QEMU}:/usr/bin/qemu-aarch64-static:ro`, '-v', `${ARM64_AGENT}:/opt/hangar-agent:ro`],
      ...['-v', `${dir}:/cfg:ro`, AGENT_PYTHON_IMAGE],
      ...[
        '-c',
        'useradd -m -s /bin/sh hangar && exec qemu-aarch64-static /opt/hangar-agent serve --config /cfg/agent.json',
      ],
    );
    port = Number((await docker('port', NAME, '2222/tcp')).trim().split(':').pop());
    for (let i = 0; i < 100; i++) {
      if ((await ssh('true')).code === 0) return;
      await new Promise((r) => setTimeout(r, 300));
    }
    assert.fail(`the arm64 agent never answered: ${await docker('logs', NAME).catch(String)}`);
  });
  after(async () => {
    await docker('rm', '-f', NAME).catch(() => undefined);
  });

  it('exec: output, exit codes, the login user; the server is the arm64 binary', async () => {
    const r = await ssh('id -un; cat /proc/1/cmdline | tr "\\0" " "');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^hangar\nqemu-aarch64-static \/opt\/hangar-agent serve/);
    assert.equal((await ssh('exit 5')).code, 5);
  });

  it('sftp keeps the bytes both ways', async () => {
    const data = crypto.randomBytes(1 << 20);
    fs.writeFileSync(path.join(dir, 'up.bin'), data);
    const batch = `put ${path.join(dir, 'up.bin')} /tmp/up.bin\nget /tmp/up.bin ${path.join(dir, 'down.bin')}\n`;
    const r = await new Promise<number>((resolve) => {
      const c = execFile(
        'sftp',
        [
          ...['-i', key, '-P', String(port), '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no'],
          ...['-o', 'UserKnownHostsFile=/dev/null', '-b', '-', 'hangar@127.0.0.1'],
        ],
        { timeout: 60_000 },
        (e) => resolve(e ? 1 : 0),
      );
      c.stdin!.end(batch);
    });
    assert.equal(r, 0);
    assert.ok(fs.readFileSync(path.join(dir, 'down.bin')).equals(data));
  });
});
