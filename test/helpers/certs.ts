// Certificates for TLS tests, made with the same library the daemon uses: a test CA and leaves it signs.
import fs from 'node:fs';
import path from 'node:path';
import { generate } from 'selfsigned';
import { tmpDir } from './tmp';

export interface Pem {
  cert: string;
  key: string;
  certFile: string;
  keyFile: string;
}

function save(cert: string, key: string): Pem {
  const dir = tmpDir('hangar-cert-');
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  fs.writeFileSync(certFile, cert);
  fs.writeFileSync(keyFile, key, { mode: 0o600 });
  return { cert, key, certFile, keyFile };
}

export async function makeCa(name = 'Hangar Test CA'): Promise<Pem> {
  const r = await generate([{ name: 'commonName', value: name }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ],
  });
  return save(r.cert, r.private);
}

/** A server certificate for 127.0.0.1 and localhost, signed by `ca` (or self-signed without one). */
export async function makeServerCert(ca?: Pem): Promise<Pem> {
  const r = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    ...(ca ? { ca: { key: ca.key, cert: ca.cert } } : {}),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  });
  return save(r.cert, r.private);
}
