// TLS end to end with the real pieces: the bundled hangard with `tls: self-signed`, the bundled CLI logging in over
// HTTPS (fingerprint shown and pinned), creating an env on the local Docker backend, `hangar ssh` through the tunnel
// (raw upgrade over TLS, and WebSocket over WSS) with the real OpenSSH client, and a refusal once the gateway
// comes back with another certificate.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { HangarClient } from '../../common/client';
import { makeCa, makeServerCert } from '../helpers/certs';
import { Cli } from '../helpers/cli';
import { spawnDaemon, type ChildDaemon } from '../helpers/daemon';
import { SSH_IMAGE } from '../helpers/docker';
import { tmpDir } from '../helpers/tmp';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net
      .createServer()
      .once('error', reject)
      .listen(0, '127.0.0.1', () => {
        const { port } = s.address() as net.AddressInfo;
        s.close(() => resolve(port));
      });
  });
}

describe('docker: TLS (self-signed gateway, pinned by the CLI)', function () {
  this.timeout(240_000);
  const dataDir = tmpDir('hangard-tls-');
  const envName = `tls-${Date.now().toString(36)}`;
  let port: number;
  let d: ChildDaemon;
  let cli: Cli;
  let firstFingerprint: string;
  const start = () => spawnDaemon(dataDir, ['--listen', `127.0.0.1:${port}`, '--tls', 'self-signed']);
  const cliConfig = () => JSON.parse(fs.readFileSync(path.join(cli.configDir, 'config.json'), 'utf8'));

  before(async () => {
    assert.ok(
      fs.existsSync('dist/hangar.js') && fs.existsSync('dist/hangard.js'),
      'dist/ is missing: run node scripts/bundle.mjs',
    );
    port = await freePort();
    d = await start();
    cli = new Cli(d.url);
  });
  after(async () => {
    await d?.admin.deleteEnvironment(envName).catch(() => undefined);
    await d?.kill('SIGTERM');
  });

  it('hangard serves https and prints its certificate fingerprint at start (stderr and log)', () => {
    assert.equal(d.url, `https://127.0.0.1:${port}`);
    assert.ok(d.tlsFingerprint);
    firstFingerprint = d.tlsFingerprint!;
    assert.match(d.output(), new RegExp(`hangard: TLS certificate SHA-256 fingerprint ${firstFingerprint}\\n`));
    assert.equal(fs.statSync(path.join(dataDir, 'tls/key.pem')).mode & 0o777, 0o600);
  });

  it('login over https shows the fingerprint and pins it beside the token', async () => {
    const r = await cli.run(['login', d.url], { input: d.token + '\n' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`SHA-256 fingerprint is ${firstFingerprint}`));
    assert.match(r.stderr, /pinned \(trust on first use\)/);
    assert.ok(!r.stderr.includes(d.token) && !r.stdout.includes(d.token), 'no token in the output');
    assert.equal(cliConfig().gateways[d.url].tls_fingerprint, firstFingerprint);
  });

  it('create and ssh through the tunnel: raw upgrade over TLS and WebSocket over WSS', async () => {
    const c = await cli.run(['create', envName, '--image', SSH_IMAGE, '--pull', 'never', '--type', 'terminal']);
    assert.equal(c.code, 0, c.stderr);
    const ls = await cli.run(['ls', '--json']);
    assert.equal(ls.code, 0, ls.stderr);
    assert.equal(JSON.parse(ls.stdout).find((e: { name: string }) => e.name === envName)?.status, 'running');
    // A streamed body (logs) through the pinned agent too.
    const logs = await cli.run(['logs', envName, '--tail', '5']);
    assert.equal(logs.code, 0, logs.stderr);
    for (const transport of ['raw', 'websocket']) {
      const s = await cli.run(['ssh', envName, '--', 'echo', 'ok'], { env: { HANGAR_TUNNEL: transport } });
      assert.equal(s.code, 0, `${transport}: ${s.stderr}`);
      assert.equal(s.stdout.trim(), 'ok', transport);
    }
  });

  it('HANGAR_URL + HANGAR_TOKEN without a login need HANGAR_TLS_FINGERPRINT (or a CA)', async () => {
    const bare = new Cli(d.url);
    const env = { HANGAR_URL: d.url, HANGAR_TOKEN: d.token };
    const refused = await bare.run(['ls'], { env });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, new RegExp(`not trusted .*fingerprint is ${firstFingerprint}`));
    assert.ok(!refused.stderr.includes(d.token));
    const ok = await bare.run(['ls'], {
      env: { ...env, HANGAR_TLS_FINGERPRINT: firstFingerprint.replace(/:/g, '').toLowerCase() },
    });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, new RegExp(envName));
  });

  it('a new certificate is refused with both fingerprints and what to do; --fingerprint re-pins it', async () => {
    await d.kill('SIGTERM');
    fs.rmSync(path.join(dataDir, 'tls'), { recursive: true });
    d = await start();
    const second = d.tlsFingerprint!;
    assert.notEqual(second, firstFingerprint);

    const ls = await cli.run(['ls']);
    assert.equal(ls.code, 1);
    assert.match(
      ls.stderr,
      new RegExp(`certificate of ${d.url} changed: pinned SHA-256 ${firstFingerprint}, presented ${second}`),
    );
    assert.match(ls.stderr, /hangard prints at start/);
    assert.match(ls.stderr, new RegExp(`hangar login ${d.url} --fingerprint ${second}`));
    // The ProxyCommand is refused the same way: ssh gets no tunnel.
    const s = await cli.run(['ssh', envName, '--', 'echo', 'ok']);
    assert.notEqual(s.code, 0);
    assert.doesNotMatch(s.stdout, /ok/);
    assert.match(s.stderr, /changed: pinned SHA-256/);
    // A plain login again is refused too (never re-pinned silently) …
    const again = await cli.run(['login', d.url], { input: d.token + '\n' });
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /changed: pinned SHA-256/);
    assert.equal(cliConfig().gateways[d.url].tls_fingerprint, firstFingerprint);
    // … while one that names the new fingerprint pins it.
    const relogin = await cli.run(['login', d.url, '--fingerprint', second], { input: d.token + '\n' });
    assert.equal(relogin.code, 0, relogin.stderr);
    assert.equal(cliConfig().gateways[d.url].tls_fingerprint, second);
    const ssh = await cli.run(['ssh', envName, '--', 'echo', 'ok']);
    assert.equal(ssh.code, 0, ssh.stderr);
    assert.equal(ssh.stdout.trim(), 'ok');
  });
});

describe('docker: TLS (a certificate from a CA given with --ca-file)', function () {
  this.timeout(180_000);
  const envName = `tlsca-${Date.now().toString(36)}`;
  let d: ChildDaemon;
  let cli: Cli;
  let caFile: string;

  before(async () => {
    const ca = await makeCa();
    caFile = ca.certFile;
    const leaf = await makeServerCert(ca);
    d = await spawnDaemon(tmpDir('hangard-tlsca-'), ['--tls-cert-file', leaf.certFile, '--tls-key-file', leaf.keyFile]);
    cli = new Cli(d.url);
  });
  after(async () => {
    await new HangarClient({ url: d.url, token: d.token, tls: { ca: fs.readFileSync(caFile, 'utf8') } })
      .deleteEnvironment(envName)
      .catch(() => undefined);
    await d?.kill('SIGTERM');
  });

  it('login needs no pin; the CA file is kept, and the ProxyCommand of hangar ssh trusts it too', async () => {
    // Without the CA this machine can't tell: trust on first use pins it …
    const plain = await cli.run(['login', d.url, '--no-key'], { input: d.token + '\n' });
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stderr, /pinned \(trust on first use\)/);
    // … and once the CA vouches for it, the pin is dropped.
    const r = await cli.run(['login', d.url, '--ca-file', caFile], { input: d.token + '\n' });
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /pinned/);
    const saved = JSON.parse(fs.readFileSync(path.join(cli.configDir, 'config.json'), 'utf8')).gateways[d.url];
    assert.deepEqual([saved.tls_fingerprint, saved.ca_file], [undefined, caFile]);
    const c = await cli.run(['create', envName, '--image', SSH_IMAGE, '--pull', 'never', '--type', 'terminal']);
    assert.equal(c.code, 0, c.stderr);
    const s = await cli.run(['ssh', envName, '--', 'echo', 'ok']);
    assert.equal(s.code, 0, s.stderr);
    assert.equal(s.stdout.trim(), 'ok');
  });
});
