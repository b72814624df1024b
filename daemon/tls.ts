// The daemon's TLS certificate: files named in the config, or a self-signed one made at first start and kept in the
// data dir (so its fingerprint, which clients pin, stays the same across restarts).
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import type { Config } from './config';

export interface TlsMaterial {
  cert: string;
  key: string;
  /** SHA-256 of the leaf certificate, "AB:CD:…" (what `hangar login` shows and pins). */
  fingerprint256: string;
  certFile: string;
  /** True when this start made the certificate. */
  generated: boolean;
}

/** A certificate or key file that can't be used; names the config key. */
export class TlsConfigError extends Error {
  override readonly name = 'TlsConfigError';
  constructor(
    readonly key: string,
    detail: string,
  ) {
    super(`invalid configuration: ${key}: ${detail}`);
  }
}

export const SELF_SIGNED_CERT = 'tls/cert.pem';
export const SELF_SIGNED_KEY = 'tls/key.pem';

/** The names a self-signed certificate covers: the listen host, public_url's host, localhost and loopback. */
export function selfSignedNames(cfg: Pick<Config, 'listenHost' | 'public_url'>): { dns: string[]; ips: string[] } {
  const dns = new Set(['localhost']);
  const ips = new Set(['127.0.0.1', '::1']);
  const add = (h: string | undefined) => {
    if (!h) return;
    const host = h.replace(/^\[|\]$/g, '');
    if (net.isIP(host)) {
      if (host !== '0.0.0.0' && host !== '::') ips.add(host);
    } else dns.add(host.toLowerCase());
  };
  add(cfg.listenHost);
  if (cfg.public_url) add(new URL(cfg.public_url).hostname);
  return { dns: [...dns], ips: [...ips] };
}

function readFile(key: string, file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new TlsConfigError(
      key,
      `can't read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}

/** The key must fit the certificate (checked here, before the daemon opens anything). */
function checkPair(key: string, material: TlsMaterial): TlsMaterial {
  try {
    tls.createSecureContext({ cert: material.cert, key: material.key });
  } catch (err) {
    throw new TlsConfigError(
      key,
      `the key doesn't fit the certificate ${material.certFile} (${(err as Error).message.replace(/^error:[0-9A-F]+:/, '')})`,
    );
  }
  return material;
}

function fingerprintOf(key: string, certPem: string, file: string): string {
  try {
    return new X509Certificate(certPem).fingerprint256;
  } catch {
    throw new TlsConfigError(key, `${file} is not a PEM certificate`);
  }
}

async function generateSelfSigned(
  cfg: Pick<Config, 'listenHost' | 'public_url'>,
  certFile: string,
  keyFile: string,
): Promise<void> {
  const { generate } = await import('selfsigned');
  const names = selfSignedNames(cfg);
  const now = new Date();
  const pems = await generate(
    [
      {
        name: 'commonName',
        value:
          names.dns.find((d) => d !== 'localhost') ??
          names.ips.find((i) => i !== '127.0.0.1' && i !== '::1') ??
          'localhost',
      },
      { name: 'organizationName', value: 'Hangar gateway (self-signed)' },
    ],
    {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      notBeforeDate: new Date(now.getTime() - 5 * 60_000),
      // Long-lived on purpose: clients pin this certificate, and a new one means every client must re-pin.
      notAfterDate: new Date(now.getTime() + 10 * 365 * 86_400_000),
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
        { name: 'extKeyUsage', serverAuth: true },
        {
          name: 'subjectAltName',
          altNames: [
            ...names.dns.map((value) => ({ type: 2 as const, value })),
            ...names.ips.map((ip) => ({ type: 7 as const, ip })),
          ],
        },
      ],
    },
  );
  fs.mkdirSync(path.dirname(certFile), { recursive: true, mode: 0o700 });
  // Key first (0600, exclusive): a crash between the two writes leaves no certificate without its key.
  fs.writeFileSync(keyFile, pems.private, { mode: 0o600 });
  fs.writeFileSync(certFile, pems.cert, { mode: 0o644 });
}

/** The certificate and key to serve, or undefined when TLS is off. */
export async function loadTls(
  cfg: Pick<Config, 'tlsSource' | 'data_dir' | 'listenHost' | 'public_url'>,
): Promise<TlsMaterial | undefined> {
  const src = cfg.tlsSource;
  if (src.kind === 'off') return undefined;
  if (src.kind === 'files') {
    const cert = readFile('tls_cert_file', src.certFile);
    const key = readFile('tls_key_file', src.keyFile);
    return checkPair('tls_key_file', {
      cert,
      key,
      fingerprint256: fingerprintOf('tls_cert_file', cert, src.certFile),
      certFile: src.certFile,
      generated: false,
    });
  }
  const certFile = path.join(cfg.data_dir, SELF_SIGNED_CERT);
  const keyFile = path.join(cfg.data_dir, SELF_SIGNED_KEY);
  let generated = false;
  if (!fs.existsSync(certFile) || !fs.existsSync(keyFile)) {
    await generateSelfSigned(cfg, certFile, keyFile);
    generated = true;
  }
  const cert = readFile('tls', certFile);
  const key = readFile('tls', keyFile);
  return checkPair('tls', { cert, key, fingerprint256: fingerprintOf('tls', cert, certFile), certFile, generated });
}

/** Names the self-signed certificate should cover but doesn't (the config changed since it was made). */
export function missingNames(material: TlsMaterial, cfg: Pick<Config, 'listenHost' | 'public_url'>): string[] {
  const x = new X509Certificate(material.cert);
  const want = selfSignedNames(cfg);
  return [
    ...want.dns.filter((d) => x.checkHost(d) === undefined),
    ...want.ips.filter((ip) => x.checkIP(ip) === undefined),
  ];
}
