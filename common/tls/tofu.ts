// Trust on first use: what `hangar login` and the extension's connect do with the certificate a gateway shows.
import { CertificateChangedError, type TlsTrustError } from './errors';
import { normalizeFingerprint } from './fingerprint';
import type { PeerCertificate } from './trust';

export type LoginTrust =
  /** A trusted CA signed it: no pin is kept. */
  | { kind: 'ca' }
  /** Keep this pin. `firstUse`: nobody vouched for it yet, so the user is shown the fingerprint to compare. */
  | { kind: 'pin'; fingerprint256: string; firstUse: boolean }
  | { kind: 'refuse'; error: TlsTrustError };

/**
 * @param expected a fingerprint the user gave (`--fingerprint`): only that certificate is accepted
 * @param pinned the pin kept from an earlier login: a different certificate is refused, never silently re-pinned
 */
export function decideLoginTrust(
  url: string,
  peer: PeerCertificate,
  o: { expected?: string; pinned?: string } = {},
): LoginTrust {
  if (o.expected) {
    const want = normalizeFingerprint(o.expected);
    return want === peer.fingerprint256
      ? { kind: 'pin', fingerprint256: want, firstUse: false }
      : { kind: 'refuse', error: new CertificateChangedError(url, want, peer.fingerprint256) };
  }
  if (peer.authorized) return { kind: 'ca' };
  if (o.pinned) {
    const had = normalizeFingerprint(o.pinned);
    return had === peer.fingerprint256
      ? { kind: 'pin', fingerprint256: had, firstUse: false }
      : { kind: 'refuse', error: new CertificateChangedError(url, had, peer.fingerprint256) };
  }
  return { kind: 'pin', fingerprint256: peer.fingerprint256, firstUse: true };
}
