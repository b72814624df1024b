// Why a gateway's certificate was not accepted. Messages name fingerprints (public) and what to do; never a token.

export type TlsTrustCode = 'bad_fingerprint' | 'certificate_changed' | 'certificate_untrusted' | 'ca_file';

export class TlsTrustError extends Error {
  override readonly name = 'TlsTrustError';
  constructor(
    readonly code: TlsTrustCode,
    message: string,
  ) {
    super(message);
  }
}

/** Where users compare a fingerprint: hangard prints its own at start. */
const WHERE_TO_COMPARE =
  'the one hangard prints at start, on stderr and in its log as "TLS certificate SHA-256 fingerprint …"';

/** The pinned certificate was replaced: either the gateway got a new one, or someone is in between. */
export class CertificateChangedError extends TlsTrustError {
  constructor(
    readonly url: string,
    readonly pinned: string,
    readonly presented: string,
  ) {
    super(
      'certificate_changed',
      `the TLS certificate of ${url} changed: pinned SHA-256 ${pinned}, presented ${presented}. ` +
        `This is either a new certificate on the gateway or someone intercepting the connection: nothing was sent. ` +
        `Compare the new fingerprint with ${WHERE_TO_COMPARE}; if they match, log in again with ` +
        `\`hangar login ${url} --fingerprint ${presented}\` (in VS Code: log out of the gateway, then connect again).`,
    );
  }
}

/** No CA we trust signed it and nothing is pinned for it (HANGAR_URL without login, or a refused first use). */
export class CertificateUntrustedError extends TlsTrustError {
  constructor(
    readonly url: string,
    readonly presented: string,
    readonly reason: string,
  ) {
    super(
      'certificate_untrusted',
      `the TLS certificate of ${url} is not trusted (${reason}); its SHA-256 fingerprint is ${presented}. ` +
        `Compare it with ${WHERE_TO_COMPARE}; then \`hangar login ${url}\` to pin it, set HANGAR_TLS_FINGERPRINT, ` +
        `or give the CA that signed it with --ca-file / HANGAR_CA_FILE.`,
    );
  }
}
