import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { bootFiles, initScript, profileScript, shq, sshdConfig } from '../../daemon/environments/bootFiles';
import { fingerprint, generateEd25519 } from '../../common/sshkeys';
import { envFromAlias, gatewaySlug, sshAlias } from '../../common/names';
import { tmpDir } from '../helpers/tmp';

describe('environment bootstrap files', () => {
  it('sshd config: key-only, no root, our host key, env vars as SetEnv', () => {
    const c = sshdConfig({ CUDA_VISIBLE: '0', TRICKY: 'a"b' });
    assert.match(c, /^PasswordAuthentication no$/m);
    assert.match(c, /^PermitRootLogin no$/m);
    assert.match(c, /^HostKey \/\.hangar\/ssh_host_ed25519_key$/m);
    assert.match(c, /^SetEnv "CUDA_VISIBLE=0"$/m);
    assert.doesNotMatch(c, /TRICKY/);
  });

  it('the sshd config is accepted by the real sshd -t', function () {
    const dir = tmpDir();
    const key = generateEd25519('t');
    fs.writeFileSync(path.join(dir, 'k'), key.privateKey, { mode: 0o600 });
    const cfg = sshdConfig({ A: 'b c' }).replace('/.hangar/ssh_host_ed25519_key', path.join(dir, 'k'));
    fs.writeFileSync(path.join(dir, 'sshd_config'), cfg);
    // sshd -t wants its privilege-separation dir; only root may make it (openssh-server makes it at boot).
    if (!fs.existsSync('/run/sshd') && process.getuid?.() === 0) fs.mkdirSync('/run/sshd', { recursive: true });
    execFileSync('/usr/sbin/sshd', ['-t', '-f', path.join(dir, 'sshd_config')]);
  });

  it('shell quoting survives quotes and $()', () => {
    const out = execFileSync('/bin/sh', [
      '-c',
      `${profileScript({ X: `it's $(echo no) "q"` })}\nprintf %s "$X"`,
    ]).toString();
    assert.equal(out, `it's $(echo no) "q"`);
    assert.equal(shq("a'b"), `'a'\\''b'`);
  });

  it('init script is valid sh and starts Jupyter only when asked', () => {
    const dir = tmpDir();
    for (const j of [true, false]) {
      const f = path.join(dir, `init-${j}.sh`);
      fs.writeFileSync(
        f,
        initScript({
          user: 'dev',
          jupyterBaseUrl: j ? '/api/v1/environments/x/jupyter/' : null,
          volumeDirs: ['/data', "/it's"],
        }),
      );
      execFileSync('/bin/sh', ['-n', f]);
      assert.equal(/jupyter/.test(fs.readFileSync(f, 'utf8')), j);
    }
  });

  it('host keys are written private 0600, and each env gets its own', () => {
    const a = generateEd25519('a');
    const b = generateEd25519('b');
    assert.notEqual(a.publicKey, b.publicKey);
    const files = bootFiles({
      user: 'dev',
      authorizedKeys: 'ssh-ed25519 AAA\n',
      hostPrivateKey: a.privateKey,
      hostPublicKey: a.publicKey,
      envVars: {},
      jupyterToken: null,
      jupyterBaseUrl: '/j/',
      volumeDirs: [],
    });
    assert.equal(files.find((f) => f.path === '/.hangar/ssh_host_ed25519_key')!.mode, 0o600);
    assert.ok(!files.some((f) => f.path === '/.hangar/jupyter_token'));
  });

  it("every generated key loads in OpenSSH (ssh2's generator drops leading zero bytes now and then; ours must not)", function () {
    this.timeout(60_000);
    const dir = tmpDir();
    for (let i = 0; i < 150; i++) {
      const k = generateEd25519(`k${i}`);
      fs.writeFileSync(path.join(dir, 'k'), k.privateKey, { mode: 0o600 });
      const pub = execFileSync('ssh-keygen', ['-y', '-f', path.join(dir, 'k')])
        .toString()
        .trim();
      assert.equal(pub.split(' ')[1], k.publicKey.split(' ')[1]);
    }
  });

  it('fingerprints match ssh-keygen', () => {
    const dir = tmpDir();
    const k = generateEd25519('x');
    fs.writeFileSync(path.join(dir, 'k.pub'), k.publicKey + '\n');
    const out = execFileSync('ssh-keygen', ['-l', '-f', path.join(dir, 'k.pub')]).toString();
    assert.equal(out.split(' ')[1], fingerprint(k.publicKey));
  });
});

describe('ssh host aliases', () => {
  it('round-trips env names through per-gateway aliases', () => {
    assert.equal(gatewaySlug('http://127.0.0.1:7420/'), '127.0.0.1-7420');
    assert.equal(gatewaySlug('https://GW.example.com/hangar'), 'gw.example.com-hangar');
    const a = sshAlias('http://127.0.0.1:7420', 'my--env');
    assert.equal(a, 'hangar.127.0.0.1-7420--my--env');
    assert.equal(envFromAlias(a), 'my--env');
    assert.equal(envFromAlias('plain'), 'plain');
  });
});
