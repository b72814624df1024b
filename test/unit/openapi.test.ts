// The served API description is built from the validators, and the server answers what it documents.
import assert from 'node:assert/strict';
import { createEnvironmentSchema, createUserSchema } from '../../common/schemas';
import { startDaemon, type TestDaemon } from '../helpers/daemon';

describe('OpenAPI document', () => {
  let d: TestDaemon;
  let doc: any;
  const call = (method: string, p: string, init: RequestInit = {}) =>
    fetch(`${d.url}/api/v1${p}`, {
      method,
      ...init,
      headers: { authorization: `Bearer ${d.token}`, ...(init.headers ?? {}) },
    });
  before(async () => {
    d = await startDaemon({ dockerHost: 'unix:///nonexistent/docker.sock' });
    doc = await (await fetch(`${d.url}/api/v1/openapi.json`)).json();
  });
  after(async () => {
    await d?.close();
  });

  it("is OpenAPI 3.1 with the validators' own rules", () => {
    assert.equal(doc.openapi, '3.1.0');
    const s = doc.components.schemas;
    assert.deepEqual(s.CreateUser.required, ['name']);
    assert.deepEqual(s.CreateEnvironment.required, ['name', 'image']);
    assert.equal(s.UpdateEnvironment.properties.cpu.exclusiveMinimum, 0);
    assert.deepEqual(s.UpdateEnvironment.properties.cpu.type, ['number', 'null']);
    assert.equal(s.CreateEnvironment.additionalProperties, false);
    // The same zod objects: what the document requires is what the validator refuses without.
    assert.equal(createUserSchema.safeParse({}).success, false);
    assert.equal(createEnvironmentSchema.safeParse({ name: 'a', image: 'b' }).success, true);
  });

  it('documents 401 on every route, 403 on admin ones, 400 wherever input is read', () => {
    for (const [p, item] of Object.entries<any>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(item)) {
        if (p.includes('/jupyter/')) {
          assert.ok(op.responses.default, p);
          continue;
        }
        assert.ok(op.responses['401'], `${method} ${p} lacks 401`);
        if (op.requestBody || op.parameters?.some((x: any) => x.in === 'query'))
          assert.ok(op.responses['400'], `${method} ${p} lacks 400`);
      }
    }
    for (const [p, m] of [
      ['/users', 'get'],
      ['/users', 'post'],
      ['/audit', 'get'],
      ['/backends/{backend}/templates', 'post'],
      ['/profiles', 'post'],
      ['/profiles/{name}', 'put'],
      ['/profiles/{name}', 'delete'],
      ['/environments', 'post'],
    ]) {
      assert.ok(doc.paths[p][m].responses['403'], `${m} ${p} lacks 403`);
    }
    assert.equal(doc.paths['/tokens'].post.requestBody.required, false, 'POST /tokens takes no body');
    // Profiles: config ones are read-only (409), others' are 404; drift is documented per env.
    for (const m of ['put', 'delete']) assert.ok(doc.paths['/profiles/{name}'][m].responses['409'], m);
    assert.ok(doc.paths['/environments/{id}/profile-drift'].get.responses['200']);
    assert.ok(doc.paths['/environments/{id}/start'].post.responses['409']);
  });

  it('a documented path with another method is a 405 naming the allowed ones', async () => {
    const r = await call('PUT', '/environments');
    assert.equal(r.status, 405);
    assert.equal(r.headers.get('allow'), 'GET, POST, HEAD');
    assert.equal((await call('PROPFIND', '/environments/x/jupyter/api')).status, 405);
    assert.equal((await call('GET', '/nothing')).status, 404);
  });

  it('WebSocket endpoints answer a plain GET with 426; a bad tunnel port is a 400 first', async () => {
    assert.equal((await call('GET', '/events')).status, 426);
    assert.equal((await call('GET', '/environments/x/tunnel')).status, 426);
    const bad = await call('GET', '/environments/x/tunnel?port=70000');
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as any).error.field, 'port');
  });

  it('framework-level bad requests are 400s, not 500s', async () => {
    assert.equal((await call('GET', '/environments/%E0%A4%A')).status, 400);
    const big = await call('POST', '/tokens', {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'x'.repeat(2 << 20) }),
    });
    assert.equal(big.status, 400);
    assert.equal((await call('GET', '/environments/x/logs?tail=abc')).status, 400);
  });
});
