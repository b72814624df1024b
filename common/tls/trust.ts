// Trust in a gateway's certificate: a CA we trust (the system's, plus a CA file), or a pinned SHA-256
// fingerprint (trust on first use, like SSH host keys). The pin check runs before the socket is handed to
// the request, so no byte (no token) reaches a server that fails it. Node only; no vscode imports.
import https from 'node:https';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { CertificateChangedError, CertificateUntrustedError, TlsTrustError } from './errors';
import { normalizeFingerprint } from './fingerprint';

export interface TlsTrust {
  /** PEM certificates of CAs trusted besides the system's (a company CA). */
  ca?: string;
  /** The pinned SHA-256 fingerprint of the gateway's certificate. */
  fingerprint256?: string;
}

/** What the TLS handshake showed about the server's certificate. */
export interface PeerCertificate {
  fingerprint256: string;
  /** Chain and host name check out against the trusted CAs. */
  authorized: boolean;
  /** Why not, when not (OpenSSL's code, e.g. DEPTH_ZERO_SELF_SIGNED_CERT). */
  authorizationError?: string;
}

export type Verdict = { ok: true; via: 'ca' | 'pin' } | { ok: false; error: TlsTrustError };

/** A certificate a trusted CA vouches for needs no pin; otherwise it must match the pin exactly. */
export function judgeCertificate(url: string, peer: PeerCertificate, pin: string | undefined): Verdict {
  if (peer.authorized) return { ok: true, via: 'ca' };
  if (pin) {
    const want = normalizeFingerprint(pin);
    return want === peer.fingerprint256
      ? { ok: true, via: 'pin' }
      : { ok: false, error: new CertificateChangedError(url, want, peer.fingerprint256) };
  }
  return {
    ok: false,
    error: new CertificateUntrustedError(url, peer.fingerprint256, peer.authorizationError ?? 'unknown reason'),
  };
}

/** The system's CAs plus the extra ones (Node's `ca` option would replace them). */
export function caList(extra: string | undefined): string[] | undefined {
  return extra ? [...tls.rootCertificates, extra] : undefined;
}

function peerOf(socket: tls.TLSSocket): PeerCertificate {
  const cert = socket.getPeerCertificate();
  return {
    fingerprint256: cert.fingerprint256,
    authorized: socket.authorized,
    authorizationError: socket.authorizationError ? String(socket.authorizationError) : undefined,
  };
}

/** tls.connect options: no SNI for IP addresses (RFC 6066), host names checked against that name. */
function connectOptions(host: string, port: number, ca: string | undefined): tls.ConnectionOptions {
  const bare = host.replace(/^\[|\]$/g, '');
  return {
    host: bare,
    port,
    ...(net.isIP(bare) ? {} : { servername: bare }),
    ca: caList(ca),
    rejectUnauthorized: false,
    ALPNProtocols: ['http/1.1'],
  };
}

/** An https agent that verifies every connection with judgeCertificate before any request uses it. */
export class TrustingAgent extends https.Agent {
  private readonly pin?: string;
  constructor(
    readonly gatewayUrl: string,
    private readonly trust: TlsTrust,
  ) {
    super({ keepAlive: true });
    this.pin = trust.fingerprint256 ? normalizeFingerprint(trust.fingerprint256) : undefined;
  }

  override createConnection(
    options: https.RequestOptions,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    const host = String(options.host ?? options.hostname ?? 'localhost');
    const socket = tls.connect({
      ...connectOptions(host, Number(options.port ?? 443), this.trust.ca),
      ...(options.timeout ? { timeout: options.timeout } : {}),
    });
    let done = false;
    const finish = (err: Error | null) => {
      if (done) return;
      done = true;
      if (err) socket.destroy();
      callback!(err, socket);
    };
    socket.once('secureConnect', () => {
      const verdict = judgeCertificate(this.gatewayUrl, peerOf(socket), this.pin);
      finish(verdict.ok ? null : verdict.error);
    });
    socket.once('error', (err) => finish(err));
    // Handed over only through the callback, after the check.
    return undefined;
  }
}

/** The certificate a gateway presents, and whether the trusted CAs accept it; sends nothing but a handshake. */
export function probeCertificate(url: string, ca?: string, timeoutMs = 15_000): Promise<PeerCertificate> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = tls.connect(connectOptions(u.hostname, Number(u.port || 443), ca));
    const timer = setTimeout(() => socket.destroy(new Error(`TLS handshake with ${u.host} timed out`)), timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const peer = peerOf(socket);
      socket.end();
      resolve(peer);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** The agent for a gateway URL: undefined for http://; for https:// always ours (its refusals say what to check). */
export function agentFor(url: string, trust: TlsTrust | undefined): TrustingAgent | undefined {
  if (!url.startsWith('https:')) return undefined;
  return new TrustingAgent(url.replace(/\/+$/, ''), trust ?? {});
}
