// vnc_port / rdp_port allocation: free in this gateway's database, and, for a backend publishing on this machine,
// free on its address too (another gateway on the host, or anything else, may hold a port the database doesn't know).
import assert from 'node:assert/strict';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { allocatePort } from '../../daemon/environments/ports';
import { portIsFree } from '../../daemon/hostPorts';
import { openDatabase } from '../../daemon/store/db';
import { insertEnvRows } from '../helpers/envRows';
import { tmpDir } from '../helpers/tmp';

const listen = (port = 0) =>
  new Promise<net.Server>((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve(s));
  });

describe('host ports for desktops (vnc_port, rdp_port)', () => {
  it('skips ports its own envs hold, and with a local address ports something listens on there', async () => {
    // Four ports in a row that nothing holds, then hold the first.
    let port = 20_000 + Math.floor(Math.random() * 20_000);
    for (;;) {
      const free = await Promise.all([0, 1, 2, 3].map((i) => portIsFree('127.0.0.1', port + i)));
      if (free.every(Boolean)) break;
      port += 4;
    }
    const held = await listen(port);
    const db = await openDatabase(tmpDir('hangar-ports-'));
    try {
      await db
        .insertInto('users')
        .values({ id: 'u1', name: 'u1', role: 'user', created_at: new Date().toISOString() })
        .execute();
      await insertEnvRows(db, 'u1', 1, { row: () => ({ vnc_port: port + 1 }) });
      const range = { from: port, to: port + 3 };
      // The database alone: the held port looks free.
      assert.equal(await allocatePort(db, 'vnc_port', 'local', null, range), port);
      // On this machine: the held port is skipped, then the one an env has; the next is given.
      assert.equal(await allocatePort(db, 'vnc_port', 'local', null, range, '127.0.0.1'), port + 2);
      // Asked for explicitly: given as asked (the backend's publish then says whether it can have it).
      assert.equal(await allocatePort(db, 'vnc_port', 'local', port, range, '127.0.0.1'), port);
      await assert.rejects(
        allocatePort(db, 'vnc_port', 'local', null, { from: port, to: port + 1 }, '127.0.0.1'),
        /no free VNC port on backend 'local' \(range .* is full or taken on 127\.0\.0\.1\)/,
      );
    } finally {
      held.close();
      await db.destroy();
    }
  });

  it('portIsFree: false while something listens, true after, and the probe leaves nothing bound', async () => {
    const s = await listen();
    const port = (s.address() as AddressInfo).port;
    assert.equal(await portIsFree('127.0.0.1', port), false);
    await new Promise((r) => s.close(r));
    assert.equal(await portIsFree('127.0.0.1', port), true);
    const again = await listen(port);
    again.close();
  });
});
