// Volume contents as the snapshot and backup tests compare them, and the daemon config of the test backup store.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';
import { docker, DOCKER, SSH_IMAGE } from './docker';
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

/** Every entry under `path` of a container (running or stopped, through `docker cp`): name, type, mode, owner, and
 *  the sha256 of a file or a link's target — sorted, so two trees compare exactly. */
export async function containerTree(ref: string, path: string): Promise<string[]> {
  const cp = spawn(DOCKER, ['cp', `${ref}:${path}`, '-'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  const ex = tar.extract();
  ex.on('entry', (h, stream, next) => {
    const hash = crypto.createHash('sha256');
    stream.on('data', (c) => hash.update(c as Buffer));
    stream.on('end', () => {
      const what = h.type === 'file' ? hash.digest('hex') : h.type === 'symlink' ? `-> ${h.linkname}` : '';
      lines.push(
        `${h.name.replace(/\/+$/, '')} ${h.type} ${((h.mode ?? 0) & 0o7777).toString(8)} ${h.uid}:${h.gid} ${what}`,
      );
      next();
    });
  });
  const exited = new Promise<number | null>((resolve) => cp.once('close', resolve));
  await pipeline(cp.stdout, ex);
  if ((await exited) !== 0) throw new Error(`docker cp ${ref}:${path} failed`);
  return lines.sort();
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
