// SHA-256 certificate fingerprints as users see them: "AB:CD:…" (32 bytes, upper-case hex, colons), the form
// Node reports, `openssl x509 -fingerprint -sha256` prints and hangard logs at start.
import { TlsTrustError } from './errors';

/** Accepts colons or none, any case, and an optional "sha256:" / "SHA256 Fingerprint=" prefix. */
export function normalizeFingerprint(input: string): string {
  const hex = input
    .trim()
    .replace(/^(sha-?256( fingerprint)?[:=]?\s*)/i, '')
    .replace(/[:\s]/g, '')
    .toUpperCase();
  if (!/^[0-9A-F]{64}$/.test(hex))
    throw new TlsTrustError(
      'bad_fingerprint',
      `not a SHA-256 certificate fingerprint (64 hex digits, colons optional): ${JSON.stringify(input.slice(0, 120))}`,
    );
  return hex.match(/../g)!.join(':');
}

export function sameFingerprint(a: string, b: string): boolean {
  return normalizeFingerprint(a) === normalizeFingerprint(b);
}
