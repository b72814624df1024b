// A CA file (PEM) to trust besides the system's: read once, refused with where its name came from.
import fs from 'node:fs';
import { TlsTrustError } from './errors';

/** `from` names the setting, flag or variable that gave the file (for the error). */
export function readCaFile(file: string, from: string): string {
  try {
    const pem = fs.readFileSync(file, 'utf8');
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error('no PEM certificate in it');
    return pem;
  } catch (err) {
    throw new TlsTrustError(
      'ca_file',
      `${from}: can't use CA file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}
