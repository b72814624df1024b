// The env list in pages: limit/cursor over a stable order on a real hangard (rows written straight into its
// database), filters applied before paging, owners kept apart; the client following cursors, and the extension's
// tree model paging 5,000 envs served by a fake API.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiError, HangarClient } from '../../common/client';
import type { Environment } from '../../common/model';
import { openDatabase } from '../../daemon/store/db';
import { VersionedRows } from '../../daemon/store/versionedRows';
import { groupEnvironments, TREE_PAGE, treePage } from '../../extension/tree/model';
import { startDaemon, type TestDaemon } from '../helpers/daemon';
import { insertEnvRows } from '../helpers/envRows';

async function pages(c: HangarClient, q: Record<string, string>, limit: number) {
  const out: Environment[][] = [];
  let cursor: string | null = null;
  do {
    const p = await c.listEnvironmentsPage({ ...q, limit: String(limit), ...(cursor ? { cursor } : {}) });
    out.push(p.items);
    cursor = p.next_cursor;
  } while (cursor);
  return out;
}

describe('env list pages on hangard', function () {
  this.timeout(60_000);
  let d: TestDaemon;
  let user: HangarClient;
  before(async () => {
    d = await startDaemon({ dockerHost: 'unix:///nonexistent/docker.sock' });
    const u = await d.admin.createUser(`pager-${Date.now().toString(36)}`, 'user');
    user = new HangarClient({ url: d.url, token: u.token });
    const db = await openDatabase(d.dataDir);
    await insertEnvRows(db, (await d.admin.me()).id, 1234, { prefix: 'adm' });
    await insertEnvRows(db, (await user.me()).id, 120, { prefix: 'usr' });
    await db.destroy();
  });
  after(async () => {
    await d?.close();
  });

  it('pages of limit cover the full list once, in its order, ties broken by name and id', async () => {
    const all = await d.admin.listEnvironments();
    assert.equal(all.length, 1354);
    const ps = await pages(d.admin, {}, 100);
    assert.equal(ps.length, 14);
    assert.ok(ps.slice(0, -1).every((p) => p.length === 100));
    assert.deepEqual(
      ps.flat().map((e) => e.id),
      all.map((e) => e.id),
    );
    const key = (e: Environment) => `${e.created_at}\u0000${e.name}\u0000${e.id}`;
    const flat = ps.flat();
    assert.ok(
      flat.every((e, i) => i === 0 || key(flat[i - 1]) < key(e)),
      'strictly increasing sort key',
    );
    // The last page names no next one.
    const last = await d.admin.listEnvironmentsPage({ limit: '1000', status: 'failed' });
    assert.equal(last.next_cursor, null);
  });

  it('filters run before paging; a user pages through their own envs only', async () => {
    const failed = (await pages(d.admin, { status: 'failed' }, 50)).flat();
    assert.equal(failed.length, 412 + 40);
    assert.ok(failed.every((e) => e.status === 'failed'));
    const mine = (await pages(user, {}, 7)).flat();
    assert.equal(mine.length, 120);
    assert.ok(mine.every((e) => e.name.startsWith('usr-')));
    // Another user's cursor doesn't let them see the admin's rows either.
    const adminCursor = (await d.admin.listEnvironmentsPage({ limit: '5' })).next_cursor!;
    const viaCursor = await user.listEnvironmentsPage({ limit: '1000', cursor: adminCursor });
    assert.ok(viaCursor.items.every((e) => e.name.startsWith('usr-')));
  });

  it('bad limits and cursors are a 400 naming the field', async () => {
    for (const [q, field] of [
      [{ limit: '0' }, 'limit'],
      [{ limit: '1001' }, 'limit'],
      [{ limit: '10', cursor: 'bm90LWEtY3Vyc29y' }, 'cursor'],
      [{ limit: '10', cursor: 'a b' }, 'cursor'],
    ] as const) {
      const err = await d.admin.listEnvironmentsPage({ ...q }).catch((e: ApiError) => e);
      assert.ok(err instanceof ApiError, JSON.stringify(q));
      assert.equal(err.status, 400, JSON.stringify(q));
      assert.match(err.message, new RegExp(field));
    }
  });

  it('the client follows cursors (hangar ls, the extension), stopping at max', async () => {
    assert.equal((await d.admin.listEnvironmentsPaged({}, 500)).length, 1354);
    assert.equal((await d.admin.listEnvironmentsPaged({}, 100, 250)).length, 250);
  });

  // Last: it changes the rows the tests above count.
  it('a page shows at once a row another connection changed, deleted or added, not the one it read before', async () => {
    const first = await d.admin.listEnvironmentsPage({ limit: '50' });
    const [a, b] = first.items;
    assert.equal(a.status, 'failed');
    const db = await openDatabase(d.dataDir);
    try {
      await db.updateTable('environments').set({ status: 'stopped' }).where('id', '=', a.id).execute();
      await db.deleteFrom('environments').where('id', '=', b.id).execute();
      await insertEnvRows(db, (await d.admin.me()).id, 1, {
        prefix: 'early',
        row: () => ({ created_at: '2025-06-01T00:00:00.000Z' }),
      });
      const again = (await d.admin.listEnvironmentsPage({ limit: '50' })).items;
      assert.equal(again[0].name, 'early-0');
      assert.equal(again.find((e) => e.id === a.id)?.status, 'stopped');
      assert.ok(!again.some((e) => e.id === b.id));
      assert.deepEqual(
        again.slice(2).map((e) => e.id),
        first.items.slice(2, 50).map((e) => e.id),
      );
      // The trigger of migration 019 moved the changed row's version on, once.
      const v = await db.selectFrom('environments').select('row_version').where('id', '=', a.id).executeTakeFirst();
      assert.equal(v?.row_version, 1);
    } finally {
      await db.destroy();
    }
  });
});

describe('rows kept by version (VersionedRows)', () => {
  const row = () => ({ env: { id: 'x', storage_config: { mounts: [] as unknown[] } }, at: null });
  it('gives a row only at the version it was read at, frozen to the last nested object', () => {
    const c = new VersionedRows<ReturnType<typeof row>>();
    const kept = c.put('x', 3, row());
    assert.equal(c.get('x', 3), kept);
    assert.equal(c.get('x', 4), undefined);
    assert.throws(() => {
      (kept.env as { id: string }).id = 'changed';
    }, TypeError);
    assert.throws(() => kept.env.storage_config.mounts.push(1), TypeError);
  });
  it('keeps at most max rows, the least recently read going first', () => {
    const c = new VersionedRows<ReturnType<typeof row>>(2);
    c.put('a', 1, row());
    c.put('b', 1, row());
    c.get('a', 1);
    c.put('c', 1, row());
    assert.equal(c.size, 2);
    assert.ok(c.get('a', 1) && c.get('c', 1));
    assert.equal(c.get('b', 1), undefined);
  });
});

function fakeEnv(i: number): Environment {
  return {
    id: `e${String(i).padStart(5, '0')}`,
    name: `env-${i}`,
    status: (['running', 'stopped', 'failed', 'creating'] as const)[i % 4],
    environment_type: 'ide',
    backend_id: 'b',
    deployment_mode: 'docker_local',
    gpu_mode: 'none',
    gpu_count: 0,
    gpu_device_ids: [],
    image: 'x',
  } as unknown as Environment;
}

describe('extension tree with 5,000 envs from a fake API', () => {
  // A double of the gateway's list endpoint (limit/cursor/X-Next-Cursor), so the client's paging is what's tested.
  const envs = Array.from({ length: 5000 }, (_, i) => fakeEnv(i));
  let server: http.Server;
  let url: string;
  const limits: number[] = [];
  let pagesOff = false;
  before(async () => {
    server = http.createServer((req, res) => {
      const u = new URL(req.url!, 'http://x');
      const limit = u.searchParams.get('limit');
      if (pagesOff && limit) {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'invalid_input', message: 'limit: unrecognized', field: 'limit' } }));
        return;
      }
      const from = Number(u.searchParams.get('cursor') ?? 0);
      const n = limit ? Number(limit) : envs.length;
      limits.push(n);
      const page = envs.slice(from, from + n);
      res.writeHead(200, {
        'content-type': 'application/json',
        ...(from + n < envs.length && limit ? { 'x-next-cursor': String(from + n) } : {}),
      });
      res.end(JSON.stringify(page));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  it('loads in pages of 500, then each tree level holds at most one page plus a "more" node', async () => {
    const c = new HangarClient({ url, token: 't' });
    limits.length = 0;
    const got = await c.listEnvironmentsPaged({}, 500);
    assert.equal(got.length, 5000);
    assert.deepEqual(limits, Array(10).fill(500));
    const groups = groupEnvironments(got);
    assert.equal(groups.length, 4);
    let seen = 0;
    for (const g of groups) {
      assert.equal(g.envs.length, 1250);
      // Walk the group's "more" chain as VS Code would when each is expanded.
      let from = 0;
      let levels = 0;
      for (;;) {
        const { visible, more } = treePage(g.envs, from);
        assert.ok(visible.length <= TREE_PAGE);
        seen += visible.length;
        levels++;
        if (!more) break;
        from += visible.length;
      }
      assert.equal(levels, Math.ceil(1250 / TREE_PAGE));
    }
    assert.equal(seen, 5000, 'every env is reachable exactly once');
  });

  it('a gateway without pages (400 on limit) still gives the whole list', async () => {
    pagesOff = true;
    try {
      const got = await new HangarClient({ url, token: 't' }).listEnvironmentsPaged({}, 500);
      assert.equal(got.length, 5000);
    } finally {
      pagesOff = false;
    }
  });
});
