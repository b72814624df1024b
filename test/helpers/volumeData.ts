// Volume contents as the snapshot and backup tests compare them, and the daemon config of the test backup store.
import { docker, SSH_IMAGE } from './docker';
import { S3_CREDENTIALS_FILE, S3_ENDPOINT } from './s3';

/** sha256 of every file with owner and mode, sorted: what "the same content" means here. */
export async function volumeDigest(volume: string): Promise<string> {
  return docker(
    'run',
    '--rm',
    '--network',
    'none',
    '-v',
    `${volume}:/v:ro`,
    '--entrypoint',
    '/bin/sh',
    SSH_IMAGE,
    '-c',
    'cd /v && find . -type f -print0 | sort -z | xargs -0 -r sha256sum; find . -printf "%p %u:%g %m\\n" | sort',
  );
}

export async function writeVolume(volume: string, script: string): Promise<void> {
  await docker(
    'run',
    '--rm',
    '--network',
    'none',
    '-v',
    `${volume}:/v`,
    '--entrypoint',
    '/bin/sh',
    SSH_IMAGE,
    '-c',
    script,
  );
}

export function backupStoreYaml(bucket: string, endpoint = S3_ENDPOINT): string {
  return [
    'object_stores:',
    `  - {name: test-s3, endpoint: '${endpoint}', credentials: {file: ${S3_CREDENTIALS_FILE}}, timeout_ms: 3000}`,
    `backup_store: {store: test-s3, bucket: ${bucket}, prefix: 'snap/'}`,
    '',
  ].join('\n');
}
