// Route tests against a real hangard on port 0. Its Docker backend points at a socket nobody serves:
// everything here is decided before a backend is needed, or is the "backend down" answer itself.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { ApiError, HangarClient } from '../../common/client';
import { startDaemon, type TestDaemon } from '../helpers/daemon';

async function status(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  assert.fail('expected an error');
}

describe('API (no backend needed)', () => {
  let d: TestDaemon;
  before(async () => {
    d = await startDaemon({ dockerHost: 'unix:///nonexistent/docker.sock' });
  });
  after(async () => {
    await d?.close();
  });

  it('first start writes the admin token 0600', () => {
    const st = fs.statSync(path.join(d.dataDir, 'admin.token'));
    assert.equal(st.mode & 0o777, 0o600);
    assert.match(d.token, /^hgr_/);
  });

  it('healthz and the OpenAPI document are public; everything else needs a token', async () => {
    const h = await fetch(`${d.url}/healthz`);
    assert.equal(h.status, 200);
    const doc = (await (await fetch(`${d.url}/api/v1/openapi.json`)).json()) as any;
    assert.equal(doc.openapi, '3.1.0');
    assert.deepEqual(doc.components.schemas.CreateEnvironment.properties.gpu_mode.enum, [
      'exclusive',
      'vgpu',
      'mig',
      'shared',
      'none',
    ]);
    assert.equal((await fetch(`${d.url}/api/v1/environments`)).status, 401);
    assert.equal((await status(new HangarClient({ url: d.url, token: 'hgr_wrong' }).listEnvironments())).status, 401);
  });

  it("readyz: the store takes writes; each backend's reachability as data, without its error text", async () => {
    const r = await fetch(`${d.url}/readyz`);
    assert.equal(r.status, 200);
    const body = (await r.json()) as any;
    assert.equal(body.ready, true);
    assert.deepEqual(body.store, { writable: true });
    assert.deepEqual(body.backends, [{ id: 'local', kind: 'docker', available: false }]);
    assert.ok(!JSON.stringify(body).includes('nonexistent'), 'no backend error detail on a public probe');
  });

  it('tokens are stored hashed', () => {
    const db = fs.readFileSync(path.join(d.dataDir, 'hangar.db'));
    assert.ok(!db.includes(Buffer.from(d.token)));
  });

  it('bad input answers 400 naming the field, before any backend is asked', async () => {
    const cases: [object, string][] = [
      [{ name: 'a/b', image: 'x' }, 'name'],
      [{ name: '..', image: 'x' }, 'name'],
      [{ name: 'a b', image: 'x' }, 'name'],
      [{ name: 'a'.repeat(300), image: 'x' }, 'name'],
      [{ name: 'ok', image: 'x', environment_type: 'spaceship' }, 'environment_type'],
      [{ name: 'ok', image: 'x', cpu: -2 }, 'cpu'],
      [{ name: 'ok' }, 'image'],
    ];
    for (const [body, field] of cases) {
      const e = await status(d.admin.createEnvironment(body as any));
      assert.equal(e.status, 400, JSON.stringify(body));
      assert.equal(e.field, field);
      assert.match(e.message, new RegExp(field));
    }
    const raw = await fetch(`${d.url}/api/v1/environments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${d.token}`, 'content-type': 'application/json' },
      body: '{nope',
    });
    assert.equal(raw.status, 400);
    assert.equal((await d.admin.listEnvironments()).length, 0);
  });

  it('a deployment mode no backend serves is a 400 naming deployment_mode', async () => {
    const e = await status(d.admin.createEnvironment({ name: 'k', image: 'x', deployment_mode: 'k8s_pod' }));
    assert.equal(e.status, 400);
    assert.equal(e.field, 'deployment_mode');
  });

  it('backend down: 503 naming the backend, nothing written', async () => {
    const e = await status(d.admin.createEnvironment({ name: 'down', image: 'x' }));
    assert.equal(e.status, 503);
    assert.match(e.message, /backend 'local' is unavailable/);
    assert.equal((await d.admin.listEnvironments()).length, 0);
    const bs = await d.admin.backends();
    assert.equal(bs[0].available, false);
  });

  it('unknown env 404; unknown route 404', async () => {
    assert.equal((await status(d.admin.getEnvironment('nope'))).status, 404);
    assert.equal((await status(d.admin.action('nope', 'start'))).status, 404);
    assert.equal(
      (await fetch(`${d.url}/api/v1/nothing`, { headers: { authorization: `Bearer ${d.token}` } })).status,
      404,
    );
  });

  it('admins create users; users cannot', async () => {
    const { user, token } = await d.admin.createUser('alice');
    assert.equal(user.role, 'user');
    const alice = new HangarClient({ url: d.url, token });
    assert.equal((await alice.me()).name, 'alice');
    assert.equal((await status(alice.createUser('mallory'))).status, 403);
    assert.equal((await status(d.admin.createUser('alice'))).status, 409);
    assert.equal((await status(d.admin.createUser('Bad Name'))).status, 400);
  });

  it('SSH keys: upload validates, generate returns the private key once', async () => {
    const bad = await status(d.admin.request('POST', '/api/v1/ssh-keys', { public_key: 'ssh-ed25519 !!!' }));
    assert.equal(bad.status, 400);
    const gen = await d.admin.request<any>('POST', '/api/v1/ssh-keys', { name: 'laptop', generate: true });
    assert.match(gen.private_key, /BEGIN OPENSSH PRIVATE KEY/);
    assert.match(gen.fingerprint, /^SHA256:/);
    const list = await d.admin.listKeys();
    assert.ok(list.some((k) => k.id === gen.id && !(k as any).private_key));
  });

  it('WebSockets need a token too', async () => {
    const ws = new WebSocket(`${d.url.replace('http', 'ws')}/api/v1/events`);
    const code = await new Promise<number>((resolve) =>
      ws.on('unexpected-response', (_q, r) => resolve(r.statusCode!)),
    );
    assert.equal(code, 401);
    const ok = new WebSocket(`${d.url.replace('http', 'ws')}/api/v1/events`, {
      headers: { authorization: `Bearer ${d.token}` },
    });
    await new Promise((resolve, reject) => {
      ok.on('open', resolve);
      ok.on('error', reject);
    });
    ok.close();
  });
});
