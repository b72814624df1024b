// Trust in a gateway's certificate, against real hangard instances on 127.0.0.1 (self-signed and CA-signed):
// fingerprints, the pin check before any byte is sent, CA files, trust on first use, and cookies behind proxies.
import assert from 'node:assert/strict';
import { ApiError, HangarClient } from '../../common/client';
import { EventStream } from '../../common/events';
import { CertificateChangedError, CertificateUntrustedError, TlsTrustError } from '../../common/tls/errors';
import { fetchWithAgent } from '../../common/tls/fetch';
import { normalizeFingerprint, sameFingerprint } from '../../common/tls/fingerprint';
import { decideLoginTrust } from '../../common/tls/tofu';
import { agentFor, judgeCertificate, probeCertificate } from '../../common/tls/trust';
import { SecretBox } from '../../daemon/secretBox';
import { tlsTrust, trustKey } from '../../extension/gateways/trust';
import { JupyterSessions, SESSION_PARAM } from '../../daemon/services/jupyterSessions';
import { makeCa, makeServerCert, type Pem } from '../helpers/certs';
import { startDaemon, type TestDaemon } from '../helpers/daemon';

const FP = 'AB:'.repeat(31) + 'AB';
const OTHER = 'CD:'.repeat(31) + 'CD';
const NO_DOCKER = 'unix:///nonexistent/docker.sock';

describe('TLS trust: fingerprints and decisions', () => {
  it('fingerprints in any common spelling become AB:CD:… ; anything else is refused', () => {
    assert.equal(normalizeFingerprint('ab'.repeat(32)), FP);
    assert.equal(normalizeFingerprint(`sha256:${FP.toLowerCase()}`), FP);
    assert.equal(normalizeFingerprint(`SHA256 Fingerprint=${FP}`), FP);
    assert.ok(sameFingerprint(FP.replace(/:/g, ''), FP));
    assert.throws(
      () => normalizeFingerprint('AB:CD'),
      (e: Error) => e instanceof TlsTrustError && e.code === 'bad_fingerprint',
    );
    assert.throws(() => normalizeFingerprint('zz'.repeat(32)), TlsTrustError);
  });

  it('a CA-valid certificate needs no pin; otherwise it must match the pin', () => {
    const url = 'https://gw:7420';
    assert.deepEqual(judgeCertificate(url, { fingerprint256: FP, authorized: true }, undefined), {
      ok: true,
      via: 'ca',
    });
    assert.deepEqual(judgeCertificate(url, { fingerprint256: FP, authorized: false }, FP.toLowerCase()), {
      ok: true,
      via: 'pin',
    });
    const changed = judgeCertificate(url, { fingerprint256: OTHER, authorized: false }, FP);
    assert.ok(!changed.ok && changed.error instanceof CertificateChangedError);
    assert.match(changed.error.message, new RegExp(`pinned SHA-256 ${FP}, presented ${OTHER}`));
    assert.match(changed.error.message, new RegExp(`hangar login ${url} --fingerprint ${OTHER}`));
    assert.match(changed.error.message, /hangard prints at start/);
    const untrusted = judgeCertificate(
      url,
      { fingerprint256: FP, authorized: false, authorizationError: 'DEPTH_ZERO_SELF_SIGNED_CERT' },
      undefined,
    );
    assert.ok(!untrusted.ok && untrusted.error instanceof CertificateUntrustedError);
    assert.match(untrusted.error.message, /DEPTH_ZERO_SELF_SIGNED_CERT.*fingerprint is AB:AB/);
  });

  it('login: first use pins, the same pin stays, a changed one is refused, --fingerprint decides, a CA needs none', () => {
    const url = 'https://gw:7420';
    const self = { fingerprint256: FP, authorized: false };
    assert.deepEqual(decideLoginTrust(url, self), { kind: 'pin', fingerprint256: FP, firstUse: true });
    assert.deepEqual(decideLoginTrust(url, self, { pinned: FP }), { kind: 'pin', fingerprint256: FP, firstUse: false });
    const refused = decideLoginTrust(url, self, { pinned: OTHER });
    assert.ok(
      refused.kind === 'refuse' &&
        refused.error instanceof CertificateChangedError &&
        refused.error.pinned === OTHER &&
        refused.error.presented === FP,
    );
    assert.deepEqual(decideLoginTrust(url, self, { pinned: OTHER, expected: FP.replace(/:/g, '') }), {
      kind: 'pin',
      fingerprint256: FP,
      firstUse: false,
    });
    assert.equal(decideLoginTrust(url, self, { expected: OTHER }).kind, 'refuse');
    assert.deepEqual(decideLoginTrust(url, { fingerprint256: FP, authorized: true }, { pinned: OTHER }), {
      kind: 'ca',
    });
  });
});

describe("TLS trust: the extension's per-gateway trust", () => {
  it("pin and hangar.caFile become the client's options; an unusable CA file names the setting", async () => {
    const ca = await makeCa();
    assert.deepEqual(tlsTrust({}), {});
    assert.deepEqual(tlsTrust({ pin: FP, caFile: ca.certFile }), { ca: ca.cert, fingerprint256: FP });
    assert.throws(
      () => tlsTrust({ caFile: '/nonexistent/ca.pem' }),
      (e: Error) =>
        e instanceof TlsTrustError &&
        e.code === 'ca_file' &&
        /^hangar\.caFile: can't use CA file \/nonexistent\/ca\.pem: ENOENT/.test(e.message),
    );
    assert.throws(() => tlsTrust({ caFile: ca.keyFile }), /no PEM certificate/);
    assert.notEqual(trustKey({ pin: FP }), trustKey({ pin: OTHER }));
    assert.notEqual(trustKey({ pin: FP }), trustKey({ pin: FP, caFile: '/x' }));
    assert.equal(trustKey({ pin: FP }), trustKey({ pin: FP }));
  });
});

describe('TLS trust: a self-signed hangard', () => {
  let d: TestDaemon;
  const logLines: string[] = [];
  const requests = () => logLines.filter((l) => l.includes('"msg":"request"')).length;
  before(async () => {
    d = await startDaemon({ dockerHost: NO_DOCKER, configYaml: 'tls: self-signed\n', logLines });
  });
  after(async () => {
    await d?.close();
  });

  it('serves https on the listen port and reports its fingerprint', async () => {
    assert.match(d.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.match(d.server.tlsFingerprint ?? '', /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    assert.ok(logLines.some((l) => l.includes(`TLS certificate SHA-256 fingerprint ${d.server.tlsFingerprint}`)));
    const peer = await probeCertificate(d.url);
    assert.equal(peer.fingerprint256, d.server.tlsFingerprint);
    assert.equal(peer.authorized, false);
    assert.equal((await d.admin.me()).name, 'admin');
  });

  it('without a pin the client refuses, naming the fingerprint', async () => {
    const c = new HangarClient({ url: d.url, token: d.token });
    await assert.rejects(
      c.me(),
      (e: Error) =>
        e instanceof CertificateUntrustedError &&
        e.message.includes(d.server.tlsFingerprint!) &&
        !e.message.includes(d.token),
    );
  });

  it('a wrong pin is refused before the request is sent: the server never sees it', async () => {
    const before = requests();
    const c = new HangarClient({ url: d.url, token: d.token, tls: { fingerprint256: OTHER } });
    await assert.rejects(
      c.me(),
      (e: Error) =>
        e instanceof CertificateChangedError && e.presented === d.server.tlsFingerprint && !e.message.includes(d.token),
    );
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(requests(), before);
    // The pinned client's request does reach it.
    await d.admin.me();
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(requests(), before + 1);
  });

  it('the event stream goes through the same check: open with the pin, closed with the reason without it', async () => {
    await new Promise<void>((resolve, reject) => {
      const s = new EventStream({
        url: d.url,
        token: d.token,
        agent: d.admin.agent,
        onEvent: () => undefined,
        onOpen: () => {
          s.close();
          resolve();
        },
        onClose: reject,
        maxAttempts: 2,
      });
    });
    const err = await new Promise<Error | undefined>((resolve) => {
      const s = new EventStream({
        url: d.url,
        token: d.token,
        agent: agentFor(d.url, { fingerprint256: OTHER }),
        onEvent: () => undefined,
        onOpen: () => {
          s.close();
          resolve(undefined);
        },
        onClose: resolve,
      });
    });
    assert.ok(err instanceof CertificateChangedError, String(err));
  });

  it('a session cookie set over https is Secure', async () => {
    const res = await sessionLink(d, fetchWithAgent(d.admin.agent!), {});
    assert.match(res, /; Secure$/);
  });
});

describe('TLS trust: a CA-signed hangard', () => {
  let d: TestDaemon;
  let ca: Pem;
  before(async () => {
    ca = await makeCa();
    const leaf = await makeServerCert(ca);
    d = await startDaemon({
      dockerHost: NO_DOCKER,
      configYaml: `tls_cert_file: ${leaf.certFile}\ntls_key_file: ${leaf.keyFile}\n`,
    });
  });
  after(async () => {
    await d?.close();
  });

  it('a client given the CA file needs no pin; one without it refuses', async () => {
    const withCa = new HangarClient({ url: d.url, token: d.token, tls: { ca: ca.cert } });
    assert.equal((await withCa.me()).name, 'admin');
    const peer = await probeCertificate(d.url, ca.cert);
    assert.equal(peer.authorized, true);
    assert.deepEqual(decideLoginTrust(d.url, peer), { kind: 'ca' });
    await assert.rejects(new HangarClient({ url: d.url, token: d.token }).me(), CertificateUntrustedError);
  });

  it('an unrelated CA does not vouch for it', async () => {
    const other = await makeCa('Someone Else');
    await assert.rejects(
      new HangarClient({ url: d.url, token: d.token, tls: { ca: other.cert } }).me(),
      CertificateUntrustedError,
    );
  });
});

/** The Set-Cookie a Jupyter session link turns into (the link is made here with the daemon's own key). */
async function sessionLink(d: TestDaemon, f: typeof fetch, headers: Record<string, string>): Promise<string> {
  const me = await d.admin.me();
  const sessions = new JupyterSessions({ key: SecretBox.fromDataDir(d.dataDir).derive('jupyter-session') });
  const link = sessions.issue('link', me.id, 'env-x', 60_000);
  const res = await f(`${d.url}/api/v1/environments/env-x/jupyter/?${SESSION_PARAM}=${link}`, {
    headers,
    redirect: 'manual',
  });
  assert.equal(res.status, 302);
  return res.headers.get('set-cookie') ?? '';
}

describe('trust_proxy: X-Forwarded-* only from trusted proxies', () => {
  it('without trust_proxy a forged X-Forwarded-Proto is ignored; with it the cookie gets Secure', async () => {
    const plain = await startDaemon({ dockerHost: NO_DOCKER });
    try {
      assert.doesNotMatch(await sessionLink(plain, fetch, { 'x-forwarded-proto': 'https' }), /Secure/);
    } finally {
      await plain.close();
    }
    const proxied = await startDaemon({ dockerHost: NO_DOCKER, configYaml: 'trust_proxy: loopback\n' });
    try {
      assert.match(await sessionLink(proxied, fetch, { 'x-forwarded-proto': 'https' }), /; Secure$/);
      assert.doesNotMatch(await sessionLink(proxied, fetch, {}), /Secure/);
    } finally {
      await proxied.close();
    }
  });

  it('an https client of a plain-http gateway is told it is unreachable, not a TLS error', async () => {
    const plain = await startDaemon({ dockerHost: NO_DOCKER });
    try {
      await assert.rejects(
        new HangarClient({ url: plain.url.replace('http:', 'https:'), token: plain.token }).me(),
        (e: Error) => e instanceof ApiError && e.code === 'unreachable',
      );
    } finally {
      await plain.close();
    }
  });
});
