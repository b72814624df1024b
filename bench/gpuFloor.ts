// The allocator's floor: the same decisions on bare better-sqlite3 (one transaction each: pick the first free
// device, insert its grant), no ORM, no async hops. The rate SQLite itself allows on this machine now.
import SQLite from 'better-sqlite3';
import path from 'node:path';
import { tmpDir } from '../test/helpers/tmp';

export function rawGrantsPerSecond(deviceIds: string[], requests: number): number {
  const db = new SQLite(path.join(tmpDir('hangar-gpu-floor-'), 'floor.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(`create table gpus (id text primary key, idx integer);
           create table grants (id integer primary key, device_id text not null unique, env_id text not null);`);
  const ins = db.prepare('insert into gpus values (?, ?)');
  deviceIds.forEach((id, i) => ins.run(id, i));
  const pick = db.prepare('select id from gpus where id not in (select device_id from grants) order by idx limit 1');
  const grant = db.prepare('insert into grants (device_id, env_id) values (?, ?)');
  const decide = db.transaction((env: string) => {
    const row = pick.get() as { id: string } | undefined;
    if (row) grant.run(row.id, env);
    return Boolean(row);
  });
  const t0 = process.hrtime.bigint();
  let granted = 0;
  for (let i = 0; i < requests; i++) if (decide(`e${i}`)) granted++;
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  db.close();
  return granted / secs;
}
