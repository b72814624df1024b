// Jupyter in a real container, reached only through the gateway: REST, contents, and a kernel over its WebSocket.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { docker } from '../helpers/docker';
import { startDaemon, type TestDaemon } from '../helpers/daemon';
import { JUPYTER_IMAGE } from '../helpers/docker';
import { executeRequest } from '../helpers/jupyter';

describe('docker: Jupyter through the gateway', function () {
  this.timeout(180_000);
  let d: TestDaemon;
  let base: string;
  let envId: string;
  const auth = () => ({ authorization: `Bearer ${d.token}` });

  before(async () => {
    d = await startDaemon();
    const env = await d.admin.createEnvironment({
      name: 'nb',
      image: JUPYTER_IMAGE,
      image_pull_policy: 'never',
      environment_type: 'ide',
    });
    await d.admin.waitFor(env.id, ['running']);
    envId = env.id;
    base = `${d.url}/api/v1/environments/${env.id}/jupyter`;
    // sshd answers first; Jupyter takes a few seconds more to listen.
    const deadline = Date.now() + 90_000;
    for (;;) {
      const r = await fetch(`${base}/api/status`, { headers: auth() }).catch(() => undefined);
      if (r?.status === 200) break;
      if (Date.now() > deadline) throw new Error(`Jupyter never answered: ${r?.status} ${await r?.text()}`);
      await new Promise((res) => setTimeout(res, 500));
    }
  });
  after(async () => {
    if (envId) await d.admin.deleteEnvironment(envId).catch(() => undefined);
    await d?.close();
  });

  it('connection info has the proxied URL and a generated token that never shows in the env list', async () => {
    const c = await d.admin.connection('nb');
    assert.equal(c.jupyter!.url, `${d.url}/api/v1/environments/${envId}/jupyter/`);
    assert.match(c.jupyter!.token, /^[0-9a-f]{48}$/);
    const listed = JSON.stringify(await d.admin.listEnvironments());
    assert.ok(!listed.includes(c.jupyter!.token));
  });

  it('REST and contents work with the gateway token; without it 401', async () => {
    assert.equal((await fetch(`${base}/api`)).status, 401);
    const api = (await (await fetch(`${base}/api`, { headers: auth() })).json()) as { version: string };
    assert.match(api.version, /^\d+\./);
    const put = await fetch(`${base}/api/contents/hello.txt`, {
      method: 'PUT',
      headers: { ...auth(), 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'file', format: 'text', content: 'hi' }),
    });
    assert.ok(put.status === 200 || put.status === 201, String(put.status));
    const list = (await (await fetch(`${base}/api/contents`, { headers: auth() })).json()) as {
      content: { name: string }[];
    };
    assert.ok(list.content.some((f) => f.name === 'hello.txt'));
  });

  it('rotation: the env restarts with a new token; the old one is refused by Jupyter itself (403)', async () => {
    const before = await d.admin.connection('nb');
    const after = await d.admin.request<{ jupyter: { token: string } }>(
      'POST',
      `/api/v1/environments/${envId}/rotate`,
      { secret: 'jupyter_token' },
    );
    assert.notEqual(after.jupyter.token, before.jupyter!.token);
    const env = await d.admin.getEnvironment('nb');
    const ip = JSON.parse(await docker('inspect', env.backend_ref!))[0].NetworkSettings.IPAddress;
    const direct = `http://${ip}:8888/api/v1/environments/${envId}/jupyter/api/status`;
    const deadline = Date.now() + 90_000;
    let ok = 0;
    while (ok !== 200 && Date.now() < deadline) {
      ok = (
        await fetch(direct, { headers: { authorization: `token ${after.jupyter.token}` } }).catch(() => ({ status: 0 }))
      ).status;
      if (ok !== 200) await new Promise((r) => setTimeout(r, 500));
    }
    assert.equal(ok, 200);
    assert.equal((await fetch(direct, { headers: { authorization: `token ${before.jupyter!.token}` } })).status, 403);
    assert.equal(
      (await fetch(`${base}/api/status`, { headers: auth() })).status,
      200,
      'the gateway proxy follows the rotation',
    );
    // At rest, the token is encrypted: the database file never holds it.
    const dbBytes = fs.readFileSync(path.join(d.dataDir, 'hangar.db'));
    assert.ok(!dbBytes.includes(Buffer.from(after.jupyter.token)));
  });

  it('a session link opens Jupyter in a browser: one-minute link → env-scoped cookie → pages and kernels', async () => {
    const { url } = await d.admin.request<{ url: string }>('POST', `/api/v1/environments/${envId}/jupyter-session`);
    assert.match(url, /\/jupyter\/\?hangar_session=/);
    const first = await fetch(url, { redirect: 'manual' });
    assert.equal(first.status, 302);
    assert.doesNotMatch(first.headers.get('location')!, /hangar_session/);
    const cookie = first.headers.get('set-cookie')!;
    assert.match(cookie, new RegExp(`Path=/api/v1/environments/${envId}/jupyter/; HttpOnly; SameSite=Lax`));
    const c = cookie.split(';')[0];
    assert.equal((await fetch(`${base}/api/status`, { headers: { cookie: c } })).status, 200);
    // Kernel channels accept the cookie too.
    const k = (await (
      await fetch(`${base}/api/kernels`, {
        method: 'POST',
        headers: { cookie: c, 'content-type': 'application/json' },
        body: '{}',
      })
    ).json()) as { id: string };
    const ws = new WebSocket(`${base.replace('http', 'ws')}/api/kernels/${k.id}/channels`, { headers: { cookie: c } });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('unexpected-response', (_q, r) => reject(new Error(`HTTP ${r.statusCode}`)));
    });
    ws.close();
    // The cookie is for this env only; a forged or reused-for-another-env value is refused.
    const other = await d.admin.createEnvironment({
      name: 'nb2',
      image: JUPYTER_IMAGE,
      image_pull_policy: 'never',
      environment_type: 'ide',
    });
    assert.equal(
      (await fetch(`${d.url}/api/v1/environments/${other.id}/jupyter/api/status`, { headers: { cookie: c } })).status,
      401,
    );
    assert.equal((await fetch(`${base}/api/status`, { headers: { cookie: c.slice(0, -3) + 'xyz' } })).status, 401);
    assert.equal(
      (await fetch(url.replace(/hangar_session=[^&]+/, 'hangar_session=bogus'), { redirect: 'manual' })).status,
      401,
    );
    await d.admin.deleteEnvironment(other.id);
  });

  // The proxy's common case runs ahead of Express (daemon/http/jupyterFast.ts); whatever it refuses Express answers.
  it("another user's token is a 404; the env's name works for its owner; a bad method 405, bad percent-encoding 400", async () => {
    const other = await d.admin.createUser(`jup-other-${Date.now()}`);
    const r = await fetch(`${base}/api/status`, { headers: { authorization: `Bearer ${other.token}` } });
    assert.equal(r.status, 404);
    assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'not_found');
    const byName = await fetch(`${d.url}/api/v1/environments/nb/jupyter/api/status`, { headers: auth() });
    assert.equal(byName.status, 200);
    assert.equal((await fetch(`${base}/api/status`, { method: 'OPTIONS', headers: auth() })).status, 405);
    const bad = await fetch(`${d.url}/api/v1/environments/%E0%A4%A/jupyter/api/status`, { headers: auth() });
    assert.equal(bad.status, 400);
  });

  it('an env whose Jupyter port does not answer is a 422 naming the port, on GET and with a body', async () => {
    const env = await d.admin.createEnvironment({
      name: 'nojup',
      image: 'hangar-test/ssh:latest',
      image_pull_policy: 'never',
      environment_type: 'ide',
    });
    try {
      await d.admin.waitFor(env.id, ['running']);
      const url = `${d.url}/api/v1/environments/${env.id}/jupyter/api/contents/x.txt`;
      for (const init of [{}, { method: 'PUT', body: '{"type":"file","format":"text","content":"x"}' }]) {
        const r = await fetch(url, { ...init, headers: { ...auth(), 'content-type': 'application/json' } });
        assert.equal(r.status, 422);
        const e = ((await r.json()) as { error: { code: string; message: string } }).error;
        assert.equal(e.code, 'port_unreachable');
        assert.match(e.message, /port 8888 of 'nojup' is not reachable/);
      }
    } finally {
      await d.admin.deleteEnvironment(env.id);
    }
  });

  it('a kernel computes 1+1 over the kernel WebSocket', async () => {
    const k = (await (
      await fetch(`${base}/api/kernels`, {
        method: 'POST',
        headers: { ...auth(), 'content-type': 'application/json' },
        body: '{}',
      })
    ).json()) as { id: string };
    const ws = new WebSocket(`${base.replace('http', 'ws')}/api/kernels/${k.id}/channels`, { headers: auth() });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
      ws.once('unexpected-response', (_q, r) => reject(new Error(`HTTP ${r.statusCode}`)));
    });
    const msgId = crypto.randomUUID();
    const result = new Promise<string>((resolve) =>
      ws.on('message', (raw) => {
        const m = JSON.parse(raw.toString());
        if (m.parent_header?.msg_id === msgId && m.msg_type === 'execute_result') resolve(m.content.data['text/plain']);
      }),
    );
    ws.send(executeRequest('1+1', msgId));
    assert.equal(await result, '2');
    ws.close();
  });
});
