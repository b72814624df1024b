// The audit trail end to end: a real hangard records who, what, which target, client, address and result for every
// mutating request (refused ones too); admins page it by cursor, filter it, export JSON lines and CSV (API and the
// real CLI); a second, non-admin user gets 403; the database refuses to rewrite it.
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { HangarClient } from '../../common/client';
import type { AuditEntry } from '../../common/model';
import { apiError } from '../helpers/apiError';
import { Cli } from '../helpers/cli';
import { startDaemon, type TestDaemon } from '../helpers/daemon';

/** An upgrade of the env's tunnel (the CLI's raw one): answered 404 for an unknown env, recorded either way. */
function tunnelUpgrade(url: string, token: string, headers: Record<string, string>): Promise<void> {
  return new Promise<void>((resolve) => {
    const req = http.request(`${url}/api/v1/environments/nowhere/tunnel?port=22`, {
      headers: { connection: 'Upgrade', upgrade: 'hangar-tcp', authorization: `Bearer ${token}`, ...headers },
    });
    req.on('response', (r) => (r.resume(), resolve()));
    req.on('upgrade', (_r, sock) => (sock.destroy(), resolve()));
    req.on('error', () => resolve());
    req.end();
  });
}

describe('jumpserver area: the audit trail', function () {
  this.timeout(120_000);
  let d: TestDaemon;
  let bob: HangarClient;
  const suffix = Date.now() % 100000;

  before(async () => {
    d = await startDaemon();
    const { token } = await d.admin.createUser(`bob${suffix}`);
    bob = new HangarClient({ url: d.url, token, client: 'test-suite/1' });
  });
  after(async () => {
    await d?.close();
  });

  it('records the action, target, client, address and result, refused requests included', async () => {
    const e = await apiError(bob.action('no-such-env', 'start'));
    assert.equal(e.status, 404);
    await apiError(new HangarClient({ url: d.url, token: 'nope' }).deleteEnvironment('x'));
    const { entries } = await d.admin.audit({ limit: 10 });
    const created = entries.find((x) => x.action === 'user.create')!;
    assert.equal(created.result, 'ok');
    assert.equal(created.status, 201);
    assert.match(created.client!, /^hangar-client\//);
    assert.match(created.address!, /127\.0\.0\.1/);
    const refused = entries.find((x) => x.action === 'environment.start')!;
    assert.equal(refused.user, `bob${suffix}`);
    assert.equal(refused.target, 'no-such-env');
    assert.equal(refused.result, 'not_found');
    assert.equal(refused.client, 'test-suite/1');
    const anon = entries.find((x) => x.action === 'environment.delete')!;
    assert.equal(anon.user, null);
    assert.equal(anon.result, 'unauthorized');
  });

  it('records tunnel openings (a WebSocket/raw upgrade) with client, address and result', async () => {
    // trust_proxy off (the default): X-Forwarded-For is anyone's to write, so the peer address counts.
    await tunnelUpgrade(d.url, d.token, { 'x-hangar-client': 'tunnel-test/1', 'x-forwarded-for': '203.0.113.7' });
    const { entries } = await d.admin.audit({ action: 'tunnel.open' });
    assert.equal(entries[0].target, 'nowhere');
    assert.equal(entries[0].result, 'not_found');
    assert.equal(entries[0].client, 'tunnel-test/1');
    assert.match(entries[0].address!, /127\.0\.0\.1/);
  });

  it('trust_proxy on: tunnel rows take the address from X-Forwarded-For, as HTTP rows do', async () => {
    const p = await startDaemon({ configYaml: 'trust_proxy: true\n' });
    try {
      const xff = { 'x-forwarded-for': '203.0.113.7' };
      await tunnelUpgrade(p.url, p.token, xff);
      const res = await fetch(`${p.url}/api/v1/environments/nowhere/start`, {
        method: 'POST',
        headers: { authorization: `Bearer ${p.token}`, ...xff },
      });
      assert.equal(res.status, 404);
      const { entries } = await p.admin.audit({});
      const tunnel = entries.find((x) => x.action === 'tunnel.open')!;
      const http404 = entries.find((x) => x.action === 'environment.start')!;
      assert.equal(tunnel.address, '203.0.113.7');
      assert.equal(http404.address, '203.0.113.7');
    } finally {
      await p.close();
    }
  });

  it('is for admins: a second user gets 403 on the page and the exports', async () => {
    for (const p of [() => bob.audit(), () => bob.auditText({}, 'csv'), () => bob.auditText({}, 'jsonl')])
      assert.equal((await apiError(p())).status, 403);
  });

  it('pages by cursor in a stable order and filters by user, action and time', async () => {
    for (let i = 0; i < 5; i++) await apiError(bob.action(`gone-${i}`, 'stop'));
    const seen: AuditEntry[] = [];
    let cursor: string | undefined;
    do {
      const p = await d.admin.audit({ limit: 2, cursor, action: 'environment.stop' });
      seen.push(...p.entries);
      cursor = p.next_cursor ?? undefined;
    } while (cursor);
    assert.deepEqual(
      seen.map((x) => x.target),
      [4, 3, 2, 1, 0].map((i) => `gone-${i}`),
    );
    const byUser = await d.admin.audit({ user: `bob${suffix}`, action: 'environment.*' });
    assert.ok(byUser.entries.length >= 6 && byUser.entries.every((x) => x.user === `bob${suffix}`));
    const future = await d.admin.audit({ since: new Date(Date.now() + 60_000).toISOString() });
    assert.equal(future.entries.length, 0);
    assert.equal((await apiError(d.admin.audit({ since: 'yesterday-ish' }))).status, 400);
  });

  it('exports JSON lines and CSV (the CLI too), with the next cursor in a header', async () => {
    const jl = await d.admin.auditText({ action: 'environment.stop', limit: 3 }, 'jsonl');
    const lines = jl.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as AuditEntry);
    assert.equal(lines.length, 3);
    assert.ok(jl.next_cursor);
    const cli = new Cli(d.url);
    await cli.login(d.token);
    const csv = await cli.run(['audit', '--action', 'environment.stop', '--csv', '--all', '--limit', '2']);
    assert.equal(csv.code, 0, csv.stderr);
    const rows = csv.stdout.trim().split('\r\n');
    assert.equal(rows[0], 'id,at,user,action,target,result,status,client,address,detail');
    assert.equal(rows.length, 6);
    assert.match(rows[1], /,environment\.stop,gone-4,not_found,404,test-suite\/1,/);
    const human = await cli.run(['audit', '--user', `bob${suffix}`]);
    assert.match(human.stdout, /environment\.stop\s+gone-0\s+not_found/);
    const mine = await d.admin.audit({ action: 'get /audit' });
    assert.equal(mine.entries.length, 0, 'reads are not mutations');
  });

  it('is append-only: the database refuses UPDATE and DELETE', () => {
    const db = new SQLite(path.join(d.dataDir, 'hangar.db'));
    try {
      assert.throws(() => db.prepare("update audit_log set result = 'ok'").run(), /append-only/);
      assert.throws(() => db.prepare('delete from audit_log').run(), /append-only/);
    } finally {
      db.close();
    }
  });
});
