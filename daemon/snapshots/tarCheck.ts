// Reads a fetched archive through to its end before a restore touches anything: a tar that is cut, corrupt or holds
// an entry outside its root (an absolute name, "..") is refused, so a bad archive never leaves the target emptied.
import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';
import { UnprocessableError } from '../errors';

/** Throws a 422 naming `what` unless `file` is a whole tar whose every entry is `root` or lies under `root/`. */
export async function checkTar(file: string, root: string, what: string): Promise<{ entries: number }> {
  const ex = tar.extract();
  let entries = 0;
  let outside: string | undefined;
  ex.on('entry', (h, stream, next) => {
    entries++;
    const name = h.name.replace(/\/+$/, '');
    const parts = name.split('/');
    if (outside === undefined && (parts[0] !== root || parts.includes('..'))) outside = h.name;
    // A cut entry fails the extraction (and so the pipeline) too: its own error needs no handler of its own.
    stream.once('error', () => undefined);
    stream.on('end', next);
    stream.resume();
  });
  try {
    await pipeline(fs.createReadStream(file), ex);
  } catch (err) {
    throw new UnprocessableError(
      `the archive of ${what} can't be read (${(err as Error).message}): nothing was restored`,
    );
  }
  if (entries === 0) throw new UnprocessableError(`the archive of ${what} is empty: nothing was restored`);
  if (outside !== undefined)
    throw new UnprocessableError(`the archive of ${what} holds '${outside}' outside '${root}/': nothing was restored`);
  return { entries };
}
