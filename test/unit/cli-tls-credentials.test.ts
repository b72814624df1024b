// Where the CLI's TLS trust comes from: the pin kept at login, HANGAR_TLS_FINGERPRINT, and the CA file from
// --ca-file, HANGAR_CA_FILE or the login (in that order); bad values name where they came from.
import assert from 'node:assert/strict';
import { resolveGateway, writeConfig } from '../../cli/credentials';
import { TlsTrustError } from '../../common/tls/errors';
import { makeCa } from '../helpers/certs';
import { tmpDir } from '../helpers/tmp';

const FP = 'AB:'.repeat(31) + 'AB';
const URL_ = 'https://gw.example.com:7420';

describe('CLI TLS credentials', () => {
  it("the login's pin and CA file; HANGAR_TLS_FINGERPRINT and HANGAR_CA_FILE override; --ca-file wins", async () => {
    const [a, b, c] = [await makeCa('A'), await makeCa('B'), await makeCa('C')];
    const dir = tmpDir();
    writeConfig({ current: URL_, gateways: { [URL_]: { token: 't', tls_fingerprint: FP, ca_file: a.certFile } } }, dir);
    const env = { HANGAR_CONFIG_DIR: dir };
    assert.deepEqual(resolveGateway({}, env), { url: URL_, token: 't', tls: { ca: a.cert, fingerprint256: FP } });
    const other = 'cd'.repeat(32);
    assert.equal(
      resolveGateway({}, { ...env, HANGAR_TLS_FINGERPRINT: other }).tls.fingerprint256,
      'CD:'.repeat(31) + 'CD',
    );
    assert.equal(resolveGateway({}, { ...env, HANGAR_CA_FILE: b.certFile }).tls.ca, b.cert);
    assert.equal(resolveGateway({ caFile: c.certFile }, { ...env, HANGAR_CA_FILE: b.certFile }).tls.ca, c.cert);
    // HANGAR_URL without a login: only what the environment says.
    assert.deepEqual(
      resolveGateway({}, { HANGAR_CONFIG_DIR: tmpDir(), HANGAR_URL: 'https://other:1', HANGAR_TOKEN: 'x' }).tls,
      {},
    );
  });

  it('a bad fingerprint or CA file names its source', () => {
    const env = { HANGAR_CONFIG_DIR: tmpDir(), HANGAR_URL: URL_, HANGAR_TOKEN: 'x' };
    assert.throws(
      () => resolveGateway({}, { ...env, HANGAR_TLS_FINGERPRINT: 'abc' }),
      (e: Error) => e instanceof TlsTrustError && /^HANGAR_TLS_FINGERPRINT: not a SHA-256/.test(e.message),
    );
    assert.throws(
      () => resolveGateway({}, { ...env, HANGAR_CA_FILE: '/nonexistent.pem' }),
      /HANGAR_CA_FILE: can't use CA file \/nonexistent\.pem: ENOENT/,
    );
    assert.throws(() => resolveGateway({ caFile: '/nonexistent.pem' }, env), /Error: --ca-file: /);
  });
});
