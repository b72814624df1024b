// `hangard backup FILE` / `hangard restore FILE`: one tar archive (mode 0600) with an online SQLite backup of the
// database, secret.key (without it sealed secrets can't be opened) and gateway.id (without it every backend object
// looks foreign), plus admin.token when there. A restore refuses a running daemon and, without --force, a data dir that isn't empty.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import SQLite from 'better-sqlite3';
import * as tar from 'tar-stream';

const DB = 'hangar.db';
const FILES = [DB, 'secret.key', 'gateway.id'] as const;
/** Kept when present: the first start's admin token (its hash is in the database anyway). */
const OPTIONAL = ['admin.token'];
export const PID_FILE = 'hangard.pid';

/** A running daemon on this data dir (its pid file names a live process). */
export function runningPid(dataDir: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(path.join(dataDir, PID_FILE), 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

const gatewayIdIn = (dbFile: string): string | undefined => {
  const db = new SQLite(dbFile, { readonly: true, fileMustExist: true });
  try {
    const hasMeta = db.prepare("select 1 from sqlite_master where type = 'table' and name = 'meta'").get();
    return hasMeta
      ? (db.prepare("select value from meta where key = 'gateway_id'").get() as { value: string } | undefined)?.value
      : undefined;
  } finally {
    db.close();
  }
};

export async function backup(dataDir: string, file: string): Promise<{ gatewayId: string }> {
  const src = path.join(dataDir, DB);
  if (!fs.existsSync(src)) throw new Error(`no database at ${src}`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hangar-backup-'));
  try {
    // The online backup API: a consistent copy while the daemon keeps writing.
    const db = new SQLite(src, { fileMustExist: true });
    try {
      await db.backup(path.join(tmp, DB));
    } finally {
      db.close();
    }
    const gatewayId = fs.readFileSync(path.join(dataDir, 'gateway.id'), 'utf8').trim();
    const inDb = gatewayIdIn(path.join(tmp, DB));
    if (inDb && inDb !== gatewayId)
      throw new Error(`gateway id mismatch in ${dataDir}: gateway.id says '${gatewayId}', the database '${inDb}'`);
    const pack = tar.pack();
    const out = fs.createWriteStream(file, { mode: 0o600 });
    const done = pipeline(pack, out);
    for (const name of FILES) {
      const body = fs.readFileSync(name === DB ? path.join(tmp, DB) : path.join(dataDir, name));
      await new Promise<void>((resolve, reject) =>
        pack.entry({ name, mode: 0o600, size: body.length }, body, (err) => (err ? reject(err) : resolve())),
      );
    }
    for (const name of OPTIONAL.filter((n) => fs.existsSync(path.join(dataDir, n)))) {
      const body = fs.readFileSync(path.join(dataDir, name));
      await new Promise<void>((resolve, reject) =>
        pack.entry({ name, mode: 0o600, size: body.length }, body, (err) => (err ? reject(err) : resolve())),
      );
    }
    pack.finalize();
    await done;
    fs.chmodSync(file, 0o600); // an existing file keeps its mode otherwise
    return { gatewayId };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

export async function restore(
  file: string,
  dataDir: string,
  opts: { force?: boolean } = {},
): Promise<{ gatewayId: string }> {
  const pid = runningPid(dataDir);
  if (pid) throw new Error(`hangard (pid ${pid}) is running on ${dataDir}: stop it first`);
  const present = fs.existsSync(dataDir) ? fs.readdirSync(dataDir).filter((n) => n !== PID_FILE) : [];
  if (present.length && !opts.force)
    throw new Error(
      `${dataDir} is not empty (${present.slice(0, 5).join(', ')}): restore into an empty data dir, or pass --force to replace its database, secret.key and gateway.id`,
    );
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // Unpacked beside the data dir first: nothing is replaced until the archive proved whole.
  const tmp = fs.mkdtempSync(path.join(dataDir, '.restore-'));
  try {
    const ex = tar.extract();
    const seen = new Set<string>();
    // Only our own names, written flat into the temporary dir: an entry can't point anywhere else.
    ex.on('entry', (h, stream, next) => {
      const name = h.name as (typeof FILES)[number];
      if (h.type !== 'file' || !(FILES.includes(name) || OPTIONAL.includes(name))) {
        stream.resume();
        stream.on('end', next);
        return;
      }
      seen.add(name);
      stream
        .pipe(fs.createWriteStream(path.join(tmp, name), { mode: 0o600 }))
        .on('finish', next)
        .on('error', next);
    });
    await pipeline(fs.createReadStream(file), ex);
    const missing = FILES.filter((n) => !seen.has(n));
    if (missing.length) throw new Error(`${file} is not a hangard backup: it lacks ${missing.join(', ')}`);
    const gatewayId = fs.readFileSync(path.join(tmp, 'gateway.id'), 'utf8').trim();
    const inDb = gatewayIdIn(path.join(tmp, DB));
    if (inDb && inDb !== gatewayId)
      throw new Error(`${file}: gateway.id says '${gatewayId}' but its database says '${inDb}'`);
    for (const stale of [`${DB}-wal`, `${DB}-shm`]) fs.rmSync(path.join(dataDir, stale), { force: true });
    for (const name of [...FILES, ...OPTIONAL.filter((n) => seen.has(n))])
      fs.renameSync(path.join(tmp, name), path.join(dataDir, name));
    return { gatewayId };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
