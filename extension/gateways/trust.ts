// What the extension trusts for one gateway: the certificate pinned at connect, and the `hangar.caFile` CA.
// No vscode import: plain mocha runs it.
import { readCaFile } from '../../common/tls/caFile';
import type { TlsTrust } from '../../common/tls/trust';

export interface GatewayTrust {
  /** SHA-256 fingerprint accepted at first connect (SecretStorage), for a certificate no trusted CA signed. */
  pin?: string;
  /** The `hangar.caFile` setting. */
  caFile?: string;
}

/** The client's TLS options; throws TlsTrustError naming hangar.caFile when that file can't be used. */
export function tlsTrust(t: GatewayTrust): TlsTrust {
  return {
    ...(t.caFile ? { ca: readCaFile(t.caFile, 'hangar.caFile') } : {}),
    ...(t.pin ? { fingerprint256: t.pin } : {}),
  };
}

/** Connections are rebuilt when this changes (a new pin, another CA file). */
export function trustKey(t: GatewayTrust): string {
  return `${t.pin ?? ''}|${t.caFile ?? ''}`;
}
