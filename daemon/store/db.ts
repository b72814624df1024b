// Opens the database and runs migrations. SQLite by default; the dialect is the only SQLite-specific part,
// so a PostgreSQL dialect slots in here without touching repositories or services.
import fs from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, type Migration } from 'kysely';
import type { Database } from './schema';
import * as m001 from './migrations/001_initial';
import * as m002 from './migrations/002_gpus';
import * as m003 from './migrations/003_vnc_ports';
import * as m004 from './migrations/004_rdp';
import * as m005 from './migrations/005_access';
import * as m006k8s from './migrations/006_k8s';
import * as m007 from './migrations/007_volumes_meta';
import * as m008 from './migrations/008_lifecycle';
import * as m009 from './migrations/009_profiles';
import * as m010 from './migrations/010_audit_trail';
import * as m011 from './migrations/011_jumpserver';
import * as m012 from './migrations/012_volume_claims';
import * as m015 from './migrations/015_jumpserver_desktop';
import * as m014 from './migrations/014_ssh_server';
import * as m016 from './migrations/016_fast_paths';
import * as m013 from './migrations/013_datasets';
import * as m018 from './migrations/018_snapshots_backups';
import * as m019 from './migrations/019_env_row_version';

const migrations: Record<string, Migration> = {
  '001_initial': m001,
  '002_gpus': m002,
  '003_vnc_ports': m003,
  '004_rdp': m004,
  '005_access': m005,
  '006_k8s': m006k8s,
  '007_volumes_meta': m007,
  '008_lifecycle': m008,
  '009_profiles': m009,
  '010_audit_trail': m010,
  '011_jumpserver': m011,
  '012_volume_claims': m012,
  '015_jumpserver_desktop': m015,
  '014_ssh_server': m014,
  '016_fast_paths': m016,
  '013_datasets': m013,
  '018_snapshots_backups': m018,
  '019_env_row_version': m019,
};

/** The connection with its prepared statements kept by SQL text: Kysely prepares every query it runs and the
 *  daemon's queries repeat (a GPU grant is three statements; preparing was a sixth of its time). Bounded: the
 *  least recently used go. SQLite re-prepares a kept statement itself after a schema change. */
function keptStatements(sqlite: SQLite.Database, max = 1000): { prepare: SQLite.Database['prepare']; close(): void } {
  const kept = new Map<string, SQLite.Statement>();
  return {
    prepare: ((text: string) => {
      let stmt = kept.get(text);
      if (stmt) kept.delete(text);
      else stmt = sqlite.prepare(text);
      kept.set(text, stmt);
      if (kept.size > max) kept.delete(kept.keys().next().value!);
      return stmt;
    }) as SQLite.Database['prepare'],
    close: () => sqlite.close(),
  };
}

export async function openDatabase(dataDir: string): Promise<Kysely<Database>> {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(dataDir, 'hangar.db');
  const sqlite = new SQLite(file);
  sqlite.pragma('journal_mode = WAL');
  // WAL + NORMAL: commits survive a daemon crash (only a power loss can drop the last ones) without an fsync each.
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  fs.chmodSync(file, 0o600);
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: keptStatements(sqlite) }) });
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${String(error)}`);
  }
  return db;
}
