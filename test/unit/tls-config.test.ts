// TLS settings of hangard: parsing (tls / tls_cert_file / tls_key_file / trust_proxy, the key named when wrong)
// and the certificate the daemon serves (self-signed made once in the data dir, key 0600, the right names).
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../daemon/config';
import { createLogger } from '../../daemon/log';
import { startServer } from '../../daemon/server';
import { loadTls, selfSignedNames, TlsConfigError } from '../../daemon/tls';
import { makeServerCert } from '../helpers/certs';
import { tmpDir } from '../helpers/tmp';

function fromYaml(yaml: string, env: Record<string, string> = {}) {
  const file = path.join(tmpDir(), 'hangar.yaml');
  fs.writeFileSync(file, yaml);
  return loadConfig({ argv: ['--config', file], env });
}

describe('daemon TLS configuration', () => {
  it('off by default: http public_url, trust_proxy false', () => {
    const c = loadConfig({ env: {} });
    assert.deepEqual(c.tlsSource, { kind: 'off' });
    assert.equal(c.publicUrl, 'http://127.0.0.1:7420');
    assert.equal(c.trust_proxy, false);
  });

  it('tls: self-signed, or cert + key files; public_url defaults to https://<listen>', () => {
    const c = fromYaml('tls: self-signed\nlisten: 10.1.2.3:8443\n');
    assert.deepEqual(c.tlsSource, { kind: 'self-signed' });
    assert.equal(c.publicUrl, 'https://10.1.2.3:8443');
    const f = fromYaml('tls_cert_file: /etc/hangar/tls.crt\ntls_key_file: /etc/hangar/tls.key\n');
    assert.deepEqual(f.tlsSource, { kind: 'files', certFile: '/etc/hangar/tls.crt', keyFile: '/etc/hangar/tls.key' });
    assert.equal(f.publicUrl, 'https://127.0.0.1:7420');
    assert.equal(
      fromYaml('tls: self-signed\npublic_url: https://hangar.example.com\n').publicUrl,
      'https://hangar.example.com',
    );
    // Environment and flags too.
    assert.deepEqual(loadConfig({ env: { HANGAR_TLS: 'self-signed' } }).tlsSource, { kind: 'self-signed' });
    assert.deepEqual(loadConfig({ argv: ['--tls-cert-file', '/c', '--tls-key-file', '/k'] }).tlsSource, {
      kind: 'files',
      certFile: '/c',
      keyFile: '/k',
    });
    assert.deepEqual(fromYaml('tls: off\n').tlsSource, { kind: 'off' });
  });

  it('bad TLS settings name the key', () => {
    assert.throws(() => fromYaml('tls: yes-please\n'), /invalid configuration: tls: /);
    assert.throws(() => fromYaml('tls: true\n'), /invalid configuration: tls: /);
    assert.throws(
      () => fromYaml('tls_cert_file: /c\n'),
      /invalid configuration: tls_key_file: required with tls_cert_file/,
    );
    assert.throws(
      () => fromYaml('tls_key_file: /k\n'),
      /invalid configuration: tls_cert_file: required with tls_key_file/,
    );
    assert.throws(
      () => fromYaml('tls: self-signed\ntls_cert_file: /c\ntls_key_file: /k\n'),
      /invalid configuration: tls: 'self-signed' can't be combined/,
    );
    assert.throws(() => fromYaml('tls_cert: /c\n'), /invalid configuration: .*tls_cert/);
  });

  it('trust_proxy: a boolean, a hop count, or addresses express understands', () => {
    assert.equal(fromYaml('trust_proxy: true\n').trust_proxy, true);
    assert.equal(fromYaml('trust_proxy: 1\n').trust_proxy, 1);
    assert.equal(fromYaml('trust_proxy: "loopback, 10.0.0.0/8"\n').trust_proxy, 'loopback, 10.0.0.0/8');
    assert.deepEqual(fromYaml('trust_proxy: [127.0.0.1, "fd00::/8", 10.0.0.0/255.0.0.0]\n').trust_proxy, [
      '127.0.0.1',
      'fd00::/8',
      '10.0.0.0/255.0.0.0',
    ]);
    assert.equal(loadConfig({ env: { HANGAR_TRUST_PROXY: 'true' } }).trust_proxy, true);
    assert.equal(loadConfig({ argv: ['--trust-proxy', '2'] }).trust_proxy, 2);
    assert.equal(loadConfig({ env: { HANGAR_TRUST_PROXY: 'loopback' } }).trust_proxy, 'loopback');
    assert.throws(
      () => fromYaml('trust_proxy: my-proxy.local\n'),
      /invalid configuration: trust_proxy: 'my-proxy\.local' is not an IP address/,
    );
    assert.throws(() => fromYaml('trust_proxy: 10.0.0.0/33\n'), /invalid configuration: trust_proxy: /);
    assert.throws(() => fromYaml('trust_proxy: -1\n'), /invalid configuration: trust_proxy/);
  });
});

describe('daemon TLS certificate', () => {
  it('self-signed: made at first start in the data dir (key 0600), kept across restarts, named for listen/public_url/localhost/127.0.0.1', async () => {
    const dataDir = tmpDir();
    const cfg = {
      ...fromYaml('tls: self-signed\nlisten: 192.0.2.7:7420\npublic_url: https://gw.example.com:8443\n'),
      data_dir: dataDir,
    };
    const first = await loadTls(cfg);
    assert.ok(first?.generated);
    assert.equal(fs.statSync(path.join(dataDir, 'tls/key.pem')).mode & 0o777, 0o600);
    const x = new X509Certificate(first.cert);
    assert.equal(x.fingerprint256, first.fingerprint256);
    for (const name of ['localhost', 'gw.example.com']) assert.equal(x.checkHost(name), name, name);
    for (const ip of ['127.0.0.1', '192.0.2.7', '::1']) assert.ok(x.checkIP(ip), ip);
    assert.equal(x.checkHost('other.example.com'), undefined);
    const again = await loadTls(cfg);
    assert.equal(again?.generated, false);
    assert.equal(again?.fingerprint256, first.fingerprint256, 'the same certificate after a restart: pins stay valid');
  });

  it('the wildcard listen address is not a name; IPv6 hosts lose their brackets', () => {
    assert.deepEqual(selfSignedNames({ listenHost: '0.0.0.0', public_url: 'https://[2001:db8::1]:7420' }), {
      dns: ['localhost'],
      ips: ['127.0.0.1', '::1', '2001:db8::1'],
    });
  });

  it('cert and key files: served as they are; unreadable or not PEM names the key', async () => {
    const pem = await makeServerCert();
    const ok = await loadTls({
      ...fromYaml(`tls_cert_file: ${pem.certFile}\ntls_key_file: ${pem.keyFile}\n`),
      data_dir: tmpDir(),
    });
    assert.equal(ok?.fingerprint256, new X509Certificate(pem.cert).fingerprint256);
    await assert.rejects(
      loadTls({ ...fromYaml(`tls_cert_file: /nonexistent.crt\ntls_key_file: ${pem.keyFile}\n`), data_dir: tmpDir() }),
      (e: Error) =>
        e instanceof TlsConfigError &&
        /^invalid configuration: tls_cert_file: can't read \/nonexistent\.crt: ENOENT/.test(e.message),
    );
    await assert.rejects(
      loadTls({ ...fromYaml(`tls_cert_file: ${pem.keyFile}\ntls_key_file: ${pem.keyFile}\n`), data_dir: tmpDir() }),
      (e: Error) =>
        e instanceof TlsConfigError &&
        /tls_cert_file: .* is not a PEM certificate/.test(e.message) &&
        !e.message.includes('PRIVATE KEY'),
    );
  });

  it('a key that does not fit the certificate stops the start, naming tls_key_file', async () => {
    const [a, b] = [await makeServerCert(), await makeServerCert()];
    const cfg = {
      ...fromYaml(
        `tls_cert_file: ${a.certFile}\ntls_key_file: ${b.keyFile}\nlisten: 127.0.0.1:0\nbackends: [{id: local, url: "unix:///nonexistent.sock"}]\n`,
      ),
      data_dir: tmpDir(),
    };
    await assert.rejects(
      startServer(cfg, { log: createLogger('silent') }),
      (e: Error) =>
        e instanceof TlsConfigError &&
        /^invalid configuration: tls_key_file: the key doesn't fit/.test(e.message) &&
        !e.message.includes('PRIVATE'),
    );
  });
});
